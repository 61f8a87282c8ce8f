"""What a proxy run leaves behind: ``summary.json``, ``junit.xml`` and ``index.html``.

All three are written from one :class:`RunRecord` after the run, grouped by rule with the
offending calls. Every text passes through :func:`ivhsuite.redact.redact` before it is put
in its markup (a regex run over finished XML or HTML could swallow the markup after a
value); JSON, whose strings end at a quote, is redacted whole. The HTML is self-contained
(inline style and SVG, no script): it opens offline.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from ivhsuite.channel_spec import load_channel_spec
from ivhsuite.proxy.findings import RULES, Finding, Findings, Side
from ivhsuite.proxy.rules import Policy, Track
from ivhsuite.proxy.timeline import END_COLORS, end_kind, pacing_svg, timeline_svg
from ivhsuite.redact import redact

FAIL_ON = ("client", "endpoint", "any")


@dataclass
class RunRecord:
    """One proxy run, as the reports need it."""

    started: str  # ISO 8601, UTC
    duration: float  # seconds
    upstream: str  # a URL, or "the embedded emulator"
    fail_on: str
    policy: Policy
    findings: Findings
    tracks: list[Track]
    calls: Counter[str] = field(default_factory=Counter)
    environmental: Counter[str] = field(default_factory=Counter)
    command: str | None = None  # the wrapped command, as typed (redacted)
    command_exit: int | None = None
    stopped_by: str | None = None  # "SIGINT"/"SIGTERM" when a signal stopped the run
    exit_code: int = 0
    internal_errors: int = 0
    strict_advice: bool = False  # advice findings fail the run too

    def failing(self) -> int:
        """How many findings count against the run under ``fail_on`` (advice only when strict)."""
        side: Side | None = None if self.fail_on == "any" else self.fail_on  # type: ignore[assignment]
        return self.findings.total(side, advice=self.strict_advice)


def _call(finding: Finding) -> dict[str, Any]:
    call = finding.call
    item: dict[str, Any] = {"message": finding.message, "session_id": finding.session_id, "user_id": finding.user_id}
    if call is not None:
        item.update(
            seq=call.seq,
            at=round(call.at, 3),
            operation=call.label,
            peer=call.peer,
            req_id=call.req_id,
            status=call.status,
            code=call.code,
        )
    return item


def _track(track: Track) -> dict[str, Any]:
    def t(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return {
        "session_id": track.session_id,
        "user_id": track.user_id,
        "project_id": track.project_id,
        "created": t(track.created),
        "ready": t(track.ready),
        "started": t(track.started),
        "texts": track.text_count,
        "first_text": t(track.texts[0]) if track.texts else None,
        "last_text": t(track.texts[-1]) if track.texts else None,
        "ended": t(track.ended),
        "end_reason": track.end_reason,
        "leaked": track.leaked,
        "ran_s": t(track.ran()),
        "channel": [{"at": t(at), "what": what} for at, what in track.channel_events],
        "audio": [
            {
                "req_id": a.req_id,
                "packets": len(a.sent),
                "audio_s": round(sum(a.seconds), 3),
                "ratio": None if a.ratio is None else round(a.ratio, 3),
                "frames": [a.first_call, a.last_call],
                "final": a.final,
            }
            for a in track.audio
        ],
    }


def summary(record: RunRecord) -> dict[str, Any]:
    """The JSON summary: verdict, counts, rules with their offending calls, session timelines."""
    kept = record.findings.by_rule()
    rules = []
    for key, rule in RULES.items():
        count = record.findings.counts.get(key, 0)
        rules.append(
            {
                "rule": key,
                "side": rule.side,
                "advice": rule.advice,
                "description": rule.description,
                "count": count,
                "findings": [_call(f) for f in kept.get(key, [])],
            }
        )
    return {
        "tool": "ivhsuite proxy",
        "started": record.started,
        "duration_s": round(record.duration, 3),
        "upstream": record.upstream,
        "fail_on": record.fail_on,
        "strict_advice": record.strict_advice,
        "exit_code": record.exit_code,
        "verdict": "red" if record.failing() else "green",
        "command": record.command,
        "command_exit": record.command_exit,
        "stopped_by": record.stopped_by,
        "policy": {
            "stat_interval_s": record.policy.stat_interval,
            "text_interval_s": record.policy.text_interval,
            "quota": record.policy.quota,
            "idle_seconds": record.policy.idle_seconds,
        },
        "counts": {
            "calls": sum(record.calls.values()),
            "client": record.findings.total("client"),
            "endpoint": record.findings.total("endpoint"),
            "sessions": len(record.tracks),
            "leaked": sum(1 for t in record.tracks if t.leaked),
            "internal_errors": record.internal_errors,
        },
        "calls": dict(record.calls),
        "environmental": dict(record.environmental),
        "rules": rules,
        "sessions": [_track(t) for t in record.tracks],
    }


def write_json(record: RunRecord, path: Path) -> Path:
    path.write_text(redact(json.dumps(summary(record), indent=2)) + "\n", encoding="utf-8")
    return path


def write_junit(record: RunRecord, path: Path) -> Path:
    """One test case per rule: failed when the run found it, passed otherwise."""
    kept = record.findings.by_rule()
    # Each text is redacted before it goes in: a regex over serialised XML could swallow markup.
    suite = ET.Element("testsuite", name="ivhsuite proxy", tests=str(len(RULES)), errors="0", skipped="0")
    suite.set("time", f"{record.duration:.3f}")
    failures = 0
    for key, rule in RULES.items():
        case = ET.SubElement(suite, "testcase", classname=f"ivhsuite.proxy.{rule.side}", name=key)
        count = record.findings.counts.get(key, 0)
        if count:
            lines = [redact(_line(f)) for f in kept.get(key, [])]
            if count > len(lines):
                lines.append(f"... and {count - len(lines)} more")
            if rule.advice and not record.strict_advice:  # listed, not failed: the docs only suggest it
                ET.SubElement(case, "system-out").text = f"advice, {count} finding(s):\n" + "\n".join(lines)
                continue
            failures += 1
            failure = ET.SubElement(case, "failure", message=f"{count} finding(s): {rule.description}")
            failure.text = "\n".join(lines)
    suite.set("failures", str(failures))
    text = ET.tostring(suite, encoding="unicode")
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n' + text + "\n", encoding="utf-8")
    return path


def _line(finding: Finding) -> str:
    call = finding.call
    where = f"#{call.seq} {call.label} at {call.at:.2f} s" if call else "(no call)"
    return f"{where}: {finding.line()}"


STYLE = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#111827;background:#f9fafb}
main{max-width:1100px;margin:0 auto;padding:24px}h2{margin-top:32px;border-bottom:1px solid #e5e7eb}
.verdict{padding:16px 20px;border-radius:10px;color:#fff;margin:16px 0;font-size:22px;font-weight:700}
.verdict.green{background:#15803d}.verdict.red{background:#b91c1c}
table{border-collapse:collapse;width:100%;background:#fff;margin:8px 0}
th,td{border:1px solid #e5e7eb;padding:3px 7px;text-align:left;vertical-align:top;font-size:13px}
th{background:#f3f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.client{color:#7c3aed;font-weight:600}.endpoint{color:#b45309;font-weight:600}.pass{color:#15803d}
.chart{background:#fff;border:1px solid #e5e7eb;border-radius:6px;max-width:100%;height:auto}
.tick,.legend{font-size:11px;fill:#4b5563}.axis{stroke:#9ca3af}.text{stroke:#111827;stroke-width:1}
.meta{color:#4b5563}code{font:12px ui-monospace,monospace}
"""


