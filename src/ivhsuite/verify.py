"""``ivhsuite verify``: the gate, then the load scenarios (the conversation in the standard profile), then one verdict and a report.

    ivhsuite verify [--base-url URL] [--report-dir DIR] [--profile smoke|standard] [-v]

Everything goes to ``reports/<UTC stamp>/`` (or ``--report-dir``): ``index.html``
(self-contained), ``summary.json``, one merged ``junit.xml``, and the raw schemathesis
(``gate/``) and locust (``load-<scenario>/``) artifacts. With no base URL, one embedded
emulator serves the whole run. The terminal shows steps, phases and counts; the tools' own
output goes to ``gate/gate.log`` and ``load-<scenario>/locust.log`` (and, with ``-v``, to the
terminal too). Exit 0 green, 1 red (a broken promise or threshold: it wins), 2 a usage or
configuration problem (or a gate that could not judge), 3 the endpoint was too unstable to
judge, 130 interrupted (SIGINT), 143 terminated (SIGTERM): each phase closes its sessions first.
"""

from __future__ import annotations

import datetime as dt
import io
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import IO, TextIO

from ivhsuite import environmental, interrupts, junit
from ivhsuite.config import ENV_ACCESS_TOKEN, ENV_APPKEY, Target, child_environ, setting
from ivhsuite.embedded import HOSTING, endpoint
from ivhsuite.errors import ConfigError
from ivhsuite.gate.options import DEFAULT_MAX_EXAMPLES
from ivhsuite.load.locust_child import LocustRun, default_locustfile, exit_code_of, locust_command
from ivhsuite.load.results import live_counts, read_load_summary
from ivhsuite.progress import Progress
from ivhsuite.protocol import EXIT_WORDS, ExitCode
from ivhsuite.redact import redact
from ivhsuite.report import limits, markdown, page
from ivhsuite.summaries import GateSummary, LoadSummary, TargetInfo, VerifySummary


@dataclass(frozen=True)
class Profile:
    """How hard a verification pushes: the gate's example budget and each scenario's load."""

    max_examples: int
    users: int
    spawn_rate: float
    run_time_s: int
    max_transport_errors: float = 0.05
    conversation: bool = True  # the conversation scenario too (smoke leaves it out: a quick look)


PROFILES = {
    "smoke": Profile(max_examples=5, users=4, spawn_rate=4, run_time_s=8, conversation=False),
    "standard": Profile(max_examples=DEFAULT_MAX_EXAMPLES, users=10, spawn_rate=5, run_time_s=20),
}
SCENARIOS = ("create", "preemption", "lifecycle", "conversation")
POLL_SECONDS = 0.5


def scenarios_of(profile: Profile) -> tuple[str, ...]:
    return tuple(s for s in SCENARIOS if profile.conversation or s != "conversation")


def choose_profile(name: str, max_examples: int | None = None, load_seconds: int | None = None) -> Profile:
    """The named profile, with the gate's example budget or the seconds per scenario overridden."""
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r} (known: {', '.join(sorted(PROFILES))})")
    profile = PROFILES[name]
    if max_examples is not None or load_seconds is not None:
        profile = Profile(
            max_examples=profile.max_examples if max_examples is None else max_examples,
            users=profile.users,
            spawn_rate=profile.spawn_rate,
            run_time_s=profile.run_time_s if load_seconds is None else load_seconds,  # 0 is refused
            conversation=profile.conversation,
        )
    if profile.max_examples < 1 or profile.run_time_s < 1:
        raise ConfigError("--max-examples and --load-seconds must be at least 1")
    return profile


@dataclass(frozen=True)
class VerifyRun:
    """How one verification runs: where it writes, how hard it pushes, who watches."""

    folder: Path
    profile_name: str
    profile: Profile
    progress: Progress
    thresholds: str | None = None  # a thresholds file of the user's, for every load run
    verbose: bool = False  # the tools' own output on the terminal too


