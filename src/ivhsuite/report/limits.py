"""How a threshold reads in a report: in its unit, integers as integers, grouped, failures first.

>>> from ivhsuite.summaries import ThresholdRow
>>> row = ThresholdRow("operations.createsession", "p95_ms", "<=", 3000.0, 12.4, "pass")
>>> f"{label(row)}: {actual_text(row)} {limit_text(row)}"
'p95: 12 ms ≤ 3,000 ms'
"""

from __future__ import annotations

from collections.abc import Iterable

from ivhsuite.summaries import ThresholdRow

_LABELS = {
    "fail_ratio": "failed",
    "min_rps": "rate",
    "max_violations": "violations",
    "max_live_sessions": "live sessions left",
    "max_count": "answers",
    "min_checks": "checks",
}
_ORDER = {"fail": 0, "pass": 1, "skip": 2}
_METRICS = ("p50_ms", "p95_ms", "p99_ms", "max_ms", "fail_ratio", "min_rps", "max_violations", "min_checks")


def label(row: ThresholdRow) -> str:
    """``p95`` for ``p95_ms``, ``failed`` for ``fail_ratio``, ..."""
    return _LABELS.get(row.metric, row.metric.removesuffix("_ms"))


def scope_text(scope: str) -> str:
    """``createsession`` for ``operations.createsession``, ``time to ready``, ``environmental 100008``."""
    head, _, rest = scope.partition(".")
    if head == "operations":
        return rest
    return " ".join(filter(None, (head.replace("_", " "), rest)))


def value_text(metric: str, value: float) -> str:
    if metric.endswith("_ms"):
        return f"{value:,.0f} ms"
    if metric == "fail_ratio":
        percent = value * 100
        return f"{percent:.0f} %" if percent == int(percent) or percent >= 10 else f"{percent:.2g} %"
    if metric == "min_rps":
        return f"{value:.3g} req/s"
    return f"{value:,.0f}" if value == int(value) else f"{value:.3g}"


def limit_text(row: ThresholdRow) -> str:
    return f"{'≥' if row.comparison == '>=' else '≤'} {value_text(row.metric, row.limit)}"


def actual_text(row: ThresholdRow) -> str:
    return "no data" if row.actual is None else value_text(row.metric, row.actual)


def grouped(rows: Iterable[ThresholdRow]) -> list[tuple[str, list[ThresholdRow]]]:
    """Rows by scope; a scope with a failure first, and within a scope failures, then passes, then no data."""
    scopes: dict[str, list[ThresholdRow]] = {}
    for row in rows:
        scopes.setdefault(row.scope, []).append(row)
    ordered = [(scope, sorted(found, key=_row_order)) for scope, found in scopes.items()]
    return sorted(ordered, key=lambda item: min(_ORDER.get(r.status, 1) for r in item[1]))


def _row_order(row: ThresholdRow) -> tuple[int, int]:
    metric = _METRICS.index(row.metric) if row.metric in _METRICS else len(_METRICS)
    return _ORDER.get(row.status, 1), metric


def counts(rows: Iterable[ThresholdRow]) -> str:
    """``15 passed, 1 failed, 2 without data``."""
    found = {"pass": 0, "fail": 0, "skip": 0}
    for row in rows:
        found[row.status] = found.get(row.status, 0) + 1
    words = {"pass": "passed", "fail": "failed", "skip": "without data"}
    return ", ".join(f"{n} {words[k]}" for k, n in found.items() if n or k != "skip")
