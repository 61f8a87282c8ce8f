from __future__ import annotations

import ivhsuite


def test_all_is_sorted_and_every_name_exists() -> None:
    assert ivhsuite.__all__ == sorted(ivhsuite.__all__)
    for name in ivhsuite.__all__:
        assert getattr(ivhsuite, name).__module__.startswith("ivhsuite.")
