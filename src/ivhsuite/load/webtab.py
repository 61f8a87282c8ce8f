"""The "IVH checks" tab of locust's web UI: contract violations, preemption checks, time to ready,
and the command channel's checks (connects, time to speak, send lag, drops, refusals).

Uses locust's own extension points (see locust ``examples/extend_web_ui.py``): the
``extended_tabs``/``extended_tables`` template arguments declare the tab and its
columns, and ``extended_stats`` added to ``/stats/requests`` (polled by the UI every
2 s) fills it. The rows come from the runner's stats, so on a master they are the
aggregate of every worker. ``/ivhsuite/checks`` serves the same rows as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from ivhsuite.load.thresholds import (
    AUDIO_SEND_LAG,
    CHANNEL_CONNECT,
    CHANNEL_DROPPED,
    CONTRACT_PREFIX,
    ENVIRONMENTAL_PREFIX,
    IVH_METHOD,
    PREEMPTION_CHECK,
    PREEMPTION_VIOLATION,
    REFUSED_PREFIX,
    SPEAKING,
    TIME_TO_READY,
    EntrySnapshot,
    StatsSnapshot,
    Verdict,
)

TAB_KEY = "ivhsuite"
TAB_TITLE = "IVH checks"
COLUMNS = [
    {"key": "metric", "title": "Check"},
    {"key": "value", "title": "Value"},
    {"key": "detail", "title": "Detail"},
]
MAX_MESSAGES = 5

Row = dict[str, Any]


def rows(
    snap: StatsSnapshot,
    errors: Iterable[tuple[str, str, int]],
    target: str,
    verdicts: list[Verdict] | None = None,
) -> list[Row]:
    """The tab's rows from plain numbers; ``errors`` are (entry name, message, occurrences)."""
    ivh = [e for e in snap.entries if e.method == IVH_METHOD]
    errors = list(errors)
    contract = [e for e in ivh if e.name.startswith(CONTRACT_PREFIX)]
    checks = [e for e in ivh if e.name.startswith(PREEMPTION_CHECK)]
    violations = sum(e.failures for e in ivh if e.name == PREEMPTION_VIOLATION)
    ready = snap.entry(IVH_METHOD, TIME_TO_READY)
    table: list[Row] = [{"metric": "target", "value": target, "detail": ""}]
    table.append(
        {
            "metric": "contract violations",
            "value": sum(e.failures for e in contract),
            "detail": ", ".join(f"{e.name.removeprefix(CONTRACT_PREFIX)}: {e.failures}" for e in contract)
            or _messages(errors, CONTRACT_PREFIX),
        }
    )
    table.append(
        {
            "metric": "preemption checks",
            "value": sum(e.requests for e in checks),
            "detail": ", ".join(f"{e.name.removeprefix(PREEMPTION_CHECK + ': ')}: {e.requests}" for e in checks),
        }
    )
    table.append(
        {"metric": "preemption violations", "value": violations, "detail": _messages(errors, PREEMPTION_VIOLATION)}
    )
    if ready is not None:
        detail = f"p50 {ready.p50:g} ms, p95 {ready.p95:g} ms, p99 {ready.p99:g} ms, max {ready.max:.0f} ms"
        table.append({"metric": "time to ready (sessions)", "value": ready.requests - ready.failures, "detail": detail})
        table.append({"metric": "time to ready p95 (ms)", "value": ready.p95, "detail": ""})
        table.append({"metric": "never ready", "value": ready.failures, "detail": _messages(errors, TIME_TO_READY)})
    else:
        table.append({"metric": "time to ready (sessions)", "value": 0, "detail": "no session ready yet"})
    table += _channel_rows(snap, errors)
    for entry in sorted((e for e in ivh if e.name.startswith(ENVIRONMENTAL_PREFIX)), key=lambda e: e.name):
        table.append({"metric": entry.name, "value": entry.requests, "detail": "busy answers, not failures"})
    if verdicts is not None:
        failed = [v.rule.name for v in verdicts if v.failed]
        passed = sum(v.status == "pass" for v in verdicts)
        table.append(
            {
                "metric": "thresholds",
                "value": "FAIL" if failed else "pass",
                "detail": f"{passed} passed" + (f", failing: {', '.join(failed)}" if failed else ""),
            }
        )
    return table


def _channel_rows(snap: StatsSnapshot, errors: list[tuple[str, str, int]]) -> list[Row]:
    """The command channel's entries, once a run has opened a channel (none before: other scenarios)."""
    connect = snap.entry(IVH_METHOD, CHANNEL_CONNECT)
    if connect is None:
        return []
    table: list[Row] = [
        {"metric": "channels opened", "value": connect.requests - connect.failures, "detail": _latency(connect)},
        {"metric": "channels refused", "value": connect.failures, "detail": _messages(errors, CHANNEL_CONNECT)},
    ]
    for name in SPEAKING:
        entry = snap.entry(IVH_METHOD, name)
        if entry is not None:
            missing = f"{entry.failures} never came; " if entry.failures else ""
            table.append({"metric": f"{name} (ms)", "value": entry.p95, "detail": missing + _latency(entry)})
    lag = snap.entry(IVH_METHOD, AUDIO_SEND_LAG)
    if lag is not None:
        detail = "the generator's own pace (behind: short of CPU, not the endpoint); " + _latency(lag)
        table.append({"metric": f"{AUDIO_SEND_LAG} p99 (ms)", "value": lag.p99, "detail": detail})
    dropped = snap.entry(IVH_METHOD, CHANNEL_DROPPED)
    table.append(
        {"metric": "channels dropped", "value": dropped.requests if dropped else 0, "detail": _messages(errors, CHANNEL_DROPPED)}
    )
    refused = [e for e in snap.entries if e.method == IVH_METHOD and e.name.startswith(REFUSED_PREFIX)]
    table.append(
        {
            "metric": "commands refused",
            "value": sum(e.requests for e in refused),
            "detail": ", ".join(f"{e.name.removeprefix(REFUSED_PREFIX)}: {e.requests}" for e in refused)
            or _messages(errors, REFUSED_PREFIX),
        }
    )
    return table


def _latency(entry: EntrySnapshot) -> str:
    return f"p50 {entry.p50:g}, p95 {entry.p95:g}, p99 {entry.p99:g}, max {entry.max:.0f} ms"


def _messages(errors: list[tuple[str, str, int]], prefix: str) -> str:
    found = [
        f"{message} (x{count})" if count > 1 else message for name, message, count in errors if name.startswith(prefix)
    ]
    more = f" … and {len(found) - MAX_MESSAGES} more" if len(found) > MAX_MESSAGES else ""
    return "; ".join(found[-MAX_MESSAGES:]) + more


def install(web_ui: Any, build_rows: Callable[[], list[Row]]) -> None:
    """Declare the tab and feed it from ``build_rows`` on every stats poll."""
    from flask import jsonify, request

    web_ui.template_args["extended_tabs"] = [{"title": TAB_TITLE, "key": TAB_KEY}]
    web_ui.template_args["extended_tables"] = [{"key": TAB_KEY, "structure": COLUMNS}]

    @web_ui.app.after_request
    def add_rows(response: Any) -> Any:
        if not request.path.endswith("/stats/requests") or response.status_code != 200 or not response.is_json:
            return response
        data = response.get_json()
        data["extended_stats"] = [{"key": TAB_KEY, "data": build_rows()}]
        response.set_data(json.dumps(data))
        return response

    @web_ui.app.route("/ivhsuite/checks")
    def checks() -> Any:
        return jsonify(build_rows())
