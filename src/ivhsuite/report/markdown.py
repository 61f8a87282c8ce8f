"""A markdown summary, appended to ``$GITHUB_STEP_SUMMARY`` when GitHub Actions sets it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ivhsuite import environmental
from ivhsuite.config import ENV_STEP_SUMMARY
from ivhsuite.redact import redact
from ivhsuite.report import limits
from ivhsuite.summaries import GateSummary, VerifySummary


def render(summary: VerifySummary) -> str:
    word = {"green": "✅ green", "red": "❌ red", "unstable": "⚠️ unstable (the network)"}[summary.verdict]
    lines = [f"## ivhsuite verify: {word}", ""]
    lines += [f"- {reason}" for reason in [*summary.reasons, *summary.unstable]]
    lines += [f"- network, gate: {environmental.describe(summary.gate.environment)}"]
    lines += [f"- network, load {run.scenario}: {environmental.describe(run.environment)}" for run in summary.load]
    gate = summary.gate
    lines += [
        "",
        f"**Gate**: exit code {gate.exit_code}, {gate.requests} generated requests,"
        f" {gate.scenario_requests} by scenarios.",
    ]
    if gate.sessions.allowed:
        lines.append(f"{gate.sessions.words()}.")
    for failure in gate.failures[:20]:
        lines.append(f"- {failure.title} [{failure.promise}] ({failure.operation})")
    lines += contract(gate)
    if summary.load:
        lines += [
            "",
            "**Load thresholds**: "
            + "; ".join(f"{run.scenario}: {limits.counts(run.thresholds)}" for run in summary.load),
        ]
    rows = [
        f"| {run.scenario} | {t.name} | {limits.limit_text(t)} | {limits.actual_text(t)} | FAIL |"
        for run in summary.load
        for t in run.failed_thresholds
    ]
    if rows:
        lines += ["", "| scenario | threshold | limit | actual | outcome |", "| --- | --- | --- | --- | --- |", *rows]
    return redact("\n".join(lines)) + "\n"


MAX_NAMED = 3  # a promise checked on more operations than this says how many


def contract(gate: GateSummary) -> list[str]:
    """The contract at a glance, compact: per promise how often it was checked and failed, on which operations, or why not."""
    if not gate.promises:
        return []
    rows = sorted(gate.promises, key=lambda r: (not r.failures, not r.times))
    lines = ["", "| promise | checked | failed | where, or why not checked |", "| --- | --- | --- | --- |"]
    for row in rows:
        if not row.times:
            where = f"not checked: {row.why_not or 'no request of this run exercised it'}"
        elif len(row.checked) > MAX_NAMED:
            where = f"{len(row.checked)} operations"
        else:
            where = ", ".join(f"{op} ({n})" for op, n in row.checked.items())
        if row.failed:
            where += "; failed on " + ", ".join(f"{op} ({n})" for op, n in row.failed.items())
        failed = f"**{row.failures}**" if row.failures else "0"
        lines.append(f"| `{row.promise}` | {row.times} | {failed} | {where.replace('|', '/')} |")
    return lines


def append_step_summary(summary: VerifySummary, environ: Mapping[str, str] | None = None) -> Path | None:
    """Append to the step summary file when running in GitHub Actions; else do nothing."""
    path = (os.environ if environ is None else environ).get(ENV_STEP_SUMMARY)
    if not path:
        return None
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(render(summary))
    return Path(path)