def verify(target: Target, run: VerifyRun) -> VerifySummary:
    """Run everything against one endpoint and write the reports; returns the summary."""
    began, started = time.monotonic(), dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    folder = run.folder
    with endpoint(target, quota=HOSTING["verify"].quota) as live:
        secrets = (live.access_token,)  # the embedded emulator's own token too
        gate = _run_gate(live, run, secrets, embedded=target.base_url is None)
        if gate.exit_code == ExitCode.USAGE:
            raise ConfigError(gate.error or "the gate could not run: see gate/gate.log")
        _stop_if_signalled(gate.exit_code)
        load = []
        for scenario in scenarios_of(run.profile):
            load.append(_run_load(live, scenario, run))
            _stop_if_signalled(load[-1].exit_code)
    summary = VerifySummary(
        started=started,
        duration_s=round(time.monotonic() - began, 1),
        profile=run.profile_name,
        target=TargetInfo(
            base_url=target.base_url or "",
            embedded=target.base_url is None,
            signed=target.signed,
            project_id=target.project_id,
            quota=HOSTING["verify"].quota if target.base_url is None else setting("quota"),
        ),
        gate=gate,
        load=load,
        versions=_versions(),
    )
    summary.reasons = reasons(gate, load)
    summary.unstable = unstable(gate, load)
    _write(folder, summary, secrets)
    return summary


