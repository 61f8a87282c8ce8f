"""The JUnit XML and JSON writers of threshold verdicts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from ivhsuite.load import threshold_files
from ivhsuite.load import thresholds as th
from ivhsuite.load.thresholds import EntrySnapshot, StatsSnapshot

SNAP = StatsSnapshot(
    (
        EntrySnapshot("IVH", th.PREEMPTION_VIOLATION, 1, 1),
        EntrySnapshot("POST", "createsession", 10, 0, p95=3.0),
    ),
    5.0,
    0,
)
RULES = th.parse({"operations": {"command": {"p95_ms": 1}, "createsession": {"p95_ms": 10}}})


def test_junit_has_one_testcase_per_threshold(tmp_path: Path) -> None:
    verdicts = th.evaluate(RULES, SNAP)
    path = threshold_files.write_junit(verdicts, tmp_path / "t.xml")
    suite = ET.parse(path).getroot()
    assert suite.tag == "testsuite"
    assert suite.get("tests") == str(len(verdicts)) == str(len(suite.findall("testcase")))
    assert suite.get("failures") == "1" and suite.get("skipped") == "1"
    failed = [c for c in suite.findall("testcase") if c.find("failure") is not None]
    assert failed[0].get("classname") == "thresholds.preemption"
    assert "actual 1" in failed[0].find("failure").get("message")


def test_json_says_whether_the_run_passed(tmp_path: Path) -> None:
    verdicts = th.evaluate(RULES, SNAP)
    document = json.loads(threshold_files.write_json(verdicts, SNAP, tmp_path / "t.json", "f.toml").read_text())
    assert document["passed"] is False
    assert document["live_sessions_left"] == 0
    by_name = {t["name"]: t for t in document["thresholds"]}
    assert by_name["preemption.max_violations"]["status"] == "fail"
    assert by_name["operations.command.p95_ms"]["status"] == "skip"
    assert {e["name"] for e in document["entries"]} == {th.PREEMPTION_VIOLATION, "createsession"}
