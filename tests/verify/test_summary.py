"""The verdict and the summary writers, on a summary built by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ivhsuite.report import html, markdown
from ivhsuite.verify import reasons


def summary(**gate: Any) -> dict[str, Any]:
    thresholds = [{"name": "preemption.max_violations", "limit": "<= 0", "actual": 2, "passed": False}]
    return {
        "verdict": "red",
        "gate": {"exit_code": 0, "failures": [], "checks": [], **gate},
        "load": [{"scenario": "preemption", "exit_code": 1, "folder": "load-preemption", "thresholds": thresholds}],
    }


def test_reasons_name_each_broken_promise_once_and_each_failed_threshold() -> None:
    failure = {"promise": "Payload.ReqId echoes the request's", "check": "reqid"}
    found = reasons(summary(exit_code=1, failures=[failure, failure]))
    assert found == [
        "gate: broken promise: Payload.ReqId echoes the request's",
        "load preemption: threshold preemption.max_violations failed (2 vs <= 0)",
    ]


def green_summary(gate_exit: int = 0, load_exit: int = 0) -> dict[str, Any]:
    """Nothing broken anywhere: every threshold passed, no failure listed; only the exit codes vary."""
    passed = [{"name": "create.max_failure_ratio", "limit": "<= 0.01", "actual": 0.0, "passed": True}]
    run = {"scenario": "create", "exit_code": load_exit, "folder": "load-create", "thresholds": passed}
    return {"gate": {"exit_code": gate_exit, "failures": [], "checks": []}, "load": [run]}


def test_a_clean_run_has_no_reason_to_be_red() -> None:
    assert reasons(green_summary()) == []


@pytest.mark.parametrize("gate_exit", [1, 2, 130], ids=["no-finding", "could-not-judge", "interrupted"])
def test_a_gate_exit_without_a_listed_failure_still_turns_red(gate_exit: int) -> None:
    assert reasons(green_summary(gate_exit=gate_exit)) == [f"gate: exit code {gate_exit}, see gate/gate.log"]


@pytest.mark.parametrize("load_exit", [1, 2], ids=["failed", "error"])
def test_a_load_exit_with_every_threshold_passed_still_turns_red(load_exit: int) -> None:
    found = reasons(green_summary(load_exit=load_exit))
    assert found == [f"load create: exit code {load_exit}, see load-create/locust.log"]


def test_step_summary_is_appended_only_under_github_actions(tmp_path: Path) -> None:
    data = summary()
    data["reasons"] = reasons(data)
    assert markdown.append_step_summary(data, environ={}) is None
    target = tmp_path / "step.md"
    target.write_text("earlier\n")
    markdown.append_step_summary(data, environ={"GITHUB_STEP_SUMMARY": str(target)})
    text = target.read_text()
    assert text.startswith("earlier\n") and "❌ red" in text and "| preemption | preemption.max_violations |" in text


def test_html_is_self_contained_and_redacted() -> None:
    data = summary(failures=[{"promise": "p", "operation": "o", "message": "m", "reproduce": "curl 'x?signature=abc%2B'"}])
    data.update(reasons=reasons(data), started="now", duration_s=1.0, profile="smoke", target={"embedded": True})
    page = html.render(data)
    assert "RED" in page and "signature=***" in page and "abc%2B" not in page
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
