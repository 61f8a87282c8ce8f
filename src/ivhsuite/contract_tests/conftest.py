"""The scenarios' fixtures: the run (handed over by ``ivhsuite gate``, or built from ``IVH_*``), a probe per test.

Run alone, ``pytest contract_tests`` targets ``IVH_BASE_URL``, or starts the embedded
emulator when it is unset, and runs the schemathesis half too (``test_generated.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ivhsuite.errors import ConfigError
from ivhsuite.gate.context import RunContext
from ivhsuite.gate.preflight import preflight
from ivhsuite.gate.scenarios.pytest_plugin import (
    ALONE_MARKER,
    COLD_FIRST_MARKER,
    GENERATED_MARKER,
    LEARNS_CHOICES_MARKER,
    gate_run,
    standalone_run,
)
from ivhsuite.gate.scenarios.scenario_client import Probe


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{GENERATED_MARKER}: the schemathesis half (ivhsuite gate runs it itself)")
    config.addinivalue_line("markers", f"{COLD_FIRST_MARKER}: needs a cold session, so runs before other scenarios")
    config.addinivalue_line("markers", f"{ALONE_MARKER}: fills the quota, so runs last with nothing else of the run live")
    config.addinivalue_line(
        "markers", f"{LEARNS_CHOICES_MARKER}: learns an endpoint choice at a cost: only with --record/--expect-choices"
    )


@pytest.fixture(scope="session")
def run(request: pytest.FixtureRequest) -> Iterator[RunContext]:
    given = gate_run(request.config)
    if given is not None:
        yield given
        return
    with standalone_run() as own:
        try:
            preflight(own)
        except ConfigError as exc:
            pytest.exit(f"ivhsuite: error: {exc}", returncode=2)
        yield own


@pytest.fixture
def probe(run: RunContext) -> Iterator[Probe]:
    with Probe(run) as probe:
        yield probe


@pytest.fixture
def ready_session(probe: Probe) -> str:
    """A new session, polled until ready (status 1), not started; a cold failure (status 4) is retried."""
    return probe.create_ready()


@pytest.fixture
def started_session(probe: Probe, ready_session: str) -> str:
    """A ready session, started."""
    started = probe.start(ready_session)
    probe.expect(started.ok, "lifecycle", f"startsession of a ready session got {started}")
    return ready_session
