"""``index.html``: the verdict first, then the gate, the thresholds and the charts.

Self-contained: styles inline, charts as inline SVG (pygal, :mod:`ivhsuite.report.charts`),
no script, no external URL other than plain text. Everything shown passes through :func:`ivhsuite.redact.redact`.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ivhsuite import environmental
from ivhsuite.redact import redact
from ivhsuite.report import charts, limits
from ivhsuite.summaries import EnvironmentSummary, GateSummary, LoadSummary, ThresholdRow, VerifySummary

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#111827;background:#f9fafb}
main{max-width:1000px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}h2{margin-top:32px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.verdict{padding:18px 22px;border-radius:10px;color:#fff;margin:16px 0}
.verdict.green{background:#15803d}.verdict.red{background:#b91c1c}.verdict.unstable{background:#b45309}
.verdict .word{font-size:28px;font-weight:700;letter-spacing:.04em}
table{border-collapse:collapse;width:100%;background:#fff;margin:8px 0}
th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#15803d;font-weight:600}.fail{color:#b91c1c;font-weight:600}.skip{color:#6b7280}
code,pre{font:12px/1.4 ui-monospace,monospace;white-space:pre-wrap;word-break:break-all}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{background:#fff;border:1px solid #e5e7eb;border-radius:6px;max-width:100%;height:auto}
details.thresholds{margin:6px 0}details.thresholds summary{cursor:pointer;font-weight:600}
.limit{display:inline-block;margin:1px 8px 1px 0;white-space:nowrap}.limit small{color:#6b7280}
.limit.pass{color:#111827;font-weight:400}.limit.fail{color:#b91c1c;font-weight:700}.limit.skip{color:#6b7280}
.meta{color:#4b5563}
"""


def _cell(value: Any) -> str:
    return escape(redact(str(value)))


def _outcome(passed: bool | None) -> str:
    if passed is None:
        return '<span class="skip">skipped</span>'
    return '<span class="pass">pass</span>' if passed else '<span class="fail">FAIL</span>'


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _verdict(summary: VerifySummary) -> str:
    reasons = "".join(f"<li>{_cell(reason)}</li>" for reason in [*summary.reasons, *summary.unstable])
    words = {
        "green": "GREEN: the endpoint keeps its contract under load",
        "red": "RED: see why below",
        "unstable": "UNSTABLE: the network, not the contract, failed too often to judge",
    }[summary.verdict]
    return (
        f'<section id="verdict" class="verdict {summary.verdict}">'
        f'<div class="word">{escape(words)}</div>'
        f"{f'<ul>{reasons}</ul>' if reasons else ''}</section>"
    )


def _gate(gate: GateSummary) -> str:
    checks = [
        [
            _cell(row.operation),
            _cell(row.check),
            f'<span class="num">{row.passed}</span>',
            f'<span class="num">{row.failed}</span>',
            _outcome(None if row.skipped else row.failed == 0),
        ]
        for row in gate.checks
    ]
    failures = "".join(
        f"<li><b>{_cell(f.title)}</b> [{_cell(f.promise)}] ({_cell(f.operation)})"
        f"<pre>{_cell(f.message)}</pre>"
        + (f"<pre>{_cell(f.reproduce)}</pre>" if f.reproduce else "")
        + "</li>"
        for f in gate.failures
    )
    error = f"<p class=\"fail\">{_cell(gate.error)}</p>" if gate.error else ""
    meta = (
        f'<p class="meta">exit code {gate.exit_code}, {gate.requests} generated requests, '
        f"{gate.duration_s:.1f} s</p>"
        + (f'<p class="meta">{escape(gate.sessions.words())}</p>' if gate.sessions.allowed else "")
    )
    notes = "".join(f"<li>{_cell(note)}</li>" for note in gate.observations)
    notes += "".join(f"<li><b>drift</b>: {_cell(text)}</li>" for text in gate.choice_drift)
    if gate.choices_not_observed:
        notes += f"<li>choices not observed: {_cell(', '.join(gate.choices_not_observed))}</li>"
    return (
        meta
        + error
        + ("<h3>Observations (not violations)</h3><ul>" + notes + "</ul>" if notes else "")
        + ("<h3>Failures</h3><ol>" + failures + "</ol>" if failures else "")
        + "<h3>Per operation and check</h3>"
        + _table(["operation", "check", "passed", "failed", "outcome"], checks)
    )


