"""Ctrl-C (and a CI cancel's SIGTERM) mid-run: the gate still closes every session it opened."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ivhsuite.emulator import RunningEmulator

from .conftest import gate_command, gate_env, live_sessions

pytestmark = pytest.mark.slow
WAIT_FOR_SESSIONS = 120.0


def _interrupt_when_sessions_are_live(running: RunningEmulator, argv: list[str], signum: int) -> int:
    process = subprocess.Popen(argv, env=gate_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + WAIT_FOR_SESSIONS
        while not live_sessions(running):
            assert process.poll() is None, "the gate ended before it opened a session"
            assert time.monotonic() < deadline, "the gate opened no session in time"
            time.sleep(0.05)
        process.send_signal(signum)
        process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode


@pytest.mark.parametrize(
    ("half", "signum"),
    [
        ("schemathesis", signal.SIGINT),
        ("schemathesis", signal.SIGTERM),
        ("scenarios", signal.SIGINT),
        ("scenarios", signal.SIGTERM),
    ],
    ids=["sigint-generated", "sigterm-generated", "sigint-scenarios", "sigterm-scenarios"],
)
def test_interrupted_gate_leaves_no_live_session(
    emulator: Callable[..., RunningEmulator], tmp_path: Path, half: str, signum: int
) -> None:
    running = emulator(quota=5)
    argv = gate_command("--base-url", running.base_url, "--only", half, "--report-dir", str(tmp_path))
    code = _interrupt_when_sessions_are_live(running, argv, signum)
    assert code == (143 if signum == signal.SIGTERM else 130)
    assert live_sessions(running) == []
