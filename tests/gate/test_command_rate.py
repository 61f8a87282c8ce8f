"""The command-rate scenario judges only texts the endpoint must have seen less than the interval apart.

CI's gate, beside its generated half on a busy machine, once took over a second between the
first text sent and the second answered: the faithful emulator rightly accepted the second,
and the gate called it a broken promise. Here the answers come late on purpose (a latency
toxic after the emulator acted): the scenario skips, naming the span; an emulator that
accepts texts at once is still caught, and the faithful one passes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ivhsuite.contract import keys_in
from ivhsuite.emulator import EmulatorSettings, serve_in_thread

from .conftest import PROJECT, run_shipped_scenarios

SCENARIO = "test_lifecycle.py::test_texts_less_than_a_second_apart_refused"
LATE_COMMANDS = "latency:when=after,latency=1200,operation=command"  # ms: each answer past the 1 s interval


def _scenario_against(root: Path, **settings: object) -> subprocess.CompletedProcess[str]:
    emulator = EmulatorSettings(project_ids=(PROJECT,), quota=5, prepare_seconds=0.2, **settings)  # type: ignore[arg-type]
    with serve_in_thread(emulator) as running:
        return run_shipped_scenarios(SCENARIO, running, root)


def test_late_answers_leave_the_rate_unjudged(tmp_path: Path) -> None:
    done = _scenario_against(tmp_path, toxics=[LATE_COMMANDS])
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "1 skipped" in out and "may have arrived 1 s apart" in out, out[-3000:]
    assert "command-rate" not in keys_in(out)


def test_texts_accepted_at_once_are_still_a_broken_promise(tmp_path: Path) -> None:
    done = _scenario_against(tmp_path, faults=frozenset({"no-rate-limit"}))
    out = done.stdout + done.stderr
    assert done.returncode == 1, out[-3000:]
    assert "command-rate" in keys_in(out), out[-3000:]


def test_the_faithful_emulator_refuses_the_second_text(tmp_path: Path) -> None:
    done = _scenario_against(tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "1 passed" in out, out[-3000:]
