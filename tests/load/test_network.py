"""The load user's faults: geventhttpclient's errors read as faults, and the stats entries read back as a summary."""

from __future__ import annotations

import socket

import pytest

from ivhsuite.load.network import UNANSWERED_PREFIX, environment_of, fault_entry, fault_of, fault_of_error
from ivhsuite.load.thresholds import EntrySnapshot, StatsSnapshot
from ivhsuite.retry import Fault

PAGE = b"<html><center><h1>502 Bad Gateway</h1></center></html>"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ConnectionRefusedError(111, "refused"), Fault.NOT_SENT),
        (socket.gaierror(-2, "unknown host"), Fault.NOT_SENT),
        (ConnectionResetError(104, "reset"), Fault.RESET),
        (TimeoutError("timed out"), Fault.TIMEOUT),
        (OSError("connection closed"), Fault.RESET),
    ],
    ids=["refused", "dns", "reset", "timeout", "closed"],
)
def test_geventhttpclient_errors_are_faults(error: BaseException, expected: Fault) -> None:
    assert fault_of_error(error) == expected
    assert fault_of(0, None, error) == expected


def test_gateway_answers_are_faults_and_others_are_answers() -> None:
    assert fault_of(502, PAGE, None) == Fault.gateway(502, page=True)
    assert fault_of(503, b'{"Header": {"Code": -101000}}', None) == Fault.gateway(503, page=False)
    assert fault_of(500, PAGE, None) is None and fault_of(200, b"{}", None) is None


def test_the_stats_entries_read_back_per_operation() -> None:
    entries = (
        EntrySnapshot("POST", "createsession", 97, 0),
        EntrySnapshot("POST", "statsession", 200, 1),
        EntrySnapshot("IVH", fault_entry(Fault.RESET, "createsession"), 3, 0),
        EntrySnapshot("IVH", UNANSWERED_PREFIX + "createsession", 3, 0),
        EntrySnapshot("IVH", fault_entry(Fault.gateway(502, page=True), "statsession"), 4, 0),
        EntrySnapshot("IVH", "environmental 100008", 9, 0),  # a busy code: not the network's
    )
    summary = environment_of(StatsSnapshot(entries, 20.0), tolerance=0.02, swept=2)
    rows = {r.operation: r for r in summary.rows}
    assert (rows["createsession"].requests, rows["createsession"].unanswered, rows["createsession"].retries) == (100, 3, 0)
    assert rows["statsession"].faults == {"HTTP 502 page": 4} and rows["statsession"].retries == 4
    assert summary.requests == 300 and summary.swept == 2 and not summary.unstable
