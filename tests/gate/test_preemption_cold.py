"""Preemption is judged only on a first session that was live when the second came.

CI's gate, on a busy machine against an endpoint whose cold starts sometimes fail (the
``cold-failure`` choice), once created the second session after the first had already failed
on its own (status 4, ErrorCode -111004): the faithful emulator rightly left it in status 4,
and the gate called it a broken preemption promise. Here the create answers come late on
purpose (a latency toxic after the emulator acted), so every first session has finished its
cold start when the second is created; the seed makes the first pair's first session fail.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ivhsuite.contract import keys_in
from ivhsuite.emulator import EmulatorSettings, serve_in_thread

from .conftest import PROJECT, run_shipped_scenarios

SCENARIO = "test_preemption.py::test_same_user_id_closes_the_previous_session"
LATE_CREATES = "latency:when=after,latency=1200,operation=createsession"  # ms: past the 0.5 s cold start
FIRST_PAIR_FAILS = 13  # seed: cold-failure 0.5 draws fail, -, succeed, - for the four creates


def _scenario_against(root: Path, cold_failure: str, **settings: object) -> subprocess.CompletedProcess[str]:
    emulator = EmulatorSettings(  # type: ignore[arg-type]
        project_ids=(PROJECT,),
        quota=5,
        prepare_seconds=0.5,
        choices={"cold-failure": cold_failure},
        toxics=[LATE_CREATES],
        seed=FIRST_PAIR_FAILS,
        **settings,
    )
    with serve_in_thread(emulator) as running:
        return run_shipped_scenarios(SCENARIO, running, root)


def test_a_first_session_failed_on_its_own_is_retried(tmp_path: Path) -> None:
    done = _scenario_against(tmp_path, "0.5")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "1 passed" in out, out[-3000:]
    assert "preemption" not in keys_in(out)


def test_first_sessions_that_always_fail_leave_preemption_unjudged(tmp_path: Path) -> None:
    done = _scenario_against(tmp_path, "1")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "1 skipped" in out and "preemption not observable" in out, out[-3000:]
    assert "preemption" not in keys_in(out)


def test_an_endpoint_that_does_not_preempt_is_still_caught(tmp_path: Path) -> None:
    done = _scenario_against(tmp_path, "0.5", faults=frozenset({"no-preemption"}))
    out = done.stdout + done.stderr
    assert done.returncode == 1, out[-3000:]
    assert "preemption" in keys_in(out), out[-3000:]
