"""A markdown summary, appended to ``$GITHUB_STEP_SUMMARY`` when GitHub Actions sets it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ivhsuite.redact import redact

ENV_STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


def render(summary: dict[str, Any]) -> str:
    green = summary["verdict"] == "green"
    lines = [f"## ivhsuite verify: {'✅ green' if green else '❌ red'}", ""]
    lines += [f"- {reason}" for reason in summary.get("reasons", [])]
    gate = summary.get("gate") or {}
    if gate:
        lines += ["", f"**Gate**: exit code {gate.get('exit_code')}, {gate.get('requests', 0)} generated requests."]
        for failure in gate.get("failures", [])[:20]:
            lines.append(f"- {failure.get('promise') or failure.get('check')} ({failure.get('operation', '')})")
    rows = [
        f"| {run['scenario']} | {t['name']} | {t.get('limit', '')} | {t.get('actual', '')} | {'pass' if t['passed'] else 'FAIL'} |"
        for run in summary.get("load", [])
        for t in run.get("thresholds", [])
    ]
    if rows:
        lines += ["", "| scenario | threshold | limit | actual | outcome |", "| --- | --- | --- | --- | --- |", *rows]
    return redact("\n".join(lines)) + "\n"


def append_step_summary(summary: dict[str, Any], environ: dict[str, str] | None = None) -> Path | None:
    """Append to the step summary file when running in GitHub Actions; else do nothing."""
    path = (os.environ if environ is None else environ).get(ENV_STEP_SUMMARY)
    if not path:
        return None
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(render(summary))
    return Path(path)
