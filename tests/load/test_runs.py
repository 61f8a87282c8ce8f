"""The scenarios end to end: real headless locust runs against the embedded emulator.

Each run checks the issue's promises: thresholds green (exit 0) and no session of the
run left live; against an emulator that does not preempt, violations and exit 1;
one aggregated verdict with ``--processes 2``.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ivhsuite.cli.commands.load import add_load_parser, run_load_command
from ivhsuite.config import DEFAULT_PROJECT_ID
from ivhsuite.emulator import EmulatorSettings, RunningEmulator, serve_in_thread

from .conftest import LOCUSTFILE, LocustRun, clean_env

pytestmark = pytest.mark.slow
Run = Callable[..., LocustRun]
WAIT_FOR_SESSIONS = 60.0
SESSION_ID = re.compile(r"session [0-9a-f]{32} of UserId ivhs-\w+-p\d+ still live")


def live_sessions(running: RunningEmulator) -> list[str]:
    return [info.session_id for info in running.app.state.store.sessions(DEFAULT_PROJECT_ID)]


def assert_green_and_clean(run: LocustRun) -> None:
    assert run.code == 0, run.output[-3000:]
    assert run.report["passed"] is True
    assert run.report["live_sessions_left"] == 0
    assert "shows 0 live session(s) of this run" in run.output
    assert "started the embedded emulator" in run.output


def test_create_scenario_through_ivhsuite_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("IVH_BASE_URL", "IVH_APPKEY", "IVH_ACCESS_TOKEN", "IVHSUITE_EMULATOR_FAULTS"):
        monkeypatch.delenv(name, raising=False)
    parser = argparse.ArgumentParser()
    add_load_parser(parser.add_subparsers())
    folder = tmp_path / "report"
    argv = ["load", "--scenario", "create", "-u", "4", "-r", "4", "-t", "5s", "--hold-seconds", "0.5"]
    args = parser.parse_args([*argv, "--report-dir", str(folder), "--locustfile", str(LOCUSTFILE)])

    assert run_load_command(args) == 0

    for name in ("report.html", "locust_stats.csv", "thresholds.xml", "thresholds.json"):
        assert (folder / name).is_file(), name
    stats = (folder / "locust_stats.csv").read_text()
    assert '"IVH","time to ready"' in stats or "IVH,time to ready" in stats


def test_create_scenario_reports_time_to_ready(run_locust: Run) -> None:
    run = run_locust("-u 3 -r 3 -t 4s --hold-seconds 0.3 CreateSessionUser")
    assert_green_and_clean(run)
    ready = run.entry("time to ready")
    assert ready["requests"] >= 3 and ready["failures"] == 0
    assert ready["max"] >= 900  # the emulator's first, cold session prepares for 1 s


def test_lifecycle_scenario_signed(run_locust: Run) -> None:
    env = clean_env(IVH_APPKEY="load-test-appkey", IVH_ACCESS_TOKEN="load-test-token")
    run = run_locust("-u 3 -r 3 -t 6s --hold-seconds 0.2 --texts 2 LifecycleUser", env=env)
    assert_green_and_clean(run)
    assert "load-test-token" not in run.output
    assert run.entry("command")["requests"] >= 3
    assert run.entry("startsession")["failures"] == 0
    assert "100005" not in run.output


def test_preemption_scenario_green(run_locust: Run) -> None:
    run = run_locust("-u 12 -r 12 -t 6s --hold-seconds 0.5 --userid-pool 4 --list-interval 1 PreemptionUser")
    assert_green_and_clean(run)
    assert run.entry("preemption check: superseded")["requests"] > 0
    assert run.entry("preemption check: list")["requests"] > 0
    assert run.threshold("preemption.max_violations")["actual"] == 0


def test_preemption_scenario_catches_an_emulator_that_does_not_preempt(run_locust: Run) -> None:
    env = clean_env(IVHSUITE_EMULATOR_FAULTS="no-preemption")
    run = run_locust("-u 8 -r 8 -t 5s --hold-seconds 1 --userid-pool 2 --preemption-grace 0.5 PreemptionUser", env=env)
    assert run.code == 1, run.output[-3000:]
    verdict = run.threshold("preemption.max_violations")
    assert verdict["status"] == "fail" and verdict["actual"] > 0
    assert SESSION_ID.search(run.output)
    assert run.report["live_sessions_left"] == 0


def test_distributed_run_gives_one_aggregated_verdict(run_locust: Run) -> None:
    run = run_locust(
        "--processes 2 -u 8 -r 8 -t 5s --hold-seconds 0.5 --userid-pool 4 PreemptionUser CreateSessionUser"
    )
    assert_green_and_clean(run)
    assert run.output.count("Thresholds (") == 1
    assert "(index 1) reported as ready" in run.output
    assert run.entry("createsession")["requests"] > 0 and run.entry("preemption check: superseded")


def test_distributed_violations_are_aggregated_on_the_master(run_locust: Run) -> None:
    env = clean_env(IVHSUITE_EMULATOR_FAULTS="no-preemption")
    argv = "--processes 2 -u 8 -r 8 -t 5s --hold-seconds 1 --userid-pool 2 --preemption-grace 0.5"
    run = run_locust(f"{argv} PreemptionUser", env=env)
    assert run.code == 1, run.output[-3000:]
    assert run.output.count("Thresholds (") == 1
    assert run.threshold("preemption.max_violations")["actual"] > 0


def test_step_shape_rises_in_steps(run_locust: Run) -> None:
    run = run_locust("--load-shape step --shape-steps 3 -u 6 -r 6 -t 5s --hold-seconds 0.2 CreateSessionUser")
    assert_green_and_clean(run)
    for users in (2, 4, 6):
        assert f"Shape test updating to {users} users" in run.output


def test_abort_on_a_failing_threshold(run_locust: Run, tmp_path: Path) -> None:
    rules = tmp_path / "abort.toml"
    rules.write_text("[run]\nabort_delay_s = 0\n")
    env = clean_env(IVHSUITE_EMULATOR_FAULTS="no-preemption")
    argv = "-u 6 -r 6 -t 60s --hold-seconds 1 --userid-pool 1 --preemption-grace 0.3 --thresholds-abort"
    run = run_locust(f"{argv} --thresholds {rules} PreemptionUser", env=env)
    assert run.code == 1
    assert "aborting the run" in run.output and "run aborted early" in run.output
    assert run.seconds < 30
    assert run.report["live_sessions_left"] == 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_still_closes_its_sessions(tmp_path: Path, signum: signal.Signals) -> None:
    report = tmp_path / "report"
    argv = "-u 6 -r 6 -t 60s --hold-seconds 30 --only-summary PreemptionUser CreateSessionUser"
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--ivh-report-dir", str(report)]
    settings = EmulatorSettings(project_ids=(DEFAULT_PROJECT_ID,), quota=10, prepare_seconds=0.2)
    with serve_in_thread(settings) as running, (tmp_path / "locust.log").open("w") as log:
        process = subprocess.Popen(
            [*command, "--host", running.base_url, *argv.split()],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=clean_env(),
            cwd=tmp_path,
            # a terminal's Ctrl-C: a CI job started in the background (``cmd &``) passes SIGINT on ignored
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            deadline = time.monotonic() + WAIT_FOR_SESSIONS
            while not live_sessions(running):  # held for 30 s: live when the signal comes
                assert process.poll() is None, "locust ended before it opened a session"
                assert time.monotonic() < deadline, "locust opened no session in time"
                time.sleep(0.05)
            process.send_signal(signum)
            assert process.wait(60) == 0
        finally:
            if process.poll() is None:
                process.kill()
        left = live_sessions(running)
    output = (tmp_path / "locust.log").read_text()
    assert left == [], output[-3000:]
    assert "shows 0 live session(s) of this run" in output
    assert json.loads((report / "thresholds.json").read_text())["live_sessions_left"] == 0


def test_contract_violations_are_failures_named_by_operation(run_locust: Run) -> None:
    env = clean_env(IVHSUITE_EMULATOR_FAULTS="wrong-schema")
    run = run_locust("-u 2 -r 2 -t 4s --hold-seconds 0.3 CreateSessionUser", env=env)
    assert run.code == 1
    violations = run.entry("contract violation: createsession")
    assert violations["failures"] > 0 and violations["failures"] == violations["requests"]
    assert run.threshold("contract.max_violations")["status"] == "fail"
    assert "createsession: broken promise [response-schema]: every answer matches" in run.output  # the gate's words
    assert "— Payload.SessionStatus" in run.output
    assert run.report["live_sessions_left"] == 0