def _threshold_cell(row: ThresholdRow) -> str:
    outcome = {"fail": "fail", "pass": "pass"}.get(row.status, "skip")
    mark = {"fail": "FAIL", "pass": '<b class="pass">✓</b>'}.get(row.status, "–")
    return (
        f'<span class="limit {outcome}" title="{_cell(row.name)}">{escape(limits.label(row))} '
        f"{escape(limits.actual_text(row))} <small>{escape(limits.limit_text(row))}</small> {mark}</span>"
    )


def _network(gate: EnvironmentSummary, load: list[LoadSummary]) -> str:
    """Environmental faults, apart from the promises: one line per phase, then per operation and fault."""
    phases = [("gate", gate)] + [(f"load {run.scenario}", run.environment) for run in load]
    lines = "".join(f"<li><b>{_cell(name)}</b>: {_cell(environmental.describe(env))}</li>" for name, env in phases)
    swept = sum(env.swept for _, env in phases)
    if swept:
        lines += f"<li>{_cell(environmental.swept_words(swept))}</li>"
    rows = [
        [
            _cell(name),
            _cell(row.operation),
            f'<span class="num">{row.requests}</span>',
            _cell(", ".join(f"{n} {label}" for label, n in sorted(row.faults.items())) or "none"),
            f'<span class="num">{row.retries}</span>',
            f'<span class="num">{row.unanswered}</span>',
        ]
        for name, env in phases
        for row in env.rows
        if row.faults
    ]
    table = _table(["phase", "operation", "requests", "faults", "retried", "unanswered"], rows) if rows else ""
    return f'<section id="network"><ul>{lines}</ul>{table}</section>'


def _thresholds(load: list[LoadSummary]) -> str:
    """Per scenario one line of counts and one row per scope; a scenario with a failure is open, failures first."""
    if not any(run.thresholds for run in load):
        return "<p>No load run.</p>"
    parts = []
    for run in load:
        failed = bool(run.failed_thresholds)
        rows = [
            [escape(limits.scope_text(scope)), " ".join(_threshold_cell(row) for row in found)]
            for scope, found in limits.grouped(run.thresholds)
        ]
        summary = f"{_cell(run.scenario)}: {escape(limits.counts(run.thresholds))}"
        parts.append(
            f'<details class="thresholds"{" open" if failed else ""}><summary class="{"fail" if failed else "pass"}">'
            f"{summary}</summary>{_table(['what', 'actual and limit'], rows)}</details>"
        )
    return "".join(parts)


def _charts(load: list[LoadSummary]) -> str:
    parts = []
    for run in load:
        series = run.series
        parts.append(f'<h3>{_cell(run.scenario)}</h3><div class="charts">')
        parts.append(charts.line_chart(f"{run.scenario}: latency percentiles", series.latency, "ms"))
        parts.append(charts.line_chart(f"{run.scenario}: throughput", series.rps, "requests per second"))
        parts.append(
            charts.bar_chart(f"{run.scenario}: time to ready", series.time_to_ready, "ms", "percentile of sessions")
        )
        parts.append(charts.line_chart(f"{run.scenario}: preemption checks", series.preemption, "checks (cumulative)"))
        parts.append("</div>")
    return "".join(parts)


def render(summary: VerifySummary) -> str:
    target = summary.target
    where = "the embedded emulator" if target.embedded else target.base_url
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>ivhsuite verify: {escape(summary.verdict)}</title><style>{STYLE}</style></head><body><main>"
        f'<h1>ivhsuite verification</h1><p class="meta">{_cell(summary.started)}, against '
        f"{_cell(where)}, project {_cell(target.project_id)}, profile {_cell(summary.profile)}, "
        f"{summary.duration_s:.0f} s</p>"
        + _verdict(summary)
        + "<h2>Contract gate</h2>"
        + _gate(summary.gate)
        + "<h2>Network (environmental, not the contract)</h2>"
        + _network(summary.gate.environment, summary.load)
        + "<h2>Load thresholds</h2>"
        + _thresholds(summary.load)
        + "<h2>Charts</h2>"
        + _charts(summary.load)
        + "</main></body></html>"
    )
