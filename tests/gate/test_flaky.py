"""The gate against a faithful emulator behind a flaky network: no broken promise, the faults named, nothing left live."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivhsuite.emulator import EmulatorSettings, RunningEmulator, serve_in_thread
from ivhsuite.protocol import ExitCode

from .conftest import PROJECT, live_sessions, run_gate_process

pytestmark = pytest.mark.slow

# 2% resets before the emulator acts, 2% gateway 502 pages, 2% answers lost after it acted.
FLAKY = (
    "reset_peer:when=before,toxicity=0.02",
    "gateway_error:status=502,toxicity=0.02",
    "reset_peer:when=after,toxicity=0.02",
)


@pytest.fixture
def flaky() -> Iterator[RunningEmulator]:
    with serve_in_thread(EmulatorSettings(project_ids=(PROJECT,), quota=5, toxics=FLAKY, seed=11)) as running:
        yield running


def test_the_gate_names_the_network_and_finds_no_broken_promise(flaky: RunningEmulator, tmp_path: Path) -> None:
    done = run_gate_process("--base-url", flaky.base_url, "--max-examples", "15", "--seed", "5", "--report-dir", str(tmp_path))
    output = done.stdout + done.stderr
    assert done.returncode in (ExitCode.OK, ExitCode.UNSTABLE), output[-4000:]
    assert "broken promise" not in output, output[-4000:]
    assert "Traceback" not in output
    assert "endpoint unstable:" in output and "reset" in output and "HTTP 502 from a gateway" in output
    assert (tmp_path / "failures.txt").read_text() == "no broken promise\n"
    assert live_sessions(flaky) == []
    suite = next(s for s in ET.parse(tmp_path / "junit.xml").getroot() if s.get("name") == "ivhsuite network")
    assert {case.get("name") for case in suite} >= {"createsession", "statsession", "tolerance"}


def test_too_many_lost_answers_is_unstable_not_broken(tmp_path: Path) -> None:
    lossy = ("reset_peer:when=after,toxicity=0.25",)
    settings = EmulatorSettings(project_ids=(PROJECT,), quota=5, toxics=lossy, seed=3)
    with serve_in_thread(settings) as running:
        done = run_gate_process(
            "--base-url", running.base_url, "--max-examples", "5", "--only", "scenarios",
            "--max-transport-errors", "1%", "--report-dir", str(tmp_path),
        )  # fmt: skip
        output = done.stdout + done.stderr
        assert done.returncode == ExitCode.UNSTABLE, output[-4000:]
        assert "too unstable to judge" in output and "Traceback" not in output
        assert live_sessions(running) == []
    error = ET.parse(tmp_path / "network-junit.xml").getroot().find("testcase[@name='tolerance']/error")
    assert error is not None and error.get("type") == "EndpointUnstable"
