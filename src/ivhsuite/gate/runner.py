"""``ivhsuite gate``: the generated requests, then the scenarios, one verdict, reports, no session left.

Order of a run: pick the target (starting the embedded emulator when no URL is set),
preflight (exit 2 on a wrong setting), schemathesis in-process, close its sessions,
``pytest contract_tests`` in-process, close everything and sweep the project for the
run's prefix (also after Ctrl-C or SIGTERM), write and redact the reports.

Exit codes: 0 the contract holds; 1 a promise is broken; 2 the run could not judge
(a setting, an unreachable endpoint, a half that errored); 130 interrupted.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ivhsuite.embedded import endpoint
from ivhsuite.gate.context import LIVE_STATUSES, RunContext, active
from ivhsuite.gate.generated import EXIT_INTERRUPTED, redacted_stdout, run_generated
from ivhsuite.gate.options import GateOptions
from ivhsuite.gate.plugin import GatePlugin
from ivhsuite.gate.preflight import preflight
from ivhsuite.gate.report import Finding, redact_tree, write_failures
from ivhsuite.gate.summary import summarize
from ivhsuite.report import junit
from ivhsuite.runs import run_dir
from ivhsuite.spec import default_spec_path

EXIT_OK, EXIT_VIOLATION, EXIT_USAGE = 0, 1, 2
PYTEST_INTERRUPTED = 2


@dataclass
class GateResult:
    """What a run found and where it wrote it."""

    exit_code: int
    report_dir: Path
    findings: list[Finding] = field(default_factory=list)
    generated_requests: int = 0
    scenario_requests: int = 0
    sessions_created: int = 0
    left_open: int | None = 0  # None: the clean-up could not list the project's sessions
    elapsed: float = 0.0
    halves: dict[str, int] = field(default_factory=dict)  # each half's own exit code
    scenario_outcomes: dict[str, int] = field(default_factory=dict)
    scenario_errors: list[str] = field(default_factory=list)  # failed without naming a promise
    base_url: str = ""


def contract_tests_dir() -> Path:
    path = default_spec_path().resolve().parents[1] / "contract_tests"
    return path if path.is_dir() else Path.cwd() / "contract_tests"


def run_gate(options: GateOptions, out: TextIO | None = None) -> GateResult:
    """Run the whole gate; the caller maps :attr:`GateResult.exit_code` to the process's."""
    out = out or sys.stdout
    started = time.monotonic()
    embedded = not options.target.base_url
    with endpoint(options.target, quota=options.quota) as target, sigterm_as_interrupt():
        run = RunContext(options.with_target(target, quota_exact=embedded))
        try:
            preflight(run)
        except BaseException:
            run.shutdown()  # nothing was created yet: no clean-up, no second line
            raise
        how = f"embedded emulator, quota {options.quota}" if embedded else f"quota {options.quota}"
        print(f"ivhsuite gate: {target.base_url} ({how}, {'signed' if target.signed else 'unsigned'})", file=out)
        folder = run_dir(options.report_dir, "gate")
        result = GateResult(EXIT_OK, folder, base_url=str(target.base_url))
        try:
            with active(run):
                _halves(run, folder, result)
        except KeyboardInterrupt:
            result.halves["interrupted"] = EXIT_INTERRUPTED
        finally:
            with sigint_ignored():
                run.finish()
                result.left_open = _left_open(run)
                run.shutdown()
    result.findings = list(run.findings)
    counters = run.counters
    result.generated_requests, result.scenario_requests = counters.generated, counters.scenario
    result.sessions_created = counters.created
    result.elapsed = time.monotonic() - started
    result.exit_code = _verdict(result)
    _write_reports(folder, result, run.secrets)
    print(summarize(result), file=out)
    return result


def _halves(run: RunContext, folder: Path, result: GateResult) -> None:
    options = run.options
    if options.run_schemathesis:
        result.halves["schemathesis"] = run_generated(run, folder / "schemathesis")
        run.guard.make_room()  # close the generated sessions before the scenarios count slots
        if result.halves["schemathesis"] == EXIT_INTERRUPTED:
            raise KeyboardInterrupt
    if options.run_scenarios:
        plugin = GatePlugin(run)
        code = _pytest(run, folder / "scenarios-junit.xml", plugin)
        result.halves["scenarios"] = code
        result.scenario_outcomes = dict(plugin.outcomes)
        result.scenario_errors = list(plugin.errors)
        if code == PYTEST_INTERRUPTED:
            raise KeyboardInterrupt


def _pytest(run: RunContext, junit: Path, plugin: GatePlugin) -> int:
    import pytest

    args = [
        str(contract_tests_dir()),
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        "-o",
        "junit_suite_name=ivhsuite-scenarios",
        "-p",
        "no:hypothesispytest",  # the gate imported hypothesis long before this pytest started
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        "-q",
        "-rfEs",
    ]
    with redacted_stdout(run.secrets):
        return int(pytest.main(args, plugins=[plugin]))


def _verdict(result: GateResult) -> int:
    if "interrupted" in result.halves:
        return EXIT_INTERRUPTED
    if result.findings:
        return EXIT_VIOLATION  # a broken promise outweighs an error elsewhere in the run
    generated = result.halves.get("schemathesis", EXIT_OK)
    scenarios = result.halves.get("scenarios", EXIT_OK)
    if generated != EXIT_OK or scenarios != EXIT_OK:
        return EXIT_USAGE  # errors, not findings: the run could not judge
    return EXIT_OK


def _left_open(run: RunContext) -> int | None:
    """Live sessions of the run still listed after the clean-up (should be 0); None when the list failed."""
    try:
        sessions = run.closer.list_sessions()
    except Exception:  # noqa: BLE001 - the count is informative only, but never a reassuring 0
        return None
    return sum(
        1
        for s in sessions
        if str(s.get("UserId", "")).startswith(run.prefix) and s.get("SessionStatus") in LIVE_STATUSES
    )


def _write_reports(folder: Path, result: GateResult, secrets: tuple[str | None, ...]) -> None:
    write_failures(folder / "failures.txt", result.findings, secrets)
    junit.merge([folder / "schemathesis" / "junit.xml", folder / "scenarios-junit.xml"], folder / "junit.xml", secrets)
    redact_tree(folder, secrets)


@contextmanager
def sigint_ignored() -> Iterator[None]:
    """A second Ctrl-C must not cut the clean-up short: every open session is a paid stream."""
    try:
        previous: Any = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """A CI cancel (SIGTERM) cleans up like Ctrl-C."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous: Any = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
