"""``ivhsuite gate``: the generated requests and the scenarios, one verdict, reports, no session left.

Order of a run: pick the target (starting the embedded emulator when no URL is set),
preflight (exit 2 on a wrong setting), the cold-first scenarios, then schemathesis
in-process with the other scenarios (``pytest contract_tests`` in-process) on a thread
beside it, close the generated sessions, the quota scenario alone, close everything and
sweep the project for the run's tag (also after Ctrl-C, SIGTERM or an exception), write
and redact the reports. Against a distant endpoint both halves mostly wait for answers:
side by side, the run takes about as long as the longer of them, not their sum.

Exit codes: 0 the contract holds; 1 a promise is broken (it wins over everything but a
signal); 2 the run could not judge (a setting, an unreachable endpoint, a half that
errored); 3 the endpoint was too unstable to judge (more requests lost to the network
than ``--max-transport-errors`` allows); 130 interrupted (SIGINT), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from ivhsuite import environmental, interrupts, junit, packaged
from ivhsuite.gate import endpoint_choices
from ivhsuite.gate.context import RunContext, active, target_run
from ivhsuite.gate.findings import redact_tree, write_failures
from ivhsuite.gate.options import GateOptions
from ivhsuite.gate.preflight import preflight
from ivhsuite.gate.scenarios.pytest_plugin import AFTER, ALONE, COLD, REST, GatePlugin
from ivhsuite.gate.spec_cases.in_process import STOP_WAIT, redacted_stdout, run_generated
from ivhsuite.gate.summary import GateResult, promise_rows, summary_text
from ivhsuite.progress import Progress, Silent, ticking
from ivhsuite.protocol import ExitCode, strongest
from ivhsuite.report_dirs import run_dir
from ivhsuite.run_sessions import live_of_run

PYTEST_INTERRUPTED = 2
PYTEST_INTERNAL_ERROR = 3
PYTEST_NO_TESTS = 5
# pytest plugins that set process-wide state (warning filters, root log handlers, faulthandler, sys.unraisablehook,
# threading.excepthook) for a session or a test: off in the run beside the generated half, whose threads they would catch.
THREAD_UNSAFE_PLUGINS = tuple(
    arg
    for name in ("warnings", "logging", "faulthandler", "unraisableexception", "threadexception")
    for arg in ("-p", f"no:{name}")
)
NETWORK_JUNIT = "network-junit.xml"
COLD_JUNIT = "scenarios-cold-junit.xml"
SCENARIOS_JUNIT = "scenarios-junit.xml"
ALONE_JUNIT = "scenarios-alone-junit.xml"
# The most sessions the scenarios hold at once (a started session, and a pair of which the second preempts the
# first): beside the generated half they share the guard's quota - 1 slots, so they go beside it only with more.
BESIDE_SLOTS = 3
CHOICES_JUNIT = "choices-junit.xml"


def run_gate(options: GateOptions, out: TextIO | None = None, progress: Progress | None = None) -> GateResult:
    """Run the whole gate; the caller maps :attr:`GateResult.exit_code` to the process's.

    ``progress`` hears the phases and their counts (``ivhsuite verify`` shows them live).
    """
    out = out or sys.stdout
    progress = progress or Silent()
    expected = endpoint_choices.load_expected(options.expect_choices) if options.expect_choices else None
    measured = endpoint_choices.load_measured(options.expect_choices) if options.expect_choices else {}
    started = time.monotonic()
    embedded = not options.target.base_url
    with target_run(options) as run, interrupts.trapped():
        target = run.target
        try:
            preflight(run)
        except BaseException:
            run.shutdown()  # nothing was created yet: no clean-up, no second line
            raise
        quota = run.options.quota
        how = f"quota {quota}" if quota else "quota unknown: pass --quota to check it"
        how = f"embedded emulator, {how}" if embedded else how
        print(f"ivhsuite gate: {target.base_url} ({how}, {'signed' if target.signed else 'unsigned'})", file=out)
        if not quota:
            run.observe("quota-not-checked", "quota not checked: pass --quota (or IVH_QUOTA) to check the quota promise")
        folder = run_dir(options.report_dir, "gate")
        result = GateResult(ExitCode.OK, folder, base_url=str(target.base_url))
        clock = _max_time_alarm(run)
        try:
            with active(run):
                _halves(run, folder, result, progress)
        except KeyboardInterrupt as exc:
            if isinstance(exc, interrupts.TimeUp) or (run.out_of_time and not interrupts.received()):
                run.observe("max-time", f"--max-time ({options.max_time:g} s) reached: stopped, reporting what was covered")
            else:
                result.halves["interrupted"] = interrupts.exit_code_for(interrupts.interrupted_by(exc))
        finally:
            clock.cancel()
            progress.update("closing the run's sessions")
            with interrupts.shielded():  # a second Ctrl-C must not cut the clean-up short
                run.finish()
                result.left_open = _left_open(run)
                run.shutdown()
    run.cold.settle(run.findings, run.observations)  # cold sessions no scenario reported: findings or observations
    cut = run.budget.cut_words()
    if cut:
        run.observe("session-budget", cut)
    result.sessions = run.budget.use()
    _choices(run, result, expected, measured)
    result.findings = list(run.findings)
    result.observations = list(run.observations.values())
    counters = run.counters
    result.generated_requests, result.scenario_requests = counters.generated, counters.scenario
    result.promises = promise_rows(run.coverage.counts(), dict(run.observations))
    result.operations = run.answers.rows(run.spec.operation_ids)
    result.environment = run.tally.summary(options.max_transport_errors, swept=run.swept)
    result.environmental_errors = run.environmental_errors
    result.generated_errors = list(run.generated_errors)
    result.elapsed = time.monotonic() - started
    result.exit_code = _verdict(result)
    if result.exit_code == ExitCode.OK and options.fail_on_drift and any(row.drifted for row in result.drift):
        result.exit_code = ExitCode.FAILED  # --fail-on-drift: the endpoint chose otherwise than recorded
    if result.drift:
        endpoint_choices.drift_junit(result.drift, folder / CHOICES_JUNIT, fail_on_drift=options.fail_on_drift)
    _write_reports(folder, result, run.secrets)
    print(summary_text(result), file=out)
    return result


def _choices(run: RunContext, result: GateResult, expected: dict[str, str] | None, measured: dict[str, float]) -> None:
    """What the endpoint chose where the docs are silent: recorded (--record-choices), compared (--expect-choices)."""
    options = run.options
    result.choices = run.spotter.observed()
    if options.record_choices:
        endpoint_choices.record(
            options.record_choices,
            result.choices,
            base_url=str(run.target.base_url),
            quota=options.quota if not options.quota_exact else None,
            prepare=run.spotter.prepare_seconds(),
            measured=run.spotter.measures.measured(),
        )
    if expected is not None:
        result.drift = endpoint_choices.compare(expected, result.choices, run.spotter, measured)


def _max_time_alarm(run: RunContext) -> threading.Timer:
    """At --max-time, stop the run as Ctrl-C would (:func:`ivhsuite.interrupts.alarm`); the clean-up runs as usual.

    (schemathesis's own --max-time keeps its fuzzing phase busy until the time is up: not a bound.)
    """
    return interrupts.alarm(max(0.0, run.deadline - time.monotonic()))


def _halves(run: RunContext, folder: Path, result: GateResult, progress: Progress) -> None:
    """The cold-first scenarios, the generated half with the other scenarios beside it, the quota's alone.

    The cold-first ones go before the generated half creates anything: a model cache its creates warm
    would leave them no cold session to check. The quota scenario fills the quota, so it goes once
    every other session of the run is closed. With too few slots for both halves at once
    (:data:`BESIDE_SLOTS`) the other scenarios go after the generated half, as one run.
    """
    options = run.options
    plugin = GatePlugin(run)
    both = options.run_schemathesis and options.run_scenarios
    if both:
        plugin.part = COLD
        _scenarios(run, folder / COLD_JUNIT, plugin, result, progress)
    beside = both and options.session_limit > BESIDE_SLOTS
    if options.run_schemathesis:
        _generated(run, folder, result, progress, plugin if beside else None)
        run.guard.make_room()  # close the generated sessions before the scenarios count slots
    if options.run_scenarios:
        plugin.part = ALONE if beside else AFTER if both else None
        _scenarios(run, folder / (ALONE_JUNIT if beside else SCENARIOS_JUNIT), plugin, result, progress)


def _generated(run: RunContext, folder: Path, result: GateResult, progress: Progress, beside: GatePlugin | None) -> None:
    """schemathesis on this thread (signals reach it), and ``beside``'s scenarios, when given, on a thread of their own.

    Their output is held and printed after schemathesis's, so the log reads one half after the other.
    On Ctrl-C, SIGTERM or --max-time the scenarios stop at their next request (closes still go) and are
    waited for: every session they open must reach the guard before the clean-up.
    """
    began = time.monotonic()
    side: _Beside | None = None

    def counts() -> str:
        return _generated_counts(run) + (f"; scenarios {beside.counts_text()}" if beside is not None else "")

    with redacted_stdout(run.secrets) as stdout, ticking(progress, "schemathesis", counts):
        if beside is not None:
            beside.part = REST
            side = _Beside(run, folder / SCENARIOS_JUNIT, beside)
            stdout.route(side.thread, side.output)
            side.start()
        try:
            result.halves["schemathesis"] = run_generated(run, folder / "schemathesis")
            if result.halves["schemathesis"] == ExitCode.INTERRUPTED or interrupts.received():
                run.stopping.set()
        except BaseException:
            run.stopping.set()
            raise
        finally:
            result.half_seconds["schemathesis"] = time.monotonic() - began
            run.beside = False  # the generated half is done: the scenarios left have the slots and the rate alone
            if side is not None:  # also on Ctrl-C: what the scenarios found and printed is the run's
                side.join()
                stdout.unroute(side.thread)
                print(f"\n--- scenarios (ran beside the generated half above) ---\n{side.output.getvalue()}", end="")
                _scenarios_done(side.code, side.seconds, side.plugin, result)
    # schemathesis takes Ctrl-C itself and returns; the signal is remembered all the same
    interrupted = side is not None and side.code == PYTEST_INTERRUPTED
    if interrupted or result.halves["schemathesis"] == ExitCode.INTERRUPTED or interrupts.received():
        raise KeyboardInterrupt


class _Beside:
    """One pytest run of the scenarios on a thread beside the generated half; their creates take guard slots."""

    def __init__(self, run: RunContext, junit: Path, plugin: GatePlugin) -> None:
        self.run, self.junit, self.plugin = run, junit, plugin
        self.output = io.StringIO()
        self.code = PYTEST_INTERNAL_ERROR  # until pytest returns
        self.seconds = 0.0
        self.thread = threading.Thread(target=self._main, name="ivhsuite-scenarios", daemon=True)

    def start(self) -> None:
        self.run.beside = True
        self.thread.start()

    def _main(self) -> None:
        began = time.monotonic()
        try:
            self.code = _pytest(self.run, self.junit, self.plugin, beside=True)
        except BaseException as exc:  # noqa: BLE001 - pytest's own crash: the half could not judge
            print(f"ivhsuite: the scenarios beside the generated half crashed: {exc!r}", flush=True)
        finally:
            self.seconds = time.monotonic() - began

    def join(self) -> None:
        """Wait for the scenarios (asked to stop first when the run is stopping); a second Ctrl-C does not cut it short."""
        deadline = time.monotonic() + STOP_WAIT
        while self.thread.is_alive():
            if self.run.stopping.is_set() and time.monotonic() > deadline:
                break  # a request that hangs past its timeout: the clean-up's sweep closes what it opened
            try:
                self.thread.join(1.0)
            except KeyboardInterrupt:
                self.run.stopping.set()


def _scenarios(run: RunContext, junit: Path, plugin: GatePlugin, result: GateResult, progress: Progress) -> None:
    """One pytest run of the scenarios ``plugin.part`` picks; outcomes and times add up over the runs."""
    began = time.monotonic()
    with ticking(progress, "scenarios", plugin.counts_text):
        code = _pytest(run, junit, plugin)
    _scenarios_done(code, time.monotonic() - began, plugin, result)
    if code == PYTEST_INTERRUPTED or interrupts.received():
        raise KeyboardInterrupt


def _scenarios_done(code: int, seconds: float, plugin: GatePlugin, result: GateResult) -> None:
    """Add one pytest run of the scenarios to the result: the worst code of the runs, their time, their outcomes."""
    result.half_seconds["scenarios"] = result.half_seconds.get("scenarios", 0.0) + seconds
    previous = result.halves.get("scenarios", ExitCode.OK)
    if previous in (ExitCode.OK, PYTEST_NO_TESTS) or code not in (ExitCode.OK, ExitCode.FAILED, PYTEST_NO_TESTS):
        result.halves["scenarios"] = code  # the worst of the runs: an error over a failure over a pass
    result.scenario_outcomes = dict(plugin.outcomes)
    result.scenario_errors = list(plugin.errors)
    result.scenario_environmental = list(plugin.environmental)


def _generated_counts(run: RunContext) -> str:
    found = len(run.findings)
    return f"{run.counters.generated} requests" + (f", {found} broken promise(s)" if found else "")


def _pytest(run: RunContext, junit: Path, plugin: GatePlugin, *, beside: bool = False) -> int:
    """pytest over the packaged scenarios, in this process.

    ``beside``: on a thread while schemathesis runs on the main one. pytest's capture and some
    plugins swap process-wide state (``sys.stdout``, :data:`THREAD_UNSAFE_PLUGINS`,
    ``os.environ``) for every test, which would catch or undo the other half's: they stay off,
    and the caller routes the thread's output through the redacting stdout it installed.
    """
    import pytest

    args = [
        str(packaged.contract_tests()),
        # Not the pytest configuration of whatever project the suite is run from (its addopts,
        # its plugins), and no cache: the tests may live in site-packages, where nothing is written.
        "-c",
        os.devnull,
        f"--rootdir={Path.cwd()}",
        "-p",
        "no:cacheprovider",
        # Nor the pytest plugins installed beside it (the scenarios need none): loading them cost seconds
        # of CPU before the first scenario, in the gate's critical path.
        "--disable-plugin-autoload",
        # sys.stdout and sys.stderr only: a live progress display keeps its terminal meanwhile.
        "--capture=no" if beside else "--capture=sys",
        f"--junitxml={junit}",
        "-o",
        "junit_suite_name=ivhsuite-scenarios",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        "-q",
        "-rfEs",
    ]
    if beside:
        with _environ_untouched():
            return int(pytest.main([*args, *THREAD_UNSAFE_PLUGINS], plugins=[plugin]))
    with redacted_stdout(run.secrets):
        return int(pytest.main(args, plugins=[plugin]))


@contextmanager
def _environ_untouched() -> Iterator[None]:
    """pytest names the running test in ``os.environ`` (``PYTEST_CURRENT_TEST``), set and deleted around each test.

    Beside the generated half, schemathesis's workers read ``os.environ`` all the while (requests looks
    for proxy settings on every request), and a key deleted while one iterates raises ``KeyError`` there:
    an error of the generated half that is nobody's. So the beside run leaves the environment alone.
    """
    from _pytest import runner as pytest_runner

    original = getattr(pytest_runner, "_update_current_test_var", None)
    if original is None:  # another pytest: nothing to hold back
        yield
        return
    pytest_runner._update_current_test_var = lambda item, when: None  # type: ignore[attr-defined]
    try:
        yield
    finally:
        pytest_runner._update_current_test_var = original  # type: ignore[attr-defined]


def _verdict(result: GateResult) -> int:
    """The run's exit code: a signal, then a broken promise, an unstable network, a half that could not judge."""
    return strongest(
        result.halves.get("interrupted", ExitCode.OK),
        ExitCode.FAILED if result.findings else ExitCode.OK,  # a broken promise outweighs an error elsewhere
        ExitCode.UNSTABLE if result.environment.unstable else ExitCode.OK,
        ExitCode.USAGE if _could_not_judge(result) else ExitCode.OK,
    )


