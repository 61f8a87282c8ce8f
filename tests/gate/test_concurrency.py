"""Many workers and parts at once, seen from the endpoint: never more than quota - 1 sessions, connections reused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivhsuite.emulator import EmulatorSettings, RunningEmulator
from ivhsuite.emulator.meter import Meter, serve_metered

from .conftest import PROJECT, live_sessions, run_gate_process

pytestmark = pytest.mark.slow
QUOTA = 5


@pytest.fixture
def metered() -> Iterator[tuple[RunningEmulator, Meter]]:
    """An emulator with quota 5 whose answers take 20 ms, so the workers' requests overlap."""
    settings = EmulatorSettings(project_ids=(PROJECT,), quota=QUOTA, toxics=["latency:latency=20"])
    with serve_metered(settings) as served:
        yield served


def _created(stdout: str) -> int:
    found = re.search(r"sessions: (\d+) created", stdout)
    assert found, stdout[-3000:]
    return int(found.group(1))


@pytest.mark.parametrize("workers", [8, 16])
def test_many_workers_never_hold_more_than_quota_minus_one(
    metered: tuple[RunningEmulator, Meter], tmp_path: Path, workers: int
) -> None:
    running, meter = metered
    done = run_gate_process(
        *("--base-url", running.base_url, "--quota", str(QUOTA), "--only", "schemathesis"),
        *("--workers", str(workers), "--max-examples", "12", "--report-dir", str(tmp_path)),
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert done.stdout.count("ran at the same time as the above") == 4  # fuzzing and three stateful parts
    assert _created(done.stdout) > 4 * QUOTA  # the guard had to make room over and over
    assert 1 <= meter.peak_live <= QUOTA - 1
    assert live_sessions(running) == []


def test_scenarios_share_their_connections(metered: tuple[RunningEmulator, Meter], tmp_path: Path) -> None:
    running, meter = metered
    done = run_gate_process(
        *("--base-url", running.base_url, "--quota", str(QUOTA), "--only", "scenarios"),
        *("--report-dir", str(tmp_path)),
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert meter.requests >= 80
    # One client for the run: a connection per scenario (30 and more) would pay a handshake each.
    assert meter.connections <= 3, f"{meter.requests} requests came on {meter.connections} connections"
