"""Read what one ``ivhsuite load`` run left on disk into a :class:`~ivhsuite.summaries.LoadSummary`.

Inputs: ``thresholds.json`` (the verdicts), ``network.json`` (what the network did) and
locust's ``locust_stats.csv`` and ``locust_stats_history.csv`` (written with ``--csv-full-history``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ivhsuite.load.thresholds import IVH_METHOD, PREEMPTION_CHECK, PREEMPTION_VIOLATION, SPEAKING, TIME_TO_READY
from ivhsuite.summaries import EnvironmentSummary, LoadSeries, LoadSummary, NetworkRow, Point, ThresholdRow

AGGREGATED = "Aggregated"
LATENCY_COLUMNS = {"p50": "50%", "p95": "95%", "p99": "99%"}
READY_PERCENTILES = ("50%", "66%", "75%", "90%", "95%", "99%", "100%")


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


def series(folder: Path) -> LoadSeries:
    """Time series for the charts, x in seconds since the first sample."""
    history = _rows(folder / "locust_stats_history.csv")
    start = min((_number(row["Timestamp"]) or 0 for row in history), default=0)
    latency: dict[str, list[Point]] = {name: [] for name in LATENCY_COLUMNS}
    rps: dict[str, list[Point]] = {"requests/s": [], "failures/s": []}
    # "preemption check: list", "preemption check: superseded", ...: summed per sample
    preemption: dict[str, dict[float, float]] = {"checks": {}, "violations": {}}
    speaking: dict[str, list[Point]] = {name: [] for name in SPEAKING}  # the channel's, p95 per sample
    for row in history:
        t = (_number(row["Timestamp"]) or 0) - start
        name = row.get("Name")
        if name == AGGREGATED:
            for label, column in LATENCY_COLUMNS.items():
                value = _number(row.get(column))
                if value is not None:
                    latency[label].append((t, value))
            rps["requests/s"].append((t, _number(row.get("Requests/s")) or 0))
            rps["failures/s"].append((t, _number(row.get("Failures/s")) or 0))
        elif row.get("Type") == IVH_METHOD and name in speaking:
            value = _number(row.get("95%"))
            if value is not None:
                speaking[name].append((t, value))
        elif row.get("Type") == IVH_METHOD and name:
            for kind, prefix in (("checks", PREEMPTION_CHECK), ("violations", PREEMPTION_VIOLATION)):
                if name.startswith(prefix):
                    total = preemption[kind]
                    total[t] = total.get(t, 0.0) + (_number(row.get("Total Request Count")) or 0)
    ready = next((row for row in _rows(folder / "locust_stats.csv") if row.get("Name") == TIME_TO_READY), None)
    ready_bars = [
        (column, _number(ready.get(column)) or 0) for column in READY_PERCENTILES if ready and ready.get(column)
    ]
    return LoadSeries(
        latency={k: v for k, v in latency.items() if v},
        rps={k: v for k, v in rps.items() if v},
        time_to_ready=ready_bars,
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


def read_load_summary(scenario: str, folder: Path, exit_code: int) -> LoadSummary:
    """What the run in ``folder`` left: its thresholds, its time series and what the network did."""
    return LoadSummary(scenario, exit_code, folder.name, thresholds(folder), series(folder), network(folder))
