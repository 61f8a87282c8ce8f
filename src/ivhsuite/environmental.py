"""The network's share of a run, counted apart from the endpoint's promises: the tally, its wording, its verdict.

Transport failures, timeouts and 502/503/504 answers (the API's envelope or a gateway's
HTML page) are environmental: retried where safe (:mod:`ivhsuite.retry`), then counted
here per operation and named in every report ("endpoint unstable: 12 resets, 9 HTTP 502
from a gateway, 3 timeouts in 1,100 requests"). They are never a broken promise. When
more requests than the tolerance allows (``--max-transport-errors``, default 5%) are
left without an answer to judge, the run ends with :attr:`ExitCode.UNSTABLE`; a broken
promise still wins (exit 1).

>>> from ivhsuite.retry import DEFAULT_POLICY
>>> tally = Tally()
>>> tally.request("statsession"); tally.request("statsession")
>>> attempts = DEFAULT_POLICY.start("statsession"); _ = attempts.failed(Fault.RESET)
>>> tally.record(attempts)
>>> describe(tally.summary())
'endpoint unstable: 1 reset in 2 requests (1 retried, 0 left unanswered)'
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from ivhsuite.config import DEFAULT_MAX_TRANSPORT_ERRORS as DEFAULT_TOLERANCE
from ivhsuite.redact import redact
from ivhsuite.retry import Attempts, Fault
from ivhsuite.summaries import EnvironmentSummary, NetworkRow

__all__ = ["DEFAULT_TOLERANCE", "Fault", "Tally", "describe", "merge", "write_junit"]

JUNIT_SUITE = "ivhsuite network"
_PLURALS = {"reset": "resets", "timeout": "timeouts", "not sent": "requests never sent (no connection)"}


class Tally:
    """Thread-safe counts of one run's requests and their environmental faults, per operation."""

    def __init__(self) -> None:
        self._rows: dict[str, NetworkRow] = {}
        self._lock = threading.Lock()

    def _row(self, operation: str) -> NetworkRow:
        row = self._rows.get(operation)
        if row is None:
            row = self._rows[operation] = NetworkRow(operation)
        return row

    def request(self, operation: str) -> None:
        """One logical request (however many attempts it took)."""
        with self._lock:
            self._row(operation).requests += 1

    def record(self, attempts: Attempts) -> None:
        """The faults one request met. A 5xx repeated on every attempt is the endpoint's own: not counted here."""
        if not attempts.faults or attempts.repeated_5xx and attempts.gave_up:
            return
        with self._lock:
            row = self._row(attempts.operation)
            for fault in attempts.faults:
                row.faults[fault.label] = row.faults.get(fault.label, 0) + 1
            row.retries += attempts.retries
            row.unanswered += int(attempts.gave_up)

    def summary(self, tolerance: float = DEFAULT_TOLERANCE, swept: int = 0) -> EnvironmentSummary:
        with self._lock:
            rows = [
                NetworkRow(r.operation, r.requests, dict(r.faults), r.retries, r.unanswered)
                for _, r in sorted(self._rows.items())
            ]
        return EnvironmentSummary(rows=rows, tolerance=tolerance, swept=swept)


def merge(summaries: Iterable[EnvironmentSummary], tolerance: float = DEFAULT_TOLERANCE) -> EnvironmentSummary:
    """Several runs' counts as one (verify: the gate and each load scenario)."""
    rows: dict[str, NetworkRow] = {}
    swept = 0
    for summary in summaries:
        swept += summary.swept
        for r in summary.rows:
            row = rows.setdefault(r.operation, NetworkRow(r.operation))
            row.requests += r.requests
            row.retries += r.retries
            row.unanswered += r.unanswered
            for label, count in r.faults.items():
                row.faults[label] = row.faults.get(label, 0) + count
    return EnvironmentSummary(rows=[rows[k] for k in sorted(rows)], tolerance=tolerance, swept=swept)


def _fault_words(label: str, count: int) -> str:
    if label.startswith("HTTP "):
        status, _, page = label.removeprefix("HTTP ").partition(" ")
        return f"{count:,} HTTP {status} {'from a gateway' if page else '(JSON envelope)'}"
    return f"{count:,} {label if count == 1 else _PLURALS.get(label, label)}"


def fault_totals(summary: EnvironmentSummary) -> dict[str, int]:
    totals: dict[str, int] = {}
    for row in summary.rows:
        for label, count in row.faults.items():
            totals[label] = totals.get(label, 0) + count
    return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))


def describe(summary: EnvironmentSummary) -> str:
    """One line for any report: what the network did, or that it did nothing."""
    if not summary.faults:
        return f"network: no fault in {summary.requests:,} requests"
    parts = ", ".join(_fault_words(label, n) for label, n in fault_totals(summary).items())
    retries = sum(r.retries for r in summary.rows)
    return (
        f"endpoint unstable: {parts} in {summary.requests:,} requests"
        f" ({retries:,} retried, {summary.unanswered:,} left unanswered)"
    )


def verdict(summary: EnvironmentSummary) -> str:
    """Why a run could not judge, or "" when it could."""
    if not summary.unstable:
        return ""
    share = summary.unanswered / summary.requests
    return (
        f"the endpoint was too unstable to judge: {share:.1%} of requests got no answer after the safe retries"
        f" (tolerance {summary.tolerance:.1%}, --max-transport-errors)"
    )


def swept_words(swept: int) -> str:
    noun = "session" if swept == 1 else "sessions"
    return f"{swept} {noun} whose create answer was lost (closed by the run's sweep)"


def per_operation(summary: EnvironmentSummary) -> list[str]:
    """One line per operation that met a fault, for the terminal."""
    lines = []
    for row in summary.rows:
        if row.faults:
            faults = ", ".join(f"{n} {label}" for label, n in sorted(row.faults.items()))
            lines.append(
                f"{row.operation}: {faults} in {row.requests:,} requests;"
                f" {row.retries} retried, {row.unanswered} unanswered"
            )
    return lines


def junit_suite(summary: EnvironmentSummary) -> ET.Element:
    """A testsuite of its own: one passing case per operation (counts in system-out), an error when unstable."""
    suite = ET.Element("testsuite", name=JUNIT_SUITE, tests="0", failures="0", errors="0", skipped="0")
    cases = 0
    for row in summary.rows:
        case = ET.SubElement(suite, "testcase", classname="network", name=row.operation)
        faults = ", ".join(f"{n} {label}" for label, n in sorted(row.faults.items())) or "no fault"
        ET.SubElement(
            case, "system-out"
        ).text = f"{faults} in {row.requests} requests; {row.retries} retried, {row.unanswered} unanswered"
        cases += 1
    case = ET.SubElement(suite, "testcase", classname="network", name="tolerance")
    cases += 1
    why = verdict(summary)
    if why:
        ET.SubElement(case, "error", type="EndpointUnstable", message=why).text = describe(summary)
        suite.set("errors", "1")
    else:
        ET.SubElement(case, "system-out").text = describe(summary)
    suite.set("tests", str(cases))
    return suite


def write_junit(summary: EnvironmentSummary, path: Path, secrets: Iterable[str | None] = ()) -> Path:
    tree = ET.ElementTree(junit_suite(summary))
    ET.indent(tree)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = ET.tostring(tree.getroot(), encoding="unicode")
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n' + redact(text, secrets), encoding="utf-8")
    return path
