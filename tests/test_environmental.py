"""The network's tally: counted per operation, worded for people, judged against the tolerance, written as JUnit."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ivhsuite import environmental
from ivhsuite.config import parse_share
from ivhsuite.environmental import Tally, describe, merge, verdict
from ivhsuite.retry import DEFAULT_POLICY, Fault


def _request(tally: Tally, operation: str, *faults: Fault) -> None:
    tally.request(operation)
    attempts = DEFAULT_POLICY.start(operation)
    for fault in faults:
        if attempts.failed(fault) is None:
            break
    tally.record(attempts)


def test_faults_are_counted_per_operation_with_retries_and_unanswered_requests() -> None:
    tally = Tally()
    for _ in range(96):
        _request(tally, "statsession")
    _request(tally, "statsession", Fault.RESET, Fault.gateway(502, page=True))  # answered on the third attempt
    _request(tally, "createsession", Fault.RESET)  # unsafe: given up at once
    _request(tally, "createsession", Fault.TIMEOUT)
    _request(tally, "command", Fault.gateway(502, page=True))
    summary = tally.summary(tolerance=0.05)
    rows = {r.operation: r for r in summary.rows}
    assert rows["statsession"].faults == {"reset": 1, "HTTP 502 page": 1}
    assert (rows["statsession"].retries, rows["statsession"].unanswered) == (2, 0)
    assert (rows["createsession"].requests, rows["createsession"].unanswered) == (2, 2)
    assert summary.requests == 100 and summary.unanswered == 3 and not summary.unstable
    assert describe(summary) == (
        "endpoint unstable: 2 HTTP 502 from a gateway, 2 resets, 1 timeout in 100 requests"
        " (2 retried, 3 left unanswered)"
    )
    assert verdict(summary) == ""


def test_beyond_the_tolerance_the_run_could_not_judge() -> None:
    tally = Tally()
    for _ in range(9):
        _request(tally, "command")
    _request(tally, "command", Fault.RESET)
    summary = tally.summary(tolerance=0.05)
    assert summary.unstable
    assert "too unstable to judge: 10.0% of requests" in verdict(summary)
    assert not tally.summary(tolerance=0.1).unstable


def test_a_5xx_repeated_on_every_attempt_is_not_the_networks() -> None:
    tally = Tally()
    _request(tally, "statsession", *[Fault.gateway(502, page=False)] * DEFAULT_POLICY.attempts)
    assert tally.summary().faults == 0


def test_no_fault_reads_as_such_and_merge_adds_runs_up() -> None:
    one, two = Tally(), Tally()
    _request(one, "statsession")
    _request(two, "statsession", Fault.RESET)
    assert describe(one.summary()) == "network: no fault in 1 requests"
    merged = merge([one.summary(swept=1), two.summary(swept=2)])
    assert merged.requests == 2 and merged.faults == 1 and merged.swept == 3


def test_junit_names_the_faults_and_errors_only_when_unstable(tmp_path: Path) -> None:
    tally = Tally()
    _request(tally, "createsession", Fault.RESET)
    path = environmental.write_junit(tally.summary(tolerance=0.5), tmp_path / "network.xml")
    suite = ET.parse(path).getroot()
    assert suite.get("name") == "ivhsuite network" and suite.get("errors") == "1"
    error = suite.find("testcase[@name='tolerance']/error")
    assert error is not None and "too unstable" in error.get("message", "")
    assert "1 reset in 1 requests" in (suite.find("testcase[@name='createsession']/system-out").text or "")


@pytest.mark.parametrize(("text", "share"), [("1%", 0.01), ("0.05", 0.05), ("100%", 1.0), ("0", 0.0)])
def test_tolerance_is_a_share(text: str, share: float) -> None:
    assert parse_share(text) == pytest.approx(share)


@pytest.mark.parametrize("text", ["5 %%", "-1%", "150%", "lots"])
def test_a_bad_tolerance_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_share(text)
