"""A lifecycle load run against a faithful emulator behind a flaky network: judged on the contract, nothing left live."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ivhsuite.config import DEFAULT_PROJECT_ID
from ivhsuite.emulator import EmulatorSettings, serve_in_thread
from ivhsuite.protocol import ExitCode

from .conftest import clean_env

pytestmark = pytest.mark.slow

FLAKY = (
    "reset_peer:when=before,toxicity=0.02",
    "gateway_error:status=502,toxicity=0.02",
    "reset_peer:when=after,toxicity=0.02",
)


def test_a_lifecycle_run_under_faults_counts_them_apart_and_leaves_nothing_live(tmp_path: Path) -> None:
    settings = EmulatorSettings(quota=50, prepare_seconds=1, toxics=FLAKY, seed=21)
    with serve_in_thread(settings) as running:
        command = [sys.executable, "-m", "ivhsuite.cli", "load", "--scenario", "lifecycle", "-u", "5", "-r", "5"]
        command += ["-t", "20s", "--base-url", running.base_url, "--report-dir", str(tmp_path)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=180, env=clean_env())
        output = done.stdout + done.stderr
        live = running.app.state.store.sessions(DEFAULT_PROJECT_ID)
    assert done.returncode in (ExitCode.OK, ExitCode.FAILED), output[-5000:]
    assert "Traceback" not in output, output[-5000:]
    assert live == []
    network = json.loads((tmp_path / "network.json").read_text())
    faults = {label for row in network["rows"] for label in row["faults"]}
    assert "reset" in faults and "HTTP 502 page" in faults, network
    assert sum(row["retries"] for row in network["rows"]) > 0
    report = json.loads((tmp_path / "thresholds.json").read_text())
    errors = (tmp_path / "locust_failures.csv").read_text()
    # the network's faults are no failure of an operation: locust's error table holds none of them
    assert "HTTPConnectionClosed" not in errors and "HTTP 502" not in errors, errors
    assert report["live_sessions_left"] == 0
    assert "endpoint unstable:" in output
