"""A markdown summary, appended to ``$GITHUB_STEP_SUMMARY`` when GitHub Actions sets it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ivhsuite import environmental
from ivhsuite.config import ENV_STEP_SUMMARY
from ivhsuite.redact import redact
from ivhsuite.report import limits
from ivhsuite.summaries import VerifySummary


def render(summary: VerifySummary) -> str:
    word = {"green": "✅ green", "red": "❌ red", "unstable": "⚠️ unstable (the network)"}[summary.verdict]
    lines = [f"## ivhsuite verify: {word}", ""]
    lines += [f"- {reason}" for reason in [*summary.reasons, *summary.unstable]]
    lines += [f"- network, gate: {environmental.describe(summary.gate.environment)}"]
    lines += [f"- network, load {run.scenario}: {environmental.describe(run.environment)}" for run in summary.load]
    gate = summary.gate
    lines += ["", f"**Gate**: exit code {gate.exit_code}, {gate.requests} generated requests."]
    if gate.sessions.allowed:
        lines.append(f"{gate.sessions.words()}.")
    for failure in gate.failures[:20]:
        lines.append(f"- {failure.title} [{failure.promise}] ({failure.operation})")
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


def append_step_summary(summary: VerifySummary, environ: Mapping[str, str] | None = None) -> Path | None:
    """Append to the step summary file when running in GitHub Actions; else do nothing."""
    path = (os.environ if environ is None else environ).get(ENV_STEP_SUMMARY)
    if not path:
        return None
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(render(summary))
    return Path(path)
