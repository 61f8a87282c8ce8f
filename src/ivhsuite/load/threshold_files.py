"""Threshold verdicts for people and tools: the end-of-run table, JUnit XML for CI, JSON. Never drive the run."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict
from pathlib import Path

from ivhsuite.load import thresholds as th
from ivhsuite.load.thresholds import StatsSnapshot, Verdict
from ivhsuite.redact import redact

JUNIT_NAME = "thresholds.xml"
JSON_NAME = "thresholds.json"


def write_junit(verdicts: list[Verdict], path: Path, suite: str = "ivhsuite load thresholds") -> Path:
    """One testcase per threshold: failed thresholds are failures, ones without data are skipped."""
    root = ET.Element(
        "testsuite",
        name=suite,
        tests=str(len(verdicts)),
        failures=str(sum(v.failed for v in verdicts)),
        skipped=str(sum(v.status == "skip" for v in verdicts)),
        errors="0",
    )
    for verdict in verdicts:
        case = ET.SubElement(
            root,
            "testcase",
            classname=f"thresholds.{verdict.rule.scope}",
            name=f"{verdict.rule.metric} {verdict.rule.describe()}",
        )
        message = redact(f"actual {_num(verdict.actual)}, limit {verdict.rule.describe()}. {verdict.detail}".strip())
        if verdict.failed:
            ET.SubElement(case, "failure", message=message, type="ThresholdFailed").text = message
        elif verdict.status == "skip":
            ET.SubElement(case, "skipped", message=verdict.detail or "no data")
    tree = ET.ElementTree(root)
    ET.indent(tree)
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path


def write_json(verdicts: list[Verdict], snap: StatsSnapshot, path: Path, source: str = "") -> Path:
    document = {
        "passed": not any(v.failed for v in verdicts),
        "thresholds_file": source,
        "duration_s": round(snap.duration_s, 3),
        "live_sessions_left": snap.live_sessions_left,
        "thresholds": [
            {
                "name": v.rule.name,
                "scope": v.rule.scope,
                "metric": v.rule.metric,
                "limit": v.rule.limit,
                "comparison": ">=" if v.rule.is_minimum else "<=",
                "actual": v.actual,
                "status": v.status,
                "detail": v.detail,
            }
            for v in verdicts
        ],
        "entries": [asdict(e) for e in snap.entries],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact(json.dumps(document, indent=2)) + "\n", encoding="utf-8")
    return path


def table(verdicts: list[Verdict], source: str = "") -> str:
    """The end-of-run table, one line per threshold, failures first."""
    ordered = sorted(verdicts, key=lambda v: (v.status != "fail", v.rule.name))
    width = max([len(v.rule.name) for v in ordered] + [9])
    lines = [
        f"Thresholds ({source})" if source else "Thresholds",
        f"  {'status':6}  {'threshold':{width}}  limit       actual",
    ]
    for v in ordered:
        actual = th.fmt(v.actual) + (f"  ({v.detail})" if v.detail else "")
        lines.append(f"  {v.status.upper():6}  {v.rule.name:{width}}  {v.rule.describe():10}  {actual}")
    failed = sum(v.failed for v in verdicts)
    skipped = sum(v.status == "skip" for v in verdicts)
    lines.append(f"  {len(verdicts) - failed - skipped} passed, {failed} failed, {skipped} skipped")
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