def _versions() -> dict[str, str]:
    """ivhsuite's and the tools' versions, for the report's header."""
    found = {}
    for name in ("ivhsuite", "schemathesis", "locust"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "unknown"
    return found


def _stop_if_signalled(code: int) -> None:
    """A phase ended by SIGINT or SIGTERM (its sessions closed): no further phase runs."""
    if code == ExitCode.TERMINATED or interrupts.received() == signal.SIGTERM:
        raise interrupts.Terminated
    if code == ExitCode.INTERRUPTED or interrupts.received():
        raise KeyboardInterrupt


def unstable(gate: GateSummary, load: list[LoadSummary]) -> list[str]:
    """Why a phase could not judge for the network's sake (exit 3), one line each."""
    found = []
    if gate.exit_code == ExitCode.UNSTABLE:
        found.append(f"gate: {environmental.verdict(gate.environment) or 'the endpoint was too unstable to judge'}")
    for run in load:
        if run.exit_code == ExitCode.UNSTABLE:
            why = environmental.verdict(run.environment) or _behind(run) or "the endpoint was too unstable to judge"
            found.append(f"load {run.scenario}: {why}")
    return found


def _behind(run: LoadSummary) -> str:
    """The load generator could not keep the documented pace: the machine's, not the endpoint's."""
    said = ", ".join(f"{t.name} {limits.actual_text(t)} vs {limits.limit_text(t)}" for t in run.behind_pace)
    return f"the load generator fell behind the documented pace ({said}): short of CPU" if said else ""


def reasons(gate: GateSummary, load: list[LoadSummary]) -> list[str]:
    """Why the verdict is red, one line each, naming the broken promise or threshold."""
    found = []
    for failure in gate.failures:
        line = f"gate: broken promise: {failure.title}"
        if line not in found:
            found.append(line)
    if gate.exit_code not in (ExitCode.OK, ExitCode.UNSTABLE) and not gate.failures:
        found.append(f"gate: exit code {gate.exit_code}, see gate/gate.log")
    for run in load:
        failed = run.failed_thresholds
        found += [
            f"load {run.scenario}: threshold {t.name} failed ({limits.actual_text(t)} vs {limits.limit_text(t)})"
            for t in failed
        ]
        if run.exit_code not in (ExitCode.OK, ExitCode.UNSTABLE) and not failed:
            found.append(f"load {run.scenario}: exit code {run.exit_code}, see {run.folder}/locust.log")
    return found


class _Tee(io.TextIOBase):
    """Writes to several streams: the log file, and the terminal with ``-v``."""

    def __init__(self, *streams: IO[str]) -> None:
        self._streams = streams

    def write(self, text: str) -> int:
        for stream in self._streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self._streams:
            stream.flush()


@contextmanager
def _tool_output(log: TextIO, verbose: bool) -> Iterator[None]:
    """Everything the gate's tools print (pytest, schemathesis) goes to its log, not through the live display."""
    out = _Tee(log, sys.stdout) if verbose else log
    with redirect_stdout(out), redirect_stderr(out):  # type: ignore[type-var]
        yield


def _run_gate(live: Target, run: VerifyRun, secrets: tuple[str | None, ...], *, embedded: bool) -> GateSummary:
    from ivhsuite.gate import GateOptions, gate_summary, run_gate

    step, folder, progress = "contract gate", run.folder / "gate", run.progress
    progress.start(step)
    folder.mkdir(parents=True, exist_ok=True)
    options = GateOptions.from_env(
        target=live,
        report_dir=folder,
        max_examples=run.profile.max_examples,
        max_transport_errors=run.profile.max_transport_errors,
    )
    if embedded:  # verify started this emulator: its quota is known exactly
        options = replace(options, quota=HOSTING["verify"].quota, quota_exact=True)
    with (folder / "gate.log").open("w", encoding="utf-8") as log, _tool_output(log, run.verbose):
        try:
            result = run_gate(options, progress=progress)  # its lines go where _tool_output sends them
        except ConfigError as exc:
            progress.done(step, f"error: {exc}")
            return GateSummary(exit_code=ExitCode.USAGE, error=str(exc))
    outcomes = ", ".join(f"{n} {k}" for k, n in result.scenario_outcomes.items() if n)
    counts = f"{result.generated_requests} generated requests, scenarios: {outcomes or 'none'}"
    progress.done(step, f"{_word(result.exit_code)}: {counts}")
    return gate_summary(result, secrets)


def _load_environ(live: Target) -> dict[str, str]:
    """The child's environment: pinned flags, and the credentials (never on a command line)."""
    environ = child_environ()
    if live.appkey and live.access_token:
        environ.update({ENV_APPKEY: live.appkey, ENV_ACCESS_TOKEN: live.access_token})
    return environ


def _pump(source: IO[str], sinks: list[IO[str]]) -> None:
    for line in source:
        for sink in sinks:
            sink.write(line)
            sink.flush()


def _run_load(live: Target, scenario: str, run: VerifyRun) -> LoadSummary:
    step, folder, profile, progress = f"load: {scenario}", run.folder / f"load-{scenario}", run.profile, run.progress
    progress.start(step)
    began = time.monotonic()
    folder.mkdir(parents=True, exist_ok=True)
    locust = LocustRun(
        scenario=scenario,
        users=profile.users,
        spawn_rate=profile.spawn_rate,
        run_time=f"{profile.run_time_s}s",
        base_url=live.base_url or "",
        project_id=live.project_id,
        thresholds=run.thresholds,
        max_transport_errors=profile.max_transport_errors,
        extra=("--csv-full-history",),
    )
    command = locust_command(locust, default_locustfile(), folder)  # one child: gevent needs its own process
    with (folder / "locust.log").open("w", encoding="utf-8") as log:
        # its own process group: this process relays one signal to it, and waits for its sweep
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_load_environ(live),
            start_new_session=True,
        )
        sinks: list[IO[str]] = [log, sys.stdout] if run.verbose else [log]
        pump = threading.Thread(target=_pump, args=(process.stdout, sinks), daemon=True)
        pump.start()
        phase = f"{profile.users} users for {profile.run_time_s} s"

        def watch() -> int:
            while process.poll() is None:
                requests, failures = live_counts(folder)
                progress.update(phase, f"{requests} requests, {failures} failed")
                time.sleep(POLL_SECONDS)
            return process.returncode

        code, _ = interrupts.relay_to_child(process, watch)
        code = exit_code_of(code)
        pump.join()
    result = read_load_summary(scenario, folder, code, round(time.monotonic() - began, 1))
    failed = len(result.failed_thresholds)
    progress.done(step, f"{_word(code)}: {len(result.thresholds) - failed} thresholds passed, {failed} failed")
    return result


def _word(code: int) -> str:
    if code in (ExitCode.OK, ExitCode.UNSTABLE):
        return EXIT_WORDS[ExitCode(code)] + (" (the network, exit 3)" if code == ExitCode.UNSTABLE else "")
    return f"{EXIT_WORDS[ExitCode.FAILED]} (exit {code})"


def _write(folder: Path, summary: VerifySummary, secrets: tuple[str | None, ...]) -> None:
    (folder / "summary.json").write_text(redact(summary.to_json(), secrets), encoding="utf-8")
    (folder / "index.html").write_text(redact(page.render(summary), secrets), encoding="utf-8")
    sources = [folder / "gate" / "junit.xml"]
    for scenario in SCENARIOS:  # a scenario the profile left out has no files: merge skips it
        sources += [folder / f"load-{scenario}" / "thresholds.xml", folder / f"load-{scenario}" / "network-junit.xml"]
    junit.merge(sources, folder / "junit.xml", secrets)
    markdown.append_step_summary(summary)
    for log in folder.rglob("*.log"):
        log.write_text(redact(log.read_text(encoding="utf-8", errors="replace"), secrets), encoding="utf-8")
