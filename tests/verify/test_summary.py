"""The verdict and the summary writers, on a typed summary built by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ivhsuite.protocol import ExitCode
from ivhsuite.report import markdown, page
from ivhsuite.summaries import (
    GENERATOR_SCOPE,
    EnvironmentSummary,
    GateFailure,
    GateSummary,
    LoadSummary,
    NetworkRow,
    TargetInfo,
    ThresholdRow,
    VerifySummary,
)
from ivhsuite.verify import reasons, unstable

FAILED = ThresholdRow("preemption", "max_violations", "<=", 0.0, 2.0, "fail")
PASSED = ThresholdRow("operations.createsession", "p95_ms", "<=", 100.0, 3.0, "pass")
REQID = GateFailure(
    promise="reqid-echoed",
    title="Payload.ReqId echoes the request's ReqId",
    operation="POST /createsession",
    message="m",
    reproduce="curl 'x?signature=abc%2B'",
)


def summary(gate: GateSummary, *load: LoadSummary) -> VerifySummary:
    found = VerifySummary(
        started="now",
        duration_s=1.0,
        profile="smoke",
        target=TargetInfo(base_url="", embedded=True, signed=False, project_id="p"),
        gate=gate,
        load=list(load),
    )
    found.reasons = reasons(gate, found.load)
    return found


def test_reasons_name_each_broken_promise_once_and_each_failed_threshold() -> None:
    gate = GateSummary(exit_code=ExitCode.FAILED, failures=[REQID, REQID])
    load = LoadSummary("preemption", ExitCode.FAILED, "load-preemption", [FAILED, PASSED])
    assert reasons(gate, [load]) == [
        "gate: broken promise: Payload.ReqId echoes the request's ReqId",
        "load preemption: threshold preemption.max_violations failed (2 vs ≤ 0)",
    ]


def test_a_gate_that_could_not_judge_or_was_interrupted_is_red_without_a_failure() -> None:
    for code in (ExitCode.USAGE, ExitCode.INTERRUPTED):
        found = reasons(GateSummary(exit_code=code), [])
        assert found == [f"gate: exit code {int(code)}, see gate/gate.log"]


def test_a_load_run_that_failed_with_every_threshold_passed_is_still_red() -> None:
    load = LoadSummary("create", ExitCode.FAILED, "load-create", [PASSED])
    assert reasons(GateSummary(exit_code=ExitCode.OK), [load]) == [
        "load create: exit code 1, see load-create/locust.log"
    ]


def test_all_green_has_no_reason() -> None:
    load = LoadSummary("create", ExitCode.OK, "load-create", [PASSED])
    found = summary(GateSummary(exit_code=ExitCode.OK), load)
    assert found.reasons == [] and found.verdict == "green"


def test_json_has_the_verdict_and_the_promise_key_beside_its_title() -> None:
    found = summary(GateSummary(exit_code=ExitCode.FAILED, failures=[REQID]))
    data = json.loads(found.to_json())
    assert data["verdict"] == "red"
    assert data["gate"]["failures"][0]["promise"] == "reqid-echoed"
    assert data["gate"]["failures"][0]["title"].startswith("Payload.ReqId")


def test_step_summary_is_appended_only_under_github_actions(tmp_path: Path) -> None:
    data = summary(GateSummary(exit_code=ExitCode.OK), LoadSummary("preemption", 1, "load-preemption", [FAILED]))
    assert markdown.append_step_summary(data, environ={}) is None
    target = tmp_path / "step.md"
    target.write_text("earlier\n")
    markdown.append_step_summary(data, environ={"GITHUB_STEP_SUMMARY": str(target)})
    text = target.read_text()
    assert text.startswith("earlier\n") and "❌ red" in text and "| preemption | preemption.max_violations |" in text


def test_html_is_self_contained_and_redacted() -> None:
    page_text = page.render(summary(GateSummary(exit_code=ExitCode.FAILED, failures=[REQID])))
    assert "RED" in page_text and "signature=***" in page_text and "abc%2B" not in page_text
    assert "<script" not in page_text
    assert "http" not in re.sub(r'xmlns(?::\w+)?="http://www\.w3\.org/[^"]*"', "", page_text)


def _unstable_network() -> EnvironmentSummary:
    rows = [NetworkRow("createsession", requests=20, faults={"reset": 3, "HTTP 502 page": 1}, retries=0, unanswered=4)]
    return EnvironmentSummary(rows=rows, tolerance=0.05, swept=2)


def test_too_unstable_to_judge_is_its_own_verdict_and_a_broken_promise_still_wins() -> None:
    load = LoadSummary("lifecycle", ExitCode.UNSTABLE, "load-lifecycle", [PASSED], environment=_unstable_network())
    found = summary(GateSummary(exit_code=ExitCode.OK), load)
    found.unstable = unstable(found.gate, found.load)
    assert found.verdict == "unstable" and not found.green and found.reasons == []
    assert found.unstable == [
        "load lifecycle: the endpoint was too unstable to judge: 20.0% of requests got no answer after the safe"
        " retries (tolerance 5.0%, --max-transport-errors)"
    ]
    html = page.render(found)
    assert 'class="verdict unstable"' in html and "UNSTABLE: the network" in html
    assert "3 resets, 1 HTTP 502 from a gateway in 20 requests" in html
    assert "2 sessions whose create answer was lost" in html
    assert "⚠️ unstable" in markdown.render(found)

    red = summary(GateSummary(exit_code=ExitCode.FAILED, failures=[REQID]), load)
    red.unstable = unstable(red.gate, red.load)
    assert red.verdict == "red"
    assert json.loads(red.to_json())["load"][0]["environment"]["rows"][0]["unanswered"] == 4


def test_a_generator_behind_its_pace_is_unstable_not_red() -> None:
    lag = ThresholdRow(GENERATOR_SCOPE, "p99_ms", "<=", 120.0, 300.0, "fail")
    run = LoadSummary("conversation", ExitCode.UNSTABLE, "load-conversation", [lag])
    gate = GateSummary(exit_code=ExitCode.OK)
    assert reasons(gate, [run]) == []
    assert unstable(gate, [run]) == [
        "load conversation: the load generator fell behind the documented pace "
        "(channel.audio send lag.p99_ms 300 ms vs ≤ 120 ms): short of CPU"
    ]
