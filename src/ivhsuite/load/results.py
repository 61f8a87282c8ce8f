"""Read what one ``ivhsuite load`` run left on disk into a :class:`~ivhsuite.summaries.LoadSummary`.

Inputs: ``thresholds.json`` (the verdicts), ``network.json`` (what the network did) and
locust's ``locust_stats.csv`` and ``locust_stats_history.csv`` (written with ``--csv-full-history``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ivhsuite.load.thresholds import API_METHOD, IVH_METHOD, PREEMPTION_CHECK, PREEMPTION_VIOLATION, SPEAKING
from ivhsuite.summaries import EnvironmentSummary, Latency, LoadSeries, LoadSummary, NetworkRow, Point, ThresholdRow

AGGREGATED = "Aggregated"
INTERVAL_PREFIX = "time to "  # "time to ready", "time to TextStart", ...: measured intervals, not requests
PERCENTILES = ("50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%")


def is_interval(name: str) -> bool:
    """A stats entry that measures how long something took (a session to be ready), not one request's answer."""
    return name.lower().startswith(INTERVAL_PREFIX)


def is_request(row: dict[str, str]) -> bool:
    """A stats entry of the API's own requests (locust's Type is the HTTP method; ours are bookkeeping)."""
    name = row.get("Name") or ""
    return row.get("Type") == API_METHOD and bool(name) and not is_interval(name)


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except OSError:
        return []


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "", "N/A") else None
    except ValueError:
        return None


def thresholds(folder: Path) -> list[ThresholdRow]:
    """The threshold rows as ``thresholds.json`` has them (a skipped threshold has no data, and counts as passed)."""
    try:
        document = json.loads((folder / "thresholds.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return []
    rows = []
    for item in document.get("thresholds", []):
        actual = item.get("actual")
        rows.append(
            ThresholdRow(
                scope=str(item.get("scope", "")),
                metric=str(item.get("metric", "")),
                comparison=str(item.get("comparison", "<=")),
                limit=float(item.get("limit") or 0),
                actual=float(actual) if isinstance(actual, int | float) else None,
                status=str(item.get("status", "skip")),
            )
        )
    return rows


def _latency(row: dict[str, str]) -> Latency:
    found = {column: _number(row.get(column)) for column in PERCENTILES}
    return Latency(
        name=row.get("Name") or "",
        count=int(_number(row.get("Request Count")) or 0),
        failures=int(_number(row.get("Failure Count")) or 0),
        percentiles={column: value for column, value in found.items() if value is not None},
        max_ms=_number(row.get("Max Response Time")) or 0.0,
    )


def series(folder: Path) -> LoadSeries:
    """The run's requests and intervals, apart; time series from the first sample with a request on.

    The load over time sums the requests' own entries (locust's Aggregated row counts the
    intervals and checks as requests too); the samples before the first request are idle
    warm-up (users spawning, sessions preparing) and are left out.
    """
    final = _rows(folder / "locust_stats.csv")
    operations = [_latency(row) for row in final if is_request(row) and _number(row.get("Request Count"))]
    intervals = [
        _latency(row) for row in final if is_interval(row.get("Name") or "") and _number(row.get("Request Count"))
    ]
    history = _rows(folder / "locust_stats_history.csv")
    start = min((_number(row["Timestamp"]) or 0 for row in history), default=0)
    rate: dict[float, float] = {}
    failures: dict[float, float] = {}
    users: dict[float, float] = {}
    latency: dict[str, list[Point]] = {}
    preemption: dict[str, dict[float, float]] = {"checks": {}, "violations": {}}
    speaking: dict[str, list[Point]] = {name: [] for name in SPEAKING}  # the channel's, p95 per sample
    for row in history:
        t = (_number(row["Timestamp"]) or 0) - start
        name = row.get("Name") or ""
        if name == AGGREGATED:
            users[t] = _number(row.get("User Count")) or 0
        elif is_request(row):
            rate[t] = rate.get(t, 0.0) + (_number(row.get("Requests/s")) or 0)
            failures[t] = failures.get(t, 0.0) + (_number(row.get("Failures/s")) or 0)
            p95 = _number(row.get("95%"))
            if p95:  # 0: locust had no window of recent answers yet, not an answer in 0 ms
                latency.setdefault(name, []).append((t, p95))
        elif row.get("Type") == IVH_METHOD and name in speaking:
            value = _number(row.get("95%"))
            if value is not None:
                speaking[name].append((t, value))
        elif row.get("Type") == IVH_METHOD:
            for kind, prefix in (("checks", PREEMPTION_CHECK), ("violations", PREEMPTION_VIOLATION)):
                if name.startswith(prefix):
                    total = preemption[kind]
                    total[t] = total.get(t, 0.0) + (_number(row.get("Total Request Count")) or 0)
    busy = min((t for t, value in rate.items() if value > 0), default=None)
    load: dict[str, list[Point]] = {}
    if busy is not None:
        found = {"users": users, "requests/s": rate, "failures/s": failures}
        load = {name: sorted((t, v) for t, v in points.items() if t >= busy) for name, points in found.items()}
    return LoadSeries(
        operations=operations,
        intervals=intervals,
        latency={name: points for name, points in sorted(latency.items())},
        load=load,
        preemption={k: sorted(v.items()) for k, v in preemption.items() if v},
        speaking={f"{k} p95": v for k, v in speaking.items() if v},
    )


def live_counts(folder: Path) -> tuple[int, int]:
    """Requests and failures so far, from the stats locust rewrites every few seconds of a run."""
    row = next((row for row in _rows(folder / "locust_stats.csv") if row.get("Name") == AGGREGATED), {})
    return int(_number(row.get("Request Count")) or 0), int(_number(row.get("Failure Count")) or 0)


def network(folder: Path) -> EnvironmentSummary:
    """``network.json`` (written by the load plugin); an empty summary when the run wrote none."""
    try:
        data = json.loads((folder / "network.json").read_text(encoding="utf-8"))
        rows = [
            NetworkRow(
                operation=str(r["operation"]),
                requests=int(r["requests"]),
                faults={str(k): int(v) for k, v in r["faults"].items()},
                retries=int(r["retries"]),
                unanswered=int(r["unanswered"]),
            )
            for r in data["rows"]
        ]
        return EnvironmentSummary(rows=rows, tolerance=float(data["tolerance"]), swept=int(data["swept"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return EnvironmentSummary()


LOCUST_REPORT = "report.html"  # locust's own report, written by ``ivhsuite load``


def read_load_summary(scenario: str, folder: Path, exit_code: int, duration_s: float = 0.0) -> LoadSummary:
    """What the run in ``folder`` left: its thresholds, its time series, what the network did, locust's own report."""
    report = f"{folder.name}/{LOCUST_REPORT}" if (folder / LOCUST_REPORT).is_file() else ""
    return LoadSummary(
        scenario, exit_code, folder.name, thresholds(folder), series(folder), network(folder), duration_s, report
    )
