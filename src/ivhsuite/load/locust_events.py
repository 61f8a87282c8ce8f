"""A load run wired into locust's events: options, target, emulator, web tab, cleanup, thresholds.

Only the master (or the single local process) decides: it picks the target (``--host``,
else ``IVH_BASE_URL``, else an embedded emulator it starts once and hands to the
workers as the host), sweeps the run's sessions (by the run's tag) when the users are
gone, evaluates the thresholds on the aggregated stats, counts what the network did
(:mod:`ivhsuite.load.network`) and sets the exit code: 1 a failed threshold (it wins),
3 the endpoint was too unstable to judge (``--max-transport-errors``), else 0.
Workers only run users.

>>> from locust import events                      # doctest: +SKIP
>>> install(events, thresholds_file=HERE / "thresholds.toml")
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gevent
from locust import LoadTestShape
from locust.runners import STATE_INIT, STATE_RUNNING, STATE_SPAWNING, STATE_STOPPED, MasterRunner, WorkerRunner

from ivhsuite import environmental
from ivhsuite.client import IvhClient
from ivhsuite.config import ENV_BASE_URL, Target, setting
from ivhsuite.errors import ConfigError
from ivhsuite.load import emulator_proc, network, shapes, threshold_files, thresholds, webtab
from ivhsuite.load.options import ScenarioOptions, add_arguments
from ivhsuite.protocol import EXIT_WORDS, ExitCode, strongest
from ivhsuite.report_dirs import run_dir
from ivhsuite.run_sessions import SweepResult, new_run_id, sweep
from ivhsuite.summaries import EnvironmentSummary

log = logging.getLogger("ivhsuite")

MASTER_SETTLE = 3.0  # seconds workers get to close their own sessions before the master does
ABORT_POLL = 2.0
NETWORK_JSON = "network.json"
NETWORK_JUNIT = "network-junit.xml"


@dataclass
class LoadRun:
    """What the deciding process knows about the run."""

    thresholds: thresholds.Thresholds
    target_note: str = ""
    emulator: emulator_proc.EmulatorProcess | None = None
    sweep: SweepResult | None = None
    dirty: bool = True  # a test ran since the last clean sweep
    started: float = field(default_factory=time.monotonic)
    aborted: list[str] = field(default_factory=list)
    sigterm: Any = None  # our SIGTERM watcher, until locust installs its own
    terminating: bool = False
    swept: int = 0  # live sessions of the run only the sweep found (a create answer lost)


def run_of(environment: Any) -> LoadRun | None:
    return getattr(environment, "ivhsuite_run", None)


def install(events: Any, *, thresholds_file: Path) -> None:
    """Register the listeners on ``events`` (locust's module-level ``events``)."""
    events.init_command_line_parser.add_listener(add_arguments)
    events.init.add_listener(functools.partial(_on_init, default_thresholds=thresholds_file))
    events.test_start.add_listener(_on_test_start)
    events.test_stop.add_listener(_on_test_stop)
    events.quitting.add_listener(_on_quitting)


def _deciding(environment: Any) -> bool:
    return environment.runner is not None and not isinstance(environment.runner, WorkerRunner)


def _options(environment: Any) -> ScenarioOptions:
    return ScenarioOptions.from_namespace(environment.parsed_options)


def _on_init(environment: Any, default_thresholds: Path, web_ui: Any = None, **_: Any) -> None:
    # httpx logs every request URL at INFO, signature included; locust's root logger is at INFO
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not _deciding(environment):
        return
    parsed = environment.parsed_options
    if parsed is not None and not getattr(parsed, "ivh_run_id", ""):
        parsed.ivh_run_id = new_run_id()  # sent to the workers with the spawn message
    opts = _options(environment)
    try:
        Target.from_env(project_id=opts.project_id)  # incomplete credentials: a usage error, now
        run = LoadRun(thresholds.read_thresholds(opts.thresholds or default_thresholds))
        _choose_target(environment, run, opts)
    except ConfigError as exc:
        log.error("ivhsuite: error: %s", exc)
        sys.exit(2)
    environment.ivhsuite_run = run
    if web_ui is not None:
        webtab.install(web_ui, functools.partial(_tab_rows, environment))
    if opts.thresholds_abort or run.thresholds.abort_on_fail:
        gevent.spawn(_abort_watch, environment, run)
    if parsed is not None and parsed.headless:
        run.sigterm = gevent.signal_handler(signal.SIGTERM, _sigterm_as_ctrl_c, run)


def _sigterm_as_ctrl_c(run: LoadRun) -> None:
    """SIGTERM (a CI timeout) must close the run's sessions too.

    Headless with a shape, locust installs its SIGTERM handler only after the shape has
    finished; until then SIGTERM would kill the process, sessions and all. So it takes
    the Ctrl-C path (which stops the users and runs the cleanup) until test_stop hands over.
    """
    if run.terminating:
        return  # once: a second SIGTERM must not interrupt the cleanup of the first
    run.terminating = True
    log.warning("SIGTERM: stopping the run; its sessions are closed first")
    hub = gevent.get_hub()  # what gevent does with a real Ctrl-C: raise it in the main greenlet
    hub.loop.run_callback(hub.parent.throw, KeyboardInterrupt)


def _release_sigterm(run: LoadRun) -> None:
    if run.sigterm is not None:
        run.sigterm.cancel()
        run.sigterm = None


def _choose_target(environment: Any, run: LoadRun, opts: ScenarioOptions) -> None:
    if environment.host:
        run.target_note = environment.host
        return
    if setting("base_url"):
        environment.host = setting("base_url").rstrip("/")
        run.target_note = f"{environment.host} (from {ENV_BASE_URL})"
        return
    emulator = emulator_proc.start(opts.project_id, opts.emulator_quota, opts.emulator_prepare_seconds)
    atexit.register(emulator.stop)
    run.emulator = emulator
    environment.host = emulator.base_url
    faults = f", FAULTS: {emulator.faults}" if emulator.faults else ""
    run.target_note = f"{emulator.base_url} (embedded emulator{faults})"
    log.warning(
        "no --host and no %s: started the embedded emulator at %s (project %s, quota %d%s)",
        ENV_BASE_URL,
        emulator.base_url,
        opts.project_id,
        opts.emulator_quota,
        faults,
    )


def _on_test_start(environment: Any, **_: Any) -> None:
    run = run_of(environment)
    if run is not None:
        run.dirty, run.started, run.aborted = True, time.monotonic(), []


def _on_test_stop(environment: Any, **_: Any) -> None:
    run = run_of(environment)
    if run is not None and getattr(environment.parsed_options, "headless", False):
        _release_sigterm(run)  # locust installs its own SIGTERM handler next
    # A master quitting fires test_stop before its workers stop: sweep later, in quitting.
    if run is not None and _deciding(environment) and environment.runner.user_count == 0:
        _sweep(environment, run, settle=0.0)


def _on_quitting(environment: Any, **_: Any) -> None:
    run = run_of(environment)
    if run is None or not _deciding(environment):
        return
    if environment.runner.state not in (STATE_STOPPED, STATE_INIT):
        # Ctrl-C or SIGTERM: locust quits its runner only after this event; stop the users
        # first, so they close their sessions and the sweep does not race them.
        environment.runner.stop()
    try:
        if run.dirty or run.sweep is None or not run.sweep.clean:
            settle = MASTER_SETTLE if isinstance(environment.runner, MasterRunner) else 0.0
            _sweep(environment, run, settle=settle)
        verdicts = _final_verdicts(environment, run)
        network_summary = _network(environment, run)
    finally:
        if run.emulator is not None:
            run.emulator.stop()
    failed = any(v.failed and not v.rule.generator for v in verdicts)
    unstable = environmental.verdict(network_summary) or _pacing(verdicts)
    code = strongest(ExitCode.FAILED if failed else ExitCode.OK, ExitCode.UNSTABLE if unstable else ExitCode.OK)
    environment.process_exit_code = int(code)
    word = EXIT_WORDS[code]
    log.info("load run %s: %s", word, "threshold(s) failed" if failed else unstable or "all green")


def _pacing(verdicts: list[thresholds.Verdict]) -> str:
    """The generator's health as an environmental verdict: it fell behind the documented pace, not the endpoint."""
    behind = [v for v in verdicts if v.failed and v.rule.generator]
    if not behind:
        return ""
    said = ", ".join(f"{v.rule.name} {thresholds.fmt(v.actual)} (limit {v.rule.describe()})" for v in behind)
    why = (
        f"load generator behind the documented pace: {said}; it is short of CPU "
        "(fewer users per process, or --processes), so the endpoint is not judged on it"
    )
    log.error("%s", why)
    return why


def _sweep(environment: Any, run: LoadRun, settle: float) -> None:
    opts = _options(environment)
    target = Target.from_env(base_url=environment.host, project_id=opts.project_id)
    with IvhClient(target) as client:
        result = sweep(client, opts.userid_prefix, settle=settle)
    run.sweep = result
    if result.left is None:
        log.error("cleanup: could not list the sessions of project %s: %s", opts.project_id, result.error)
        return
    run.dirty = False
    if result.closed:
        run.swept += len(result.closed)
        log.warning(
            "cleanup: %d session(s) of this run were still live after the users stopped"
            " (a create answer lost, or a close that failed); closed: %s",
            len(result.closed),
            ", ".join(result.closed),
        )
    level = logging.INFO if not result.left else logging.ERROR
    log.log(
        level,
        "cleanup: listsessionofprojectid shows %d live session(s) of this run (UserId prefix %s)%s",
        len(result.left),
        opts.userid_prefix,
        f": {', '.join(result.left)}" if result.left else "",
    )


def _snapshot(environment: Any, run: LoadRun) -> thresholds.StatsSnapshot:
    left = None if run.sweep is None or run.sweep.left is None else len(run.sweep.left)
    return thresholds.snapshot_of(environment.runner.stats, left)


def _final_verdicts(environment: Any, run: LoadRun) -> list[thresholds.Verdict]:
    snap = _snapshot(environment, run)
    verdicts = thresholds.evaluate(run.thresholds, snap)
    text = threshold_files.table(verdicts, run.thresholds.source)
    if run.aborted:
        text += f"\n  run aborted early (--thresholds-abort): {', '.join(run.aborted)}"
    log.info("%s", text)
    opts = _options(environment)
    folder = run_dir(opts.ivh_report_dir or None, "load")
    threshold_files.write_junit(verdicts, folder / threshold_files.JUNIT_NAME)
    threshold_files.write_json(verdicts, snap, folder / threshold_files.JSON_NAME, run.thresholds.source)
    log.info("thresholds written to %s and %s", folder / threshold_files.JUNIT_NAME, folder / threshold_files.JSON_NAME)
    return verdicts


def _network(environment: Any, run: LoadRun) -> EnvironmentSummary:
    """What the network did to the run: logged, and written as ``network.json`` and ``network-junit.xml``."""
    opts = _options(environment)
    summary = network.environment_of(_snapshot(environment, run), opts.max_transport_errors, run.swept)
    log.info("%s", environmental.describe(summary))
    for line in environmental.per_operation(summary):
        log.info("  %s", line)
    if summary.swept:
        log.info("%s", environmental.swept_words(summary.swept))
    why = environmental.verdict(summary)
    if why:
        log.error("%s", why)
    folder = run_dir(opts.ivh_report_dir or None, "load")
    (folder / NETWORK_JSON).write_text(json.dumps(asdict(summary), indent=2) + "\n", encoding="utf-8")
    environmental.write_junit(summary, folder / NETWORK_JUNIT)
    return summary


def _tab_rows(environment: Any) -> list[webtab.Row]:
    run = run_of(environment)
    if run is None or environment.runner is None:
        return []
    snap = _snapshot(environment, run)
    errors = [(e.name, _error_text(e.error), e.occurrences) for e in environment.runner.stats.errors.values()]
    live_rules = [r for r in run.thresholds.rules if r.scope != "cleanup"]
    verdicts = thresholds.evaluate(run.thresholds, snap, live_rules)
    return webtab.rows(snap, errors, run.target_note, verdicts)


def _error_text(error: Any) -> str:
    """The finding's message: locust keeps exceptions locally and their repr() on a master."""
    if isinstance(error, Exception):
        return str(error)
    text = str(error)
    head, paren, rest = text.partition("(")
    if paren and head.isidentifier() and rest.endswith(")"):
        return rest[:-1].strip("'\"")
    return text


def _abort_watch(environment: Any, run: LoadRun) -> None:
    """Stop the run at the first failing threshold (after the delay, for the noisy early seconds)."""
    rules = [r for r in run.thresholds.rules if r.abortable]
    while True:
        gevent.sleep(ABORT_POLL)
        runner = environment.runner
        if runner.state not in (STATE_RUNNING, STATE_SPAWNING) or run.aborted:
            continue
        if time.monotonic() - run.started < run.thresholds.abort_delay_s:
            continue
        failed = [v for v in thresholds.evaluate(run.thresholds, _snapshot(environment, run), rules) if v.failed]
        if failed:
            run.aborted = [v.rule.name for v in failed]
            log.error("threshold(s) failed: %s; aborting the run", ", ".join(run.aborted))
            if getattr(environment.parsed_options, "headless", False):
                runner.quit()
            else:
                runner.stop()


class IvhShape(LoadTestShape):
    """Every run goes through this shape; ``--load-shape`` picks constant (locust's usual), ramp, step, spike.

    One class, so locust (which uses the first shape class it finds) always has the same one.
    """

    use_common_options = True

    def tick(self) -> tuple[int, float] | None:
        options = self.runner.environment.parsed_options if self.runner else None
        opts = ScenarioOptions.from_namespace(options)
        peak = getattr(options, "num_users", None) or 1
        rate = getattr(options, "spawn_rate", None) or 1.0
        run_time = getattr(options, "run_time", None)
        duration = float(run_time) if run_time else (None if opts.load_shape == "constant" else opts.shape_duration)
        return shapes.plan(
            opts.load_shape, self.get_run_time(), peak=peak, rate=rate, duration=duration, steps=opts.shape_steps
        )
