"""``ivhsuite verify``'s exit codes 2 and 130 (0 and 1 are in test_verify.py).

2: a usage problem or a gate that could not judge, said in one line, before any load runs.
130: Ctrl-C, after every session of the run is closed, and no load run starts after it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ivhsuite.cli import main
from ivhsuite.emulator import EmulatorSettings, RunningEmulator, serve_in_thread

PROJECT = "verify-exit-project"
WAIT_FOR_SESSIONS = 120.0
WAIT_FOR_CLEANUP = 60.0


def verify_command(report_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "ivhsuite.cli", "verify", "--report-dir", str(report_dir), *args]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVH_") and k != "PYTEST_ADDOPTS"}
    return {**env, "IVH_PROJECT_ID": PROJECT, **extra}


def live_sessions(running: RunningEmulator, prefix: str = "") -> list[str]:
    return [s.session_id for s in running.app.state.store.sessions(PROJECT) if s.user_id.startswith(prefix)]


@pytest.mark.timeout(30)  # a flag value taken for "unset" would start a whole verification
@pytest.mark.parametrize("flag", ["--load-seconds", "--max-examples"])
@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_bad_flag_value_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    assert main(["verify", "--report-dir", str(tmp_path / "r"), flag, value]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == ["ivhsuite: error: --max-examples and --load-seconds must be at least 1"]


def test_a_gate_that_cannot_judge_is_exit_2_before_any_load(tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text('workers = "many"\n')  # schemathesis refuses it, and pytest its plugin: both halves error
    env = clean_env(IVH_SCHEMATHESIS_CONFIG=str(config), PYTEST_ADDOPTS="-p no_such_plugin")
    report = tmp_path / "report"
    command = verify_command(report, "--profile", "smoke", "--max-examples", "1", "--load-seconds", "1")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("ivhsuite: error:")]
    assert errors == ["ivhsuite: error: the gate could not run: see gate/gate.log"]
    assert not list(report.glob("load-*")), "no load run after a gate that could not judge"


def _interrupt(argv: list[str], running: RunningEmulator, prefix: str) -> subprocess.CompletedProcess[str]:
    """Start verify in its own process group, Ctrl-C the group once a session with ``prefix`` is live."""
    process = subprocess.Popen(
        argv, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        deadline = time.monotonic() + WAIT_FOR_SESSIONS
        while not live_sessions(running, prefix):
            assert process.poll() is None, "verify ended before it opened a session"
            assert time.monotonic() < deadline, "verify opened no session in time"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
        out, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


def _no_session_left(running: RunningEmulator) -> bool:
    """Bounded wait: a load run's locust (a grandchild) may still be closing when verify has exited."""
    deadline = time.monotonic() + WAIT_FOR_CLEANUP
    while live_sessions(running) and time.monotonic() < deadline:
        time.sleep(0.2)
    return live_sessions(running) == []


@pytest.mark.slow
def test_ctrl_c_during_the_gate_is_exit_130_and_no_load_runs(tmp_path: Path) -> None:
    report = tmp_path / "report"
    settings = EmulatorSettings(project_ids=(PROJECT,), quota=5)
    with serve_in_thread(settings) as running:
        argv = verify_command(report, "--base-url", running.base_url, "--profile", "smoke", "--load-seconds", "30")
        done = _interrupt(argv, running, prefix="")
        assert done.returncode == 130, done.stdout[-3000:] + done.stderr[-3000:]
        assert "Traceback" not in done.stderr and "ivhsuite: interrupted" in done.stderr
        assert not list(report.glob("load-*")), "no load run after Ctrl-C"
        assert _no_session_left(running)


@pytest.mark.slow
def test_ctrl_c_during_a_load_run_is_exit_130_and_closes_its_sessions(tmp_path: Path) -> None:
    report = tmp_path / "report"
    settings = EmulatorSettings(project_ids=(PROJECT,), quota=10, prepare_seconds=0.2)
    with serve_in_thread(settings) as running:
        argv = verify_command(
            report, "--base-url", running.base_url, "--profile", "smoke", "--max-examples", "1", "--load-seconds", "60"
        )
        done = _interrupt(argv, running, prefix="ivhs-")
        assert done.returncode == 130, done.stdout[-3000:] + done.stderr[-3000:]
        assert "Traceback" not in done.stderr
        assert _no_session_left(running)
