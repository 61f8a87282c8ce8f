"""The channel scenarios count in the run's coverage the promises they checked: held on a faithful
channel, broken on a faulty one (the verify report's matrix reads these counts)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from ivhsuite.config import Target
from ivhsuite.contract_tests import test_channel
from ivhsuite.emulator import EmulatorSettings, serve_in_thread
from ivhsuite.gate.context import RunContext
from ivhsuite.gate.options import GateOptions
from ivhsuite.gate.scenarios.channel_client import CHANNEL
from ivhsuite.gate.scenarios.scenario_client import Probe

from .conftest import PROJECT

pytestmark = pytest.mark.timeout(60)


def channel_counts(faults: tuple[str, ...] = ()) -> dict[str, tuple[int, int]]:
    """(checked, failed) per promise in the channel's column, after the handshake-refusal scenarios."""
    settings = EmulatorSettings(
        project_ids=(PROJECT,), quota=5, prepare_seconds=0, channel_time_scale=0.05, faults=faults
    )
    with serve_in_thread(settings) as running:
        run = RunContext(
            GateOptions(Target(base_url=running.base_url, project_id=PROJECT), quota=5, poll_interval=0.01)
        )
        try:
            with Probe(run) as probe:
                for scenario in (
                    test_channel.test_a_channel_is_refused_before_startsession,
                    test_channel.test_a_channel_is_refused_for_a_session_that_is_not_live,
                ):
                    with contextlib.suppress(AssertionError):  # a broken promise is counted: what this test reads
                        scenario(probe)
        finally:
            run.finish()
            run.shutdown()
    return {p: (n, failed) for p, op, n, failed in run.coverage.counts() if op == CHANNEL}


def test_a_documented_refusal_code_is_counted_as_held() -> None:
    counts: Any = channel_counts()
    checked, failed = counts["channel-refusal-documented"]
    assert checked >= 1 and failed == 0
    assert counts["channel-after-start"][1] == 0


def test_an_undocumented_refusal_code_is_counted_as_broken() -> None:
    counts = channel_counts(("channel-undocumented-refusal",))
    assert counts["channel-refusal-documented"][1] >= 1
