from __future__ import annotations

import ivhsuite.proxy


def test_all_is_sorted_and_every_name_exists() -> None:
    assert ivhsuite.proxy.__all__ == sorted(ivhsuite.proxy.__all__)
    for name in ivhsuite.proxy.__all__:
        assert hasattr(ivhsuite.proxy, name)
