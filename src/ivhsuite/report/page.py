"""``index.html``: what ran, the verdict and the contract at a glance first; then per operation, the load, the network.

The first screen answers "did it pass, what was checked how often, what was not and why";
test ids stay in ``junit.xml``. Load charts keep requests and measured intervals apart
(:mod:`ivhsuite.load.results`) and are drawn only when they have something to say.

Self-contained: styles inline, charts as inline SVG (pygal, :mod:`ivhsuite.report.charts`),
no script, no external URL other than plain text. Everything shown passes through :func:`ivhsuite.redact.redact`.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ivhsuite import environmental
from ivhsuite.redact import redact
from ivhsuite.report import charts, limits
from ivhsuite.summaries import EnvironmentSummary, GateSummary, LoadSummary, PromiseRow, ThresholdRow, VerifySummary

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#111827;background:#f9fafb}
main{max-width:1000px;margin:0 auto;padding:12px 24px}
h1{margin:0 0 2px;font-size:24px}h2{margin:28px 0 6px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.verdict{padding:10px 18px;border-radius:10px;color:#fff;margin:10px 0}
.verdict.green{background:#15803d}.verdict.red{background:#b91c1c}.verdict.unstable{background:#b45309}
.verdict .word{font-size:24px;font-weight:700;letter-spacing:.04em}
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
.meta{color:#4b5563}.header{font-size:12px;line-height:1.3}
h2.glance{margin:10px 0 2px;font-size:18px}table.matrix code{font:11px/1.1 ui-monospace,monospace;padding:0}#contract .meta{margin:2px 0;font-size:12px}
.verdict .reason{margin-top:4px;font-size:15px}
.scroll{overflow-x:auto}
table.matrix{width:auto;font-size:11px;line-height:1.1}table.matrix td,table.matrix th{padding:0 4px}
table.matrix th.op{vertical-align:bottom;white-space:nowrap;font-size:10px}
table.matrix th.op span{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:600}
table.matrix th.promise{font-weight:400;background:#fff;white-space:nowrap}
table.matrix th.promise small{color:#6b7280}
span.num,td.cell,td.num{white-space:nowrap}td.cell{text-align:center;font-variant-numeric:tabular-nums;min-width:28px}
td.ok{color:#15803d}td.cell.bad{color:#fff;background:#b91c1c;font-weight:700}td.none{color:#9ca3af}
td.why{color:#6b7280;font-size:10px;max-width:0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
td.num.ok{color:#15803d;text-align:right}td.num.bad{color:#b91c1c;font-weight:700;text-align:right}td.num.none{text-align:right}
table.matrix th.promise small{display:inline-block;max-width:330px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;vertical-align:bottom;line-height:1.1}
h4{margin:12px 0 4px}
@media print{.chart{break-inside:avoid}main{max-width:none}}
@media (max-width:640px){main{padding:8px}table.matrix th.promise small{display:none}}
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
    listed = [*summary.reasons, *summary.unstable]
    reasons = "".join(f"<li>{_cell(reason)}</li>" for reason in listed) if len(listed) > 1 else ""
    words = {
        "green": "GREEN: the endpoint keeps its contract under load",
        "red": "RED: see why below",
        "unstable": "UNSTABLE: the network, not the contract, failed too often to judge",
    }[summary.verdict]
    return (
        f'<section id="verdict" class="verdict {summary.verdict}">'
        f'<div class="word">{escape(words)}</div><div class="reason">{_cell(_verdict_reason(summary))}</div>'
        f"{f'<ul>{reasons}</ul>' if reasons else ''}</section>"
    )


def _verdict_reason(summary: VerifySummary) -> str:
    """The verdict's reason in one sentence."""
    if summary.reasons:
        more = len(summary.reasons) - 1
        return summary.reasons[0] + (f" (and {more} more below)" if more else "")
    if summary.unstable:
        return summary.unstable[0]
    gate = summary.gate
    checked = sum(row.times for row in gate.promises)
    thresholds = sum(len(run.thresholds) for run in summary.load)
    return (
        f"every promise checked held ({checked:,} checks over {gate.requests + gate.scenario_requests:,} requests)"
        f" and all {thresholds} load thresholds passed"
    )


