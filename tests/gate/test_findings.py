from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ivhsuite.gate.findings import Finding, format_failures, redact_tree, write_failures
from ivhsuite.junit import merge as merge_junit

FINDING = Finding("reqid-echoed", "schemathesis", "POST /x", "broken promise [reqid-echoed]: …", ("curl -X POST x",))


def test_failures_are_grouped_by_promise_with_their_curl(tmp_path: Path) -> None:
    text = format_failures([FINDING, FINDING])
    assert text.startswith("broken promise [reqid-echoed]: Payload.ReqId echoes the request's ReqId (2 failure(s))")
    assert "reproduce: curl -X POST x" in text
    assert write_failures(tmp_path / "f.txt", []).read_text() == "no broken promise\n"


def test_junit_files_are_merged(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_text('<testsuites><testsuite name="a" tests="2" failures="1"/></testsuites>')
    (tmp_path / "b.xml").write_text('<testsuite name="b" tests="3" failures="0" skipped="1"/>')
    root = ET.parse(merge_junit([tmp_path / "a.xml", tmp_path / "b.xml", tmp_path / "none.xml"], tmp_path / "j.xml"))
    assert [s.get("name") for s in root.getroot()] == ["a", "b"]
    assert root.getroot().get("tests") == "5" and root.getroot().get("failures") == "1"


def test_every_report_is_redacted(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    har = tmp_path / "sub" / "har.json"
    har.write_text('[{"name": "signature", "value": "c2lnbmF0dXJl"}, {"name": "appkey", "value": "ak"}]')
    log = tmp_path / "out.txt"
    log.write_text("GET /x?appkey=ak&signature=abc%2B the-token")
    redact_tree(tmp_path, ["the-token"])
    assert "c2lnbmF0dXJl" not in har.read_text() and '"value": "ak"' in har.read_text()
    assert log.read_text() == "GET /x?appkey=ak&signature=*** ***"


def test_a_scenario_failure_is_a_finding_only_when_it_names_a_promise() -> None:
    from ivhsuite.gate.scenarios.pytest_plugin import findings_of

    text = (
        "E   AssertionError: broken promise [quota]: sessions beyond … — 6 accepted\n"
        "E   reproduce: curl -X POST \"http://h/x?appkey=k&timestamp=1&signature=abc\" -d '{}'\n"
        "E   then broken promise [lifecycle]: later"
    )
    (finding,) = findings_of("t.py::test", text, ("k-secret",))
    assert finding.promise == "quota" and finding.message.startswith("broken promise [quota]")
    assert finding.curl == ("curl -X POST \"http://h/x?appkey=k&timestamp=1&signature=***\" -d '{}'",)
    assert findings_of("t.py::test", "E   httpx.ReadTimeout: timed out") == []
