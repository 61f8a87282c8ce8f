"""The scenarios' client counts what it checked: each expectation against the operation of its last request,
and each answer per operation (by source, HTTP status, Header.Code, the slowest) for the report."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ivhsuite.config import Target
from ivhsuite.emulator import RunningEmulator
from ivhsuite.gate.context import RunContext, active
from ivhsuite.gate.options import GateOptions
from ivhsuite.gate.scenarios.scenario_client import Probe
from ivhsuite.protocol import Code

from .conftest import PROJECT


def test_expectations_and_answers_are_counted_per_operation(emulator: Callable[..., RunningEmulator]) -> None:
    running = emulator()
    run = RunContext(GateOptions(Target(base_url=running.base_url, project_id=PROJECT)), tag="00abc125")
    try:
        with active(run), Probe(run) as probe:
            unknown = probe.stat("no-such-session")
            probe.expect(unknown.rejected, "unknown-session", "statsession of an unknown SessionId")
            with pytest.raises(AssertionError, match=r"broken promise \[unknown-session\]"):
                probe.expect(False, "unknown-session", "seen broken")
            created = probe.create()  # a cold answer is seized at once (a startsession, a statsession): not counted
            probe.run.coverage.note("positive-accepted", "createsession", held=created.ok)
        counts = {(p, op): (n, failed) for p, op, n, failed in run.coverage.counts()}
        assert counts == {
            ("unknown-session", "statsession"): (2, 1),
            ("positive-accepted", "createsession"): (1, 0),
        }
        rows = {row.operation: row for row in run.answers.rows(run.spec.operation_ids)}
        assert rows["statsession"].codes.get(str(unknown.code)) == 1, "the unknown SessionId's refusal, once"
        assert rows["createsession"].codes.get(str(int(Code.OK))) == 1 and created.ok
        assert rows["closesession"].scenarios == 1, "the probe closed what it created"
        assert rows["statsession"].slowest_ms > 0 and rows["gettrtcsign"].requests == 0
    finally:
        run.finish()
        run.shutdown()