def _count(n: int) -> str:
    return f"{n:,}"


def _matrix_columns(gate: GateSummary) -> list[str]:
    """The spec's operations, then anything else a check was counted against."""
    columns = [row.operation for row in gate.operations]
    for row in gate.promises:
        columns += [op for op in row.checked if op not in columns]
    return columns


def _matrix_cell(row: PromiseRow, operation: str, requested: dict[str, int]) -> str:
    checked, failed = row.checked.get(operation, 0), row.failed.get(operation, 0)
    if failed:
        return f'<td class="cell bad" title="failed {failed} of {checked} checks">✗ {failed}/{_count(checked)}</td>'
    if checked:
        return f'<td class="cell ok" title="checked {checked} times, held">{_count(checked)}</td>'
    why = row.why_not or (
        "no request sent to it" if not requested.get(operation) else "no answer it got was one this promise speaks of"
    )
    return f'<td class="cell none" title="not checked: {_cell(why)}">·</td>'


def _contract(gate: GateSummary) -> str:
    """Documented promises (rows) against operations (columns): checked N / failed / not checked, and why."""
    if not gate.promises:
        return "<p>The gate recorded no checks.</p>"
    columns = _matrix_columns(gate)
    requested = {row.operation: row.requests for row in gate.operations}
    rows = sorted(gate.promises, key=lambda r: (not r.failures, not r.times))  # failures, checked, not checked
    head = "".join(f'<th class="op"><span>{_cell(op)}</span></th>' for op in columns)
    body = []
    for row in rows:
        if row.failures:
            total = f'<td class="num bad">✗ {row.failures}/{_count(row.times)}</td>'
        elif row.times:
            total = f'<td class="num ok">{_count(row.times)}</td>'
        else:
            total = '<td class="num none">0</td>'
        if row.times:
            cells = "".join(_matrix_cell(row, op, requested) for op in columns)
        else:  # checked nowhere: one line across the operations says why
            why = row.why_not or "no request of this run exercised it"
            cells = f'<td class="why" colspan="{len(columns)}" title="{_cell(why)}">not checked: {_cell(why)}</td>'
        body.append(
            f'<tr><th class="promise" title="{_cell(row.words)}"><code>{_cell(row.promise)}</code>'
            f" <small>{_cell(row.words)}</small></th>"
            f"{cells}{total}</tr>"
        )
    checked = [row for row in gate.promises if row.times]
    failed = [row for row in gate.promises if row.failures]
    line = (
        f"{len(checked)} of {len(gate.promises)} documented promises checked,"
        f" {_count(sum(r.times for r in gate.promises))} checks in all;"
        f" {len(failed)} broken; {len(gate.promises) - len(checked)} not checked."
        " Cells: times checked, ✗ failed/checked, · not checked (hover: why)."
    )
    table = (
        f'<div class="scroll"><table class="matrix"><thead><tr><th>promise</th>{head}<th>all</th></tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
    return f'<section id="contract"><p class="meta">{escape(line)}</p>{table}</section>'


def _tally(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} ×{_count(n)}" for key, n in sorted(counts.items(), key=lambda item: -item[1])) or "–"


def _operations(gate: GateSummary) -> str:
    rows = [
        [
            _cell(row.operation),
            f'<span class="num">{_count(row.generated)}</span>',
            f'<span class="num">{_count(row.scenarios)}</span>',
            _cell(_tally(row.statuses)),
            _cell(_tally(row.codes)),
            f'<span class="num">{row.slowest_ms:,.0f} ms</span>' if row.requests else "–",
        ]
        for row in gate.operations
    ]
    headers = ["operation", "generated", "scenarios", "answers by HTTP status", "by Header.Code", "slowest"]
    return _table(headers, rows)


def _gate(gate: GateSummary) -> str:
    failures = "".join(
        f"<li><b>{_cell(f.title)}</b> [{_cell(f.promise)}] ({_cell(f.operation)})"
        f"<pre>{_cell(f.message)}</pre>" + (f"<pre>{_cell(f.reproduce)}</pre>" if f.reproduce else "") + "</li>"
        for f in gate.failures
    )
    error = f'<p class="fail">{_cell(gate.error)}</p>' if gate.error else ""
    sessions = f'<p class="meta">{escape(gate.sessions.words())}</p>' if gate.sessions.allowed else ""
    notes = "".join(f"<li>{_cell(note)}</li>" for note in gate.observations)
    notes += "".join(f"<li><b>drift</b>: {_cell(text)}</li>" for text in gate.choice_drift)
    if gate.choices_not_observed:
        notes += f"<li>choices not observed: {_cell(', '.join(gate.choices_not_observed))}</li>"
    return (
        error
        + sessions
        + ("<h3>Failures</h3><ol>" + failures + "</ol>" if failures else "")
        + "<h3>Per operation</h3>"
        + _operations(gate)
        + ("<h3>Observations (not violations)</h3><ul>" + notes + "</ul>" if notes else "")
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


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value / 1000:,.2f} s"


def _requests(run: LoadSummary) -> str:
    """The requests' own latency per operation: a bar chart of p50/p95/p99 and the numbers."""
    ops = run.series.operations
    if not ops:
        return "<p>No requests.</p>"
    columns = ("50%", "95%", "99%")
    bars = {f"p{c.rstrip('%')}": [op.percentiles.get(c, 0.0) for op in ops] for c in columns}
    chart = charts.bar_chart(f"{run.scenario}: request latency by operation", [op.name for op in ops], bars, "ms")
    rows = [
        [
            _cell(op.name),
            f'<span class="num">{_count(op.count)}</span>',
            f'<span class="num">{_count(op.failures)}</span>',
            *(f'<span class="num">{_ms(op.percentiles.get(c))}</span>' for c in columns),
            f'<span class="num">{_ms(op.max_ms)}</span>',
        ]
        for op in ops
    ]
    table = _table(["operation", "requests", "failed", "p50", "p95", "p99", "max"], rows)
    over_time = run.series.latency
    line = (
        charts.line_chart(f"{run.scenario}: request p95 over time (recent answers)", over_time, "ms")
        if charts.meaningful(over_time)
        else ""
    )
    return f'<div class="charts">{chart}{line}</div>{table}'


def _intervals(run: LoadSummary) -> str:
    """How long sessions took to be ready (and other measured intervals), in seconds: never plotted as latency."""
    found = run.series.intervals
    if not found:
        return ""
    rows = [
        [
            _cell(entry.name),
            f'<span class="num">{_count(entry.count)}</span>',
            f'<span class="num">{_count(entry.failures)}</span>',
            *(f'<span class="num">{_s(entry.percentiles.get(c))}</span>' for c in ("50%", "95%")),
            f'<span class="num">{_s(entry.max_ms)}</span>',
        ]
        for entry in found
    ]
    table = _table(["interval", "measured", "failed", "p50", "p95", "max"], rows)
    curves = {
        entry.name: sorted((ms / 1000, float(c.rstrip("%"))) for c, ms in entry.percentiles.items()) for entry in found
    }
    spread = any(charts.spread([x for x, _ in points]) for points in curves.values())
    chart = charts.cdf_chart(f"{run.scenario}: time to ready and other intervals", curves, "seconds") if spread else ""
    return f'<h4>Measured intervals</h4><div class="charts">{chart}</div>{table}'


def _load_shape(run: LoadSummary) -> str:
    """Users and request rate on one chart, failures marked; too short a run shows its numbers instead."""
    series = run.series.load
    if not series:
        requests = sum(op.count for op in run.series.operations)
        return (
            f'<p class="meta">load: {requests:,} requests in {run.duration_s:.0f} s (too short for a time series)</p>'
        )
    shown = {name: points for name, points in series.items() if name != "failures/s" or any(y for _, y in points)}
    if charts.meaningful(shown):
        title = f"{run.scenario}: users and requests per second (users on the right)"
        return charts.line_chart(title, shown, "requests per second", secondary=("users",))
    rate = [y for _, y in series.get("requests/s", [])]
    users = max((y for _, y in series.get("users", [])), default=0)
    return (
        f'<p class="meta">load: {users:g} users, {min(rate, default=0):.2g}–{max(rate, default=0):.2g} requests/s'
        " (too few samples for a chart)</p>"
    )


def _charts(load: list[LoadSummary]) -> str:
    parts = []
    for run in load:
        link = f' · <a href="{_cell(run.report)}">locust report</a>' if run.report else ""
        parts.append(
            f'<h3>{_cell(run.scenario)} <small class="meta">{run.duration_s:.0f} s{link}</small></h3>'
            + _requests(run)
            + _intervals(run)
            + _load_shape(run)
        )
        if charts.meaningful(run.series.preemption):
            title = f"{run.scenario}: preemption checks"
            parts.append(
                f'<div class="charts">{charts.line_chart(title, run.series.preemption, "checks (cumulative)")}</div>'
            )
        if charts.meaningful(run.series.speaking):  # scenarios that talk over the command channel
            title = f"{run.scenario}: time to speak"
            parts.append(f'<div class="charts">{charts.line_chart(title, run.series.speaking, "ms")}</div>')
    return "".join(parts)


def _header(summary: VerifySummary) -> str:
    """What ran against what, how long each phase took, sessions, the network's share."""
    target, gate = summary.target, summary.gate
    where = "the embedded emulator" if target.embedded else target.base_url
    quota = f"quota {target.quota}" if target.quota else "quota unknown (not checked)"
    versions = ", ".join(f"{name} {version}" for name, version in summary.versions.items())
    halves = ", ".join(f"{half} {seconds:.0f} s" for half, seconds in gate.half_seconds.items())
    phases = [f"gate {gate.duration_s:.0f} s" + (f" ({halves})" if halves else "")]
    phases += [f"load {run.scenario} {run.duration_s:.0f} s" for run in summary.load]
    left = "unknown" if gate.left_open is None else str(gate.left_open)
    network = environmental.merge([gate.environment, *(run.environment for run in summary.load)])
    share = network.unanswered / network.requests if network.requests else 0.0
    lines = [
        f"{where}, project {target.project_id}, {quota}, {'signed' if target.signed else 'unsigned'},"
        f" profile {summary.profile}",
        f"{summary.started}, {summary.duration_s:.0f} s: " + ", ".join(phases),
        f"gate sessions: {gate.sessions.created} created, {left} left open; network: {network.faults} faults,"
        f" {network.unanswered} of {network.requests:,} requests unanswered ({share:.1%})",
    ]
    if versions:
        lines.append(versions)
    return '<div class="meta header">' + "".join(f"<div>{_cell(line)}</div>" for line in lines) + "</div>"


def render(summary: VerifySummary) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>ivhsuite verify: {escape(summary.verdict)}</title><style>{STYLE}</style></head><body><main>"
        "<h1>ivhsuite verification</h1>"
        + _header(summary)
        + _verdict(summary)
        + '<h2 class="glance">The contract at a glance</h2>'
        + _contract(summary.gate)
        + "<h2>Contract gate</h2>"
        + _gate(summary.gate)
        + "<h2>Load thresholds</h2>"
        + _thresholds(summary.load)
        + "<h2>Load</h2>"
        + _charts(summary.load)
        + "<h2>Network (environmental, not the contract)</h2>"
        + _network(summary.gate.environment, summary.load)
        + "</main></body></html>"
    )
