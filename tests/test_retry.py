"""The one retry policy: what may be sent again, how often, how long apart, and what a repeated 5xx means."""

from __future__ import annotations

import pytest

from ivhsuite.retry import DEFAULT_POLICY, SAFE_OPERATIONS, Fault, RetryPolicy, may_retry, status_fault
from ivhsuite.spec import load_spec

OPERATIONS = load_spec().operation_ids
FAULTS = [Fault.NOT_SENT, Fault.RESET, Fault.TIMEOUT, Fault.gateway(502, page=True), Fault.gateway(504, page=False)]


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.label)
def test_only_safe_operations_are_sent_again_unless_the_request_never_left(operation: str, fault: Fault) -> None:
    expected = fault == Fault.NOT_SENT or operation not in ("createsession", "createsessionbyasset", "command")
    assert may_retry(operation, fault) is expected


def test_safe_operations_are_those_that_change_nothing_when_repeated() -> None:
    readers = {"statsession", "listsessionofprojectid", "listsessionofuin", "listsessionofassetvk", "gettrtcsign"}
    assert readers | {"startsession", "closesession"} == SAFE_OPERATIONS


def test_delays_double_and_are_capped_and_attempts_are_bounded() -> None:
    policy = RetryPolicy(attempts=5, first_delay=0.5, max_delay=1.5)
    attempts = policy.start("statsession")
    delays = [attempts.failed(Fault.RESET) for _ in range(5)]
    assert delays == [0.5, 1.0, 1.5, 1.5, None]
    assert attempts.retries == 4 and attempts.gave_up


def test_an_unsafe_request_gives_up_at_once_after_an_ambiguous_fault() -> None:
    attempts = DEFAULT_POLICY.start("createsession")
    assert attempts.failed(Fault.gateway(502, page=True)) is None
    assert attempts.gave_up and attempts.retries == 0 and not attempts.repeated_5xx


def test_a_5xx_on_every_attempt_is_the_endpoints_own_failure() -> None:
    attempts = DEFAULT_POLICY.start("statsession")
    for _ in range(DEFAULT_POLICY.attempts):
        attempts.failed(Fault.gateway(503, page=False))
    assert attempts.repeated_5xx
    mixed = DEFAULT_POLICY.start("statsession")
    for fault in (Fault.gateway(502, page=True), Fault.RESET, Fault.gateway(502, page=True)):
        mixed.failed(fault)
    assert mixed.gave_up and not mixed.repeated_5xx


@pytest.mark.parametrize(
    ("status", "envelope", "label"),
    [(502, False, "HTTP 502 page"), (503, True, "HTTP 503"), (504, False, "HTTP 504 page"), (500, True, None), (200, True, None)],
)
def test_only_502_503_504_are_gateway_faults(status: int, envelope: bool, label: str | None) -> None:
    fault = status_fault(status, envelope)
    assert (fault.label if fault else None) == label
