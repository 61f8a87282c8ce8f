"""Every cold session is a chance: the first create meeting status 3 checks "no start while preparing", once per Protocol."""

from __future__ import annotations

from typing import Any

import pytest

from ivhsuite.emulator import EmulatorSettings, serve_in_thread
from ivhsuite.gate.cold_start import ColdStarts
from ivhsuite.protocol import Answer, Code

from .conftest import PROJECT, answer, live_sessions, run_gate_process


class Endpoint:
    """startsession and statsession of one session, as scripted; counts what was sent."""

    def __init__(self, start: Answer, status: int) -> None:
        self.start, self.status, self.sent = start, status, []

    def __call__(self, operation: str, payload: dict[str, Any]) -> tuple[Answer, str]:
        self.sent.append(operation)
        if operation == "startsession":
            return self.start, f"curl {operation}"
        return answer(SessionStatus=self.status), f"curl {operation}"


def test_a_refused_start_on_a_preparing_session_holds_and_the_protocol_is_done() -> None:
    cold = ColdStarts()
    verdict = cold.seize("s1", "trtc", Endpoint(answer(Code.SESSION_NOT_READY), 3), "generated")
    assert verdict is not None and verdict.held
    assert not cold.wanted("trtc") and cold.wanted("rtmp")
    assert cold.seize("s2", "trtc", Endpoint(answer(), 3), "generated") is None  # once per Protocol


def test_a_start_accepted_while_still_preparing_breaks_the_promise_with_its_curl_lines() -> None:
    cold = ColdStarts()
    verdict = cold.seize("s1", "rtmp", Endpoint(answer(), 3), "scenarios")
    assert verdict is not None and not verdict.held and verdict.promise == "start-after-ready"
    assert verdict.curl == ("curl startsession", "curl statsession")


def test_no_verdict_when_the_session_turned_ready_or_closed_first() -> None:
    cold = ColdStarts()
    assert cold.seize("ready", "rtmp", Endpoint(answer(), 1), "generated") is None
    assert cold.started_ready == {"ready"}  # the caller knows its session got started
    assert cold.seize("gone", "rtmp", Endpoint(answer(Code.PREEMPTED), 2), "generated") is None  # preempted meanwhile
    assert cold.wanted("rtmp")


def test_a_verdict_no_scenario_claimed_is_settled_as_a_finding_or_an_observation() -> None:
    cold = ColdStarts()
    cold.seize("s1", "rtmp", Endpoint(answer(), 3), "generated")
    cold.seize("s2", "trtc", Endpoint(answer(Code.SESSION_NOT_READY), 3), "generated")
    cold.missed("trtc", "test_sessions.py::test_start_refused_while_preparing[trtc]")
    findings: list[Any] = []
    observations = {"not-run:test_sessions.py::test_start_refused_while_preparing[trtc]": "no cold session"}
    cold.settle(findings, observations)
    assert [(f.promise, f.source) for f in findings] == [("start-after-ready", "generated")]
    assert list(observations) == ["cold-start:trtc"]  # the skip is replaced by the later verdict


def test_a_claimed_verdict_is_the_scenarios_to_report() -> None:
    cold = ColdStarts()
    cold.seize("s1", "rtmp", Endpoint(answer(), 3), "scenarios")
    assert cold.claim("rtmp") is not None
    findings: list[Any] = []
    cold.settle(findings, {})
    assert findings == []


@pytest.mark.slow
def test_the_gate_fails_an_endpoint_starting_preparing_sessions_behind_a_warm_protocol_cache(tmp_path: Any) -> None:
    """The issue's endpoint: a 30 s per-(project, Protocol) model cache, the generated half at once (quota 5: parts)."""
    settings = EmulatorSettings(
        project_ids=(PROJECT,),
        quota=5,
        prepare_seconds=2.0,
        faults=frozenset({"start-before-ready"}),
        choices={"model-cache": "protocol", "model-cache-seconds": 30},
    )
    with serve_in_thread(settings) as running:
        done = run_gate_process(
            "--base-url", running.base_url, "--quota", "5", "--report-dir", str(tmp_path),
            "--max-examples", "1", "--seed", "3", "--phases", "stateful",
        )  # fmt: skip
        assert live_sessions(running) == []
    assert done.returncode == 1, done.stdout[-3000:]
    assert "✗ broken promise [start-after-ready]" in done.stdout
    assert "test_start_refused_while_preparing[rtmp]" in done.stdout
