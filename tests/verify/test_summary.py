"""The verdict and the summary writers, on a summary built by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