def _e(value: Any) -> str:
    return escape(redact("" if value is None else str(value)))


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _rule_sections(record: RunRecord) -> str:
    kept = record.findings.by_rule()
    parts = []
    for key, found in kept.items():
        rule, count = RULES[key], record.findings.counts[key]
        rows = []
        for finding in found:
            call = finding.call
            rows.append(
                [
                    _e(call.seq if call else ""),
                    _e(f"{call.at:.2f}" if call else ""),
                    _e(call.label if call else ""),
                    f"<code>{_e(finding.session_id)}</code>",
                    _e(finding.user_id),
                    _e(call.peer if call else ""),
                    _e(call.status if call else ""),
                    _e(call.code if call else ""),
                    _e(finding.message),
                ]
            )
        more = f"<p class='meta'>{count - len(found)} more not listed.</p>" if count > len(found) else ""
        parts.append(
            f'<h3 id="rule-{escape(key)}"><span class="{rule.side}">{rule.side}</span> [{escape(key)}]: {count}</h3>'
            f"<p>{_e(rule.description)}</p>"
            + _table(["#", "at (s)", "call", "session", "UserId", "from", "HTTP", "Code", "what"], rows)
            + more
        )
    return "".join(parts) or "<p class='pass'>No finding: every rule held.</p>"


