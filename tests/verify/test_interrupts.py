"""SIGINT and SIGTERM during each phase of `ivhsuite verify`: every session closed, then exit 130 or 143."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivhsuite.config import DEFAULT_PROJECT_ID
from ivhsuite.emulator import EmulatorSettings, RunningEmulator, serve_in_thread
from ivhsuite.protocol import ExitCode

pytestmark = pytest.mark.slow

PHASES = ["contract gate", "load: create", "load: preemption", "load: lifecycle"]
WAIT = 180.0


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_in_thread(EmulatorSettings(quota=20)) as running:
        yield running


def _live(emulator: RunningEmulator) -> list[str]:
    return [s.session_id for s in emulator.app.state.store.sessions(DEFAULT_PROJECT_ID)]


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        into.put(line)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
@pytest.mark.parametrize("phase", PHASES)
def test_a_signal_in_any_phase_closes_every_session_then_exits(
    emulator: RunningEmulator, tmp_path: Path, phase: str, signum: int
) -> None:
    command = [sys.executable, "-m", "ivhsuite.cli", "verify", "--base-url", emulator.base_url]
    command += ["--report-dir", str(tmp_path), "--profile", "smoke", "--max-examples", "3", "--load-seconds", "10"]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("IVH_")}, "CI": "true"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, seen), daemon=True).start()
    output: list[str] = []
    try:
        deadline = time.monotonic() + WAIT
        while not any(f"{phase}: started" in line for line in output):
            assert process.poll() is None, "verify ended before the phase: " + "".join(output)[-3000:]
            assert time.monotonic() < deadline, f"{phase} did not start in time"
            with contextlib.suppress(queue.Empty):
                output.append(seen.get(timeout=0.5))
        while not _live(emulator):
            assert process.poll() is None, "verify ended before it opened a session: " + "".join(output)[-3000:]
            assert time.monotonic() < deadline, f"{phase} opened no session in time"
            time.sleep(0.05)
        process.send_signal(signum)
        code = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    while not seen.empty():
        output.append(seen.get())
    text = "".join(output)
    assert code == (ExitCode.TERMINATED if signum == signal.SIGTERM else ExitCode.INTERRUPTED), text[-3000:]
    assert _live(emulator) == [], text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    later = PHASES[PHASES.index(phase) + 1 :]
    assert not any(f"{step}: started" in text for step in later), "a phase ran after the signal"
