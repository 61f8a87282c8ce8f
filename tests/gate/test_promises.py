from __future__ import annotations

import pytest

from ivhsuite.contract import PROMISES, broken, keys_in
from ivhsuite.emulator import FAULTS
from ivhsuite.gate.spec_cases.checks import CHECKS
from ivhsuite.gate.spec_cases.promises import STOCK_CHECKS, promise_of_check

from .test_channel_variants import CHANNEL_FAULT_PROMISE
from .test_variants import FAULT_PROMISE


def test_broken_names_the_promise_and_the_detail() -> None:
    text = broken("reqid-echoed", "got 'x'")
    assert text.startswith("broken promise [reqid-echoed]: Payload.ReqId echoes")
    assert text.endswith("got 'x'")
    assert keys_in(f"E   {text}\nmore {broken('quota')}") == ["reqid-echoed", "quota"]


def test_unknown_keys_are_not_promises() -> None:
    assert keys_in("broken promise [no-such-thing]: x") == []
    with pytest.raises(KeyError):
        broken("no-such-thing")


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_every_ivh_check_guards_a_promise(check: object) -> None:
    assert promise_of_check(check.__name__) in PROMISES  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(STOCK_CHECKS))
def test_stock_checks_kept_on_guard_a_promise(name: str) -> None:
    assert promise_of_check(name) in PROMISES


def test_every_fault_maps_to_a_promise() -> None:
    assert set(FAULT_PROMISE) == {fault for fault in FAULTS if not fault.startswith("channel-")}
    assert {fault for fault in FAULTS if fault.startswith("channel-")} <= set(CHANNEL_FAULT_PROMISE)
    assert set(FAULT_PROMISE.values()) | set(CHANNEL_FAULT_PROMISE.values()) <= set(PROMISES)


def test_public_names_are_sorted_and_importable() -> None:
    import ivhsuite.gate as gate

    assert gate.__all__ == sorted(gate.__all__)
    for name in gate.__all__:
        assert getattr(gate, name) is not None