def _rules_overview(record: RunRecord) -> str:
    rows = []
    for key, rule in RULES.items():
        count = record.findings.counts.get(key, 0)
        status = f'<a href="#rule-{escape(key)}">{count}</a>' if count else '<span class="pass">0</span>'
        rows.append([f'<span class="{rule.side}">{rule.side}</span>', f"<code>{escape(key)}</code>", status,
                     _e(rule.description)])  # fmt: skip
    return _table(["side", "rule", "findings", "what it checks"], rows)


def _sessions_table(tracks: list[Track]) -> str:
    def t(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}"

    rows = [
        [
            f"<code>{_e(track.session_id)}</code>",
            _e(track.user_id),
            t(track.created),
            t(track.ready),
            t(track.started),
            _e(track.text_count),
            t(track.ended),
            f'<span style="color:{END_COLORS[end_kind(track)]}">{_e(track.end_reason or "")}</span>',
            t(track.ran()),
        ]
        for track in tracks[:500]
    ]
    headers = ["SessionId", "UserId", "created", "ready", "started", "texts", "ended", "how", "ran (s)"]
    return _table(headers, rows)


MAX_PACING_CHARTS = 24


def _pacing(tracks: list[Track]) -> str:
    """A small chart per audio sequence (the first few): audio sent against time, over the documented band."""
    rules = load_channel_spec().rules.audio
    sequences = [(t, a) for t in tracks for a in t.audio if a.sent][:MAX_PACING_CHARTS]
    if not sequences:
        return ""
    charts = "".join(
        f"<figure style='display:inline-block;margin:4px'>{pacing_svg(a, rules)}"
        f"<figcaption class='meta'>{_e(t.session_id[:12])} frames #{a.first_call}–#{a.last_call}</figcaption></figure>"
        for t, a in sequences
    )
    return "<h3>Audio pacing</h3><p class='meta'>Audio sent against time; dashed: the documented ratios.</p>" + charts


def render_html(record: RunRecord) -> str:
    failing = record.failing()
    verdict = "red" if failing else "green"
    words = f"RED: {failing} finding(s) fail the run (--fail-on {record.fail_on})" if failing else "GREEN"
    command = ""
    if record.command is not None:
        command = f", wrapping <code>{_e(record.command)}</code> (exit {_e(record.command_exit)})"
    environmental = _table(
        ["what", "count"], [[_e(k), f'<span class="num">{v}</span>'] for k, v in record.environmental.items()]
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>ivhsuite proxy: {verdict}</title><style>{STYLE}</style></head><body><main>"
        f"<h1>ivhsuite proxy</h1><p class='meta'>{_e(record.started)}, {record.duration:.1f} s, upstream "
        f"{_e(record.upstream)}{command}; {sum(record.calls.values())} calls, {len(record.tracks)} sessions,"
        f" exit code {record.exit_code}{', stopped by ' + _e(record.stopped_by) if record.stopped_by else ''}</p>"
        f'<div class="verdict {verdict}">{escape(words)}</div>'
        f"<p>{record.findings.total('client')} client finding(s) (the application's use of the API),"
        f" {record.findings.total('endpoint')} endpoint finding(s) (promises the endpoint broke).</p>"
        "<h2>Rules</h2>" + _rules_overview(record) + "<h2>Findings by rule</h2>" + _rule_sections(record)
        + "<h2>Session timeline</h2>" + timeline_svg(record.tracks, record.duration)
        + _sessions_table(record.tracks) + _pacing(record.tracks)
        + "<h2>Environmental (not findings)</h2>"
        + (environmental if record.environmental else "<p class='meta'>none</p>")
        + "</main></body></html>"
    )  # fmt: skip


def write_html(record: RunRecord, path: Path) -> Path:
    """Every value shown went through :func:`_e` (redact, then escape), never the page as a whole."""
    path.write_text(render_html(record), encoding="utf-8")
    return path


def write_all(record: RunRecord, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "json": write_json(record, folder / "summary.json"),
        "junit": write_junit(record, folder / "junit.xml"),
        "html": write_html(record, folder / "index.html"),
    }
