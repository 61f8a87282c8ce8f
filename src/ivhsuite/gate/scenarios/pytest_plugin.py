"""How ``contract_tests`` get their run: from ``ivhsuite gate``, or on their own from ``IVH_*``.

``ivhsuite gate`` runs pytest in its own process with a :class:`GatePlugin`, which hands
over the gate's :class:`~ivhsuite.gate.context.RunContext`, deselects the schemathesis
test (the gate has just run that half itself) and turns each failed scenario into a
:class:`~ivhsuite.gate.report.Finding`. ``pytest contract_tests`` alone builds its own
run with :func:`standalone_run`, the embedded emulator included when no URL is set.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from ivhsuite.contract import PROMISES, keys_in
from ivhsuite.errors import TransportError
from ivhsuite.gate.context import RunContext, active, target_run
from ivhsuite.gate.findings import Finding
from ivhsuite.gate.options import GateOptions
from ivhsuite.redact import redact

GENERATED_MARKER = "generated"
COLD_FIRST_MARKER = "cold_first"
ALONE_MARKER = "alone"
LEARNS_CHOICES_MARKER = "learns_choices"  # costs sessions only a run recording or comparing choices spends
COLD, REST, ALONE = "cold", "rest", "alone"
AFTER = (REST, ALONE)  # the scenarios after the generated half when they cannot run beside it
_REPRODUCE = re.compile(r"reproduce: (curl .*)$", re.MULTILINE)


def group_of(item: pytest.Item) -> str:
    """:data:`COLD` (needs a cold session: before anything else creates), :data:`ALONE` (fills the quota:
    with nothing else of the run live), or :data:`REST` (may run beside the generated half)."""
    if item.get_closest_marker(COLD_FIRST_MARKER) is not None:
        return COLD
    return ALONE if item.get_closest_marker(ALONE_MARKER) is not None else REST


class GatePlugin:
    """Handed to ``pytest.main(plugins=[...])`` by the gate; ``part`` picks the scenarios of one pytest run.

    The gate runs the cold-first scenarios (:data:`COLD`) before the generated half creates
    anything, the others (:data:`REST`) beside it, then the quota's (:data:`ALONE`) with
    nothing else live; ``part`` is one group or a tuple of them. None runs them all:
    cold-first ones first, the quota's last.
    """

    def __init__(self, run: RunContext) -> None:
        self.run = run
        self.part: str | tuple[str, ...] | None = None
        self.outcomes: dict[str, int] = {"passed": 0, "failed": 0, "skipped": 0}
        self.collected = 0
        self.errors: list[str] = []  # failed tests that name no promise: errors, not findings
        self.environmental: list[str] = []  # tests the network cut short: neither passed nor failed

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        """A scenario cut short by the network (TransportError) is skipped, named as such: no finding, no error."""
        report = yield
        if call.excinfo is not None and call.excinfo.errisinstance(TransportError):
            why = f"environmental ({call.excinfo.value.fault or 'network'}): {call.excinfo.value}"
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0, why[:400])
            self.environmental.append(f"{item.nodeid}: {why[:200]}")
        return report

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        order = (COLD, REST, ALONE)
        items.sort(key=lambda item: order.index(group_of(item)))  # stable: cold ones first, the quota's last
        part = (self.part,) if isinstance(self.part, str) else self.part

        def left_out(item: pytest.Item) -> bool:
            if item.get_closest_marker(LEARNS_CHOICES_MARKER) and not self.run.learns_choices:
                return True
            return bool(item.get_closest_marker(GENERATED_MARKER)) or (part is not None and group_of(item) not in part)

        deselected = [item for item in items if left_out(item)]
        if deselected:
            items[:] = [item for item in items if item not in deselected]
            config.hook.pytest_deselected(items=deselected)
        self.collected += len(items)

    def counts_text(self) -> str:
        """``12/39: 11 passed, 1 failed``, for a progress display."""
        if not self.collected:
            return "collecting"
        done = sum(self.outcomes.values())
        counts = ", ".join(f"{n} {outcome}" for outcome, n in self.outcomes.items() if n)
        return f"{done}/{self.collected}" + (f": {counts}" if counts else "")

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self.run.stopping.is_set():  # beside the generated half, on a thread no signal reaches
            pytest.exit("interrupted: the scenarios stop with the run", returncode=pytest.ExitCode.INTERRUPTED)
        if self.run.out_of_time:
            pytest.skip(f"--max-time ({self.run.options.max_time:g} s) reached before this scenario")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped and report.when in ("setup", "call"):
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            self.run.observe(f"not-run:{report.nodeid}", f"{report.nodeid} could not run: {reason.removeprefix('Skipped: ')}")
        counted = report.when == "call" or (report.when == "setup" and not report.passed) or report.failed
        if counted and report.outcome in self.outcomes:
            self.outcomes[report.outcome] += 1
        if report.failed:
            found = findings_of(report.nodeid, report.longreprtext, self.run.secrets)
            self.run.findings.extend(found)
            if not found:
                self.errors.append(report.nodeid)


def findings_of(nodeid: str, text: str, secrets: tuple[str | None, ...] = ()) -> list[Finding]:
    """The broken promise a failed test names (the first: the one it stopped on), with its curl lines.

    A failure naming none (a lost connection, a bug) is no finding: the caller counts it as an error.
    """
    text = redact(text, secrets)
    keys = keys_in(text)
    if not keys:
        return []
    key = keys[0]
    line = next((ln.strip() for ln in text.splitlines() if f"broken promise [{key}]" in ln), PROMISES[key])
    line = line.removeprefix("E").strip().removeprefix("AssertionError:").strip()
    curls = tuple(dict.fromkeys(_REPRODUCE.findall(text)))
    return [Finding(promise=key, source="scenario", where=nodeid, message=line, curl=curls)]


def gate_run(config: pytest.Config) -> RunContext | None:
    """The gate's run when ``ivhsuite gate`` started this pytest, else None."""
    plugins: list[Any] = list(config.pluginmanager.get_plugins())
    found = next((p for p in plugins if isinstance(p, GatePlugin)), None)
    return found.run if found is not None else None


@contextmanager
def standalone_run() -> Iterator[RunContext]:
    """A run for ``pytest contract_tests`` alone: ``IVH_*`` settings, or the embedded emulator."""
    with target_run(GateOptions.from_env()) as run:
        try:
            with active(run):
                yield run
        finally:
            run.finish()
            run.shutdown()
