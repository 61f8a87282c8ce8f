"""The writers: JSON summary, JUnit per rule, self-contained HTML with the session timeline."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from ivhsuite.proxy.findings import RULES, Call, Finding, Findings
from ivhsuite.proxy.report import RunRecord, write_all, write_junit
from ivhsuite.proxy.rules import Policy, Tracker

SECRET_SIG = "QVenICk0VHtHGYZKXM6IC%2BW1CjZC1joSr%2Fx0gfKKYT4%3D"


def record(fail_on: str = "any") -> RunRecord:
    tracker = Tracker(Policy())
    findings = Findings()
    create = Call(1, 0.0, "POST", "/createsession", "createsession", "127.0.0.1:1")
    tracker.request(create, {"VirtualmanProjectId": "p", "UserId": "alice"}, 0.0)
    tracker.answer(create, 0, {"SessionId": "s-leaky", "SessionStatus": 3}, 0.1)
    closed = Call(2, 0.2, "POST", "/createsession", "createsession", "127.0.0.1:1")
    tracker.request(closed, {"VirtualmanProjectId": "p", "UserId": "bob"}, 0.2)
    tracker.answer(closed, 0, {"SessionId": "s-closed", "SessionStatus": 1}, 0.3)
    start = Call(3, 0.4, "POST", "/startsession", "startsession", "127.0.0.1:1")
    tracker.request(start, {"SessionId": "s-closed"}, 0.4)
    tracker.answer(start, 0, {}, 0.5)
    text = Call(4, 0.6, "POST", "/command", "command", "127.0.0.1:1")
    tracker.request(text, {"SessionId": "s-closed"}, 0.6)
    tracker.answer(text, 0, {}, 0.7)
    close = Call(5, 1.0, "POST", "/closesession", "closesession", "127.0.0.1:1")
    tracker.request(close, {"SessionId": "s-closed"}, 1.0)
    tracker.answer(close, 0, {}, 1.1)
    schema = Call(6, 1.2, "POST", "/statsession", "statsession", "127.0.0.1:1", status=200, code=100001)
    findings.add([Finding("request-schema", f"Payload.ReqId: bad; signature={SECRET_SIG}", schema)])
    findings.add([Finding("response-schema", "statsession error answer: Header.Message: 1 is not a string", schema)])
    findings.add(tracker.finish(5.0, "the application stopped"))
    return RunRecord(
        started="2026-11-25T00:00:00+00:00",
        duration=5.0,
        upstream="the embedded emulator",
        fail_on=fail_on,
        policy=Policy(),
        findings=findings,
        tracks=tracker.tracks(),
        calls=Counter({"createsession": 2, "statsession": 1}),
        environmental=Counter({"code 100008": 2}),
        command="pytest -x",
        command_exit=0,
        exit_code=1,
    )


@pytest.fixture
def written(tmp_path: Path) -> dict[str, Path]:
    return write_all(record(), tmp_path)


def test_json_summary_groups_findings_by_rule(written: dict[str, Path]) -> None:
    summary = json.loads(written["json"].read_text())
    assert summary["verdict"] == "red" and summary["exit_code"] == 1
    assert summary["counts"] == {
        "calls": 3,
        "client": 2,
        "endpoint": 1,
        "sessions": 2,
        "leaked": 1,
        "internal_errors": 0,
    }
    by_rule = {item["rule"]: item for item in summary["rules"]}
    assert set(by_rule) == set(RULES)
    leak = by_rule["session-leaked"]["findings"][0]
    assert (leak["session_id"], leak["user_id"], leak["operation"]) == ("s-leaky", "alice", "createsession")
    sessions = {s["session_id"]: s for s in summary["sessions"]}
    assert sessions["s-closed"]["end_reason"] == "closed" and sessions["s-closed"]["texts"] == 1
    assert sessions["s-leaky"]["leaked"] and sessions["s-leaky"]["ran_s"] == pytest.approx(4.9)
    assert summary["environmental"] == {"code 100008": 2}


def test_junit_has_one_case_per_rule_failed_where_found(written: dict[str, Path]) -> None:
    suite = ET.parse(written["junit"]).getroot()
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == set(RULES) and suite.get("tests") == str(len(RULES))
    failed = {name for name, case in cases.items() if case.find("failure") is not None}
    assert failed == {"request-schema", "response-schema", "session-leaked"}
    assert suite.get("failures") == "3"
    assert cases["session-leaked"].get("classname") == "ivhsuite.proxy.client"
    assert cases["response-schema"].get("classname") == "ivhsuite.proxy.endpoint"
    assert "s-leaky" in (cases["session-leaked"].find("failure").text or "")  # type: ignore[union-attr]


def test_html_is_self_contained_with_a_timeline(written: dict[str, Path]) -> None:
    html = written["html"].read_text()
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "nothing is fetched: the report opens offline"
    assert 'class="verdict red"' in html
    assert 'id="rule-session-leaked"' in html and 'id="rule-response-schema"' in html
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "Session timeline (2 of 2 sessions)" in svg
    assert svg.count("<circle") == 2, "one end mark per session"
    assert "s-leaky: leaked" in svg and "s-closed: closed" in svg


def test_no_secret_survives_in_any_report(written: dict[str, Path]) -> None:
    for path in written.values():
        text = path.read_text()
        assert SECRET_SIG not in text and "signature=***" in text, path.name
    html = written["html"].read_text()
    assert html.count("<td>") == html.count("</td>"), "redaction never swallows markup"
    ET.parse(written["junit"])


def test_the_verdict_follows_fail_on(tmp_path: Path) -> None:
    assert record("endpoint").failing() == 1
    assert record("client").failing() == 2
    green = record("endpoint")
    green.findings = Findings()
    write_all(green, tmp_path)
    assert json.loads((tmp_path / "summary.json").read_text())["verdict"] == "green"
    assert "No finding: every rule held." in (tmp_path / "index.html").read_text()


def test_advice_is_listed_in_junit_and_fails_only_when_strict(tmp_path: Path) -> None:
    advised = record("client")
    poll = Call(7, 2.0, "POST", "/statsession", "statsession", "127.0.0.1:1")
    advised.findings.add([Finding("stat-poll-rate", "statsession 0.20 s after the previous one", poll)])
    for strict in (False, True):
        advised.strict_advice = strict
        suite = ET.parse(write_junit(advised, tmp_path / f"junit-{strict}.xml")).getroot()
        case = next(c for c in suite.iter("testcase") if c.get("name") == "stat-poll-rate")
        assert (case.find("failure") is not None) is strict
        assert strict or "advice, 1 finding(s)" in (case.findtext("system-out") or "")
    assert RULES["stat-poll-rate"].advice and "ADVICE [stat-poll-rate]" in Finding("stat-poll-rate", "x", poll).line()
