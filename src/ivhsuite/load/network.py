"""The load user's side of the retry policy (:mod:`ivhsuite.retry`): faults of geventhttpclient, and their stats entries.

An attempt lost to the network (no answer, a reset, a timeout, a 502/503/504) is not
reported as a request of its operation, so locust's error table holds only real
failures. It becomes an ``IVH`` entry of its own instead, a count, not a failure:

- ``environmental <fault>: <operation>`` for every such attempt (``environmental reset: createsession``);
- ``unanswered: <operation>`` when the policy gave up: the request ended without an answer.

:func:`environment_of` turns those entries back into an
:class:`~ivhsuite.summaries.EnvironmentSummary`, on the master (whose stats aggregate
every worker's) and in ``ivhsuite verify`` (from the CSV). geventhttpclient (2.6 or later,
pinned) never re-sends a POST itself, so every send of a createsession is one of ours.
"""

from __future__ import annotations

import errno
import socket
from typing import Any

from ivhsuite.load.thresholds import API_METHOD, ENVIRONMENTAL_PREFIX, IVH_METHOD, StatsSnapshot
from ivhsuite.protocol import decode
from ivhsuite.retry import Fault, status_fault
from ivhsuite.summaries import EnvironmentSummary, NetworkRow

UNANSWERED_PREFIX = "unanswered: "
_NOT_SENT_ERRNOS = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL})


class Unanswered(Exception):
    """Raised inside locust's request block so the attempt is not reported as a request (locust re-raises it)."""

    def __init__(self, fault: Fault, delay: float | None) -> None:
        super().__init__(fault.label)
        self.fault = fault
        self.delay = delay  # seconds before the next attempt; None: the policy gave up


def fault_of_error(error: BaseException | None) -> Fault:
    """The fault behind geventhttpclient's exception; NOT_SENT only when no connection could be opened."""
    if isinstance(error, socket.gaierror | ConnectionRefusedError) or (
        isinstance(error, OSError) and error.errno in _NOT_SENT_ERRNOS
    ):
        return Fault.NOT_SENT
    if isinstance(error, TimeoutError | socket.timeout) or type(error).__name__ == "Timeout":
        return Fault.TIMEOUT
    return Fault.RESET


def fault_of(status: int, content: bytes | None, error: BaseException | None) -> Fault | None:
    """The fault an attempt met, or None when it got an answer to judge."""
    if status == 0:
        return fault_of_error(error)
    if 502 <= status <= 504:
        body = decode(content)
        header = body.get("Header") if isinstance(body, dict) else None
        return status_fault(status, isinstance(header, dict) and isinstance(header.get("Code"), int))
    return None


def fault_entry(fault: Fault, operation: str) -> str:
    return f"{ENVIRONMENTAL_PREFIX}{fault.label}: {operation}"


def environment_of(snap: StatsSnapshot, tolerance: float, swept: int = 0) -> EnvironmentSummary:
    """The network's share of a run, from its stats: faults and unanswered per operation, requests sent."""
    rows: dict[str, NetworkRow] = {}
    for entry in snap.entries:
        if entry.method == API_METHOD:
            rows.setdefault(entry.name, NetworkRow(entry.name)).requests += entry.requests
    for entry in snap.entries:
        if entry.method != IVH_METHOD:
            continue
        if entry.name.startswith(UNANSWERED_PREFIX):
            row = rows.setdefault(entry.name.removeprefix(UNANSWERED_PREFIX), NetworkRow(""))
            row.unanswered += entry.requests
            row.requests += entry.requests
        elif entry.name.startswith(ENVIRONMENTAL_PREFIX) and ": " in entry.name:
            label, _, operation = entry.name.removeprefix(ENVIRONMENTAL_PREFIX).rpartition(": ")
            row = rows.setdefault(operation, NetworkRow(operation))
            row.faults[label] = row.faults.get(label, 0) + entry.requests
    for operation, row in rows.items():
        row.operation = operation
        row.retries = max(0, sum(row.faults.values()) - row.unanswered)
    return EnvironmentSummary(rows=[rows[k] for k in sorted(rows)], tolerance=tolerance, swept=swept)


def describe_error(error: Any) -> str | None:
    return None if error is None else f"{type(error).__name__}: {error}"