def _could_not_judge(result: GateResult) -> bool:
    generated = result.halves.get("schemathesis", ExitCode.OK)
    # schemathesis exits 1 for failures (all findings, or dropped as the network's) and for errors:
    # only an error that was not the network's means the half could not judge.
    generated_failed = generated not in (ExitCode.OK, ExitCode.FAILED) or (
        generated == ExitCode.FAILED and bool(result.generated_errors)
    )
    scenarios = result.halves.get("scenarios", ExitCode.OK)
    return generated_failed or bool(result.scenario_errors) or scenarios not in (ExitCode.OK, ExitCode.FAILED)


def _left_open(run: RunContext) -> int | None:
    """Live sessions of the run still listed after the clean-up (should be 0); None when listing failed."""
    try:
        sessions = run.closer.list_all_sessions()
    except Exception:  # noqa: BLE001 - the count is informative only
        return None
    return len(live_of_run(sessions, run.prefix))


def _write_reports(folder: Path, result: GateResult, secrets: tuple[str | None, ...]) -> None:
    write_failures(folder / "failures.txt", result.findings, secrets)
    environmental.write_junit(result.environment, folder / NETWORK_JUNIT, secrets)
    sources = [
        folder / COLD_JUNIT,
        folder / "schemathesis" / "junit.xml",
        folder / SCENARIOS_JUNIT,
        folder / ALONE_JUNIT,
        folder / NETWORK_JUNIT,
        folder / CHOICES_JUNIT,
    ]
    junit.merge(sources, folder / "junit.xml", secrets)
    redact_tree(folder, secrets)
