"""``ivhsuite verify``: the gate, then the three load scenarios, then one verdict and a report.

    ivhsuite verify [--base-url URL] [--report-dir DIR] [--profile smoke|standard]

Everything goes to ``reports/<UTC stamp>/`` (or ``--report-dir``): ``index.html``
(self-contained), ``summary.json``, one merged ``junit.xml``, and the raw schemathesis
(``gate/``) and locust (``load-<scenario>/``) artifacts. With no base URL, one embedded
emulator serves the whole run. Exit 0 green, 1 red (a broken promise or threshold: it
wins), 2 a usage or configuration problem, 3 the endpoint was too unstable to judge,
130 interrupted (SIGINT), 143 terminated (SIGTERM): each phase closes its sessions first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ivhsuite import environmental, interrupts, junit
from ivhsuite.config import ENV_BASE_URL, Target, setting, share_argument
from ivhsuite.embedded import endpoint
from ivhsuite.errors import ConfigError
from ivhsuite.gate.options import DEFAULT_MAX_EXAMPLES
from ivhsuite.load.results import read_load_summary
from ivhsuite.progress import Progress, for_terminal
from ivhsuite.protocol import ExitCode
from ivhsuite.redact import redact
from ivhsuite.report import markdown, page
from ivhsuite.runs import run_dir
from ivhsuite.summaries import EnvironmentSummary, GateSummary, LoadSummary, TargetInfo, VerifySummary


@dataclass(frozen=True)
class Profile:
    """How hard a verification pushes: the gate's example budget and each scenario's load."""

    max_examples: int
    users: int
    spawn_rate: float
    run_time_s: int
    max_transport_errors: float = 0.05


PROFILES = {
    "smoke": Profile(max_examples=5, users=4, spawn_rate=4, run_time_s=8),
    "standard": Profile(max_examples=DEFAULT_MAX_EXAMPLES, users=10, spawn_rate=5, run_time_s=20),
}
SCENARIOS = ("create", "preemption", "lifecycle")


def add_verify_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("verify", help="gate + load profile: one verdict and a readable report")
    parser.add_argument("--base-url", help=f"endpoint (default: ${ENV_BASE_URL}; neither: the embedded emulator)")
    parser.add_argument("--report-dir", help="where to write (default: reports/<UTC timestamp>)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="standard", help="default: standard")
    parser.add_argument("--max-examples", type=int, help="override the profile's gate example budget")
    parser.add_argument("--load-seconds", type=int, help="override the profile's seconds per load scenario")
    parser.add_argument(
        "--max-transport-errors",
        type=share_argument,
        metavar="SHARE",
        help="share of requests the network may leave unanswered (after safe retries) before exit 3 (default 5%%)",
    )
    parser.set_defaults(handler=run_verify_command)


def run_verify_command(args: argparse.Namespace) -> int:
    target = Target.from_env(base_url=args.base_url)
    profile = PROFILES[args.profile]
    if args.max_examples is not None or args.load_seconds is not None:
        profile = Profile(
            max_examples=args.max_examples or profile.max_examples,
            users=profile.users,
            spawn_rate=profile.spawn_rate,
            run_time_s=args.load_seconds or profile.run_time_s,
        )
    if profile.max_examples < 1 or profile.run_time_s < 1:
        raise ConfigError("--max-examples and --load-seconds must be at least 1")
    tolerance = args.max_transport_errors
    profile = replace(profile, max_transport_errors=setting("max_transport_errors", tolerance))
    folder = run_dir(args.report_dir)
    progress = for_terminal()
    try:
        summary = verify(target, folder, args.profile, profile, progress)
    finally:
        progress.close()
    print(f"ivhsuite verify: {summary.verdict.upper()}: report {folder / 'index.html'}")
    for reason in [*summary.reasons, *summary.unstable]:
        print(f"  - {reason}")
    for line in network_lines(summary.gate.environment, summary.load):
        print(f"  ~ {line}")
    if summary.reasons:
        return ExitCode.FAILED  # a broken promise or threshold wins
    return ExitCode.UNSTABLE if summary.unstable else ExitCode.OK


def network_lines(gate: EnvironmentSummary, load: list[LoadSummary]) -> list[str]:
    """What the network did, phase by phase, and the sessions the sweeps closed."""
    lines = [f"gate: {environmental.describe(gate)}"]
    lines += [f"load {run.scenario}: {environmental.describe(run.environment)}" for run in load]
    swept = gate.swept + sum(run.environment.swept for run in load)
    if swept:
        lines.append(environmental.swept_words(swept))
    return lines


def verify(target: Target, folder: Path, profile_name: str, profile: Profile, progress: Progress) -> VerifySummary:
    """Run everything against one endpoint and write the reports; returns the summary."""
    began, started = time.monotonic(), dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    secrets = (target.access_token,)
    with endpoint(target) as live:
        gate = _run_gate(live, folder / "gate", profile, progress, secrets)
        if gate.exit_code == ExitCode.USAGE and gate.error:
            raise ConfigError(gate.error)
        _stop_if_signalled(gate.exit_code)
        load = []
        for scenario in SCENARIOS:
            load.append(_run_load(live, scenario, folder / f"load-{scenario}", profile, progress))
            _stop_if_signalled(load[-1].exit_code)
    summary = VerifySummary(
        started=started,
        duration_s=round(time.monotonic() - began, 1),
        profile=profile_name,
        target=TargetInfo(
            base_url=target.base_url or "",
            embedded=target.base_url is None,
            signed=target.signed,
            project_id=target.project_id,
        ),
        gate=gate,
        load=load,
    )
    summary.reasons = reasons(gate, load)
    summary.unstable = unstable(gate, load)
    _write(folder, summary, secrets)
    return summary


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
            why = environmental.verdict(run.environment) or "the endpoint was too unstable to judge"
            found.append(f"load {run.scenario}: {why}")
    return found


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
        found += [f"load {run.scenario}: threshold {t.name} failed ({t.actual} vs {t.limit})" for t in failed]
        if run.exit_code not in (ExitCode.OK, ExitCode.UNSTABLE) and not failed:
            found.append(f"load {run.scenario}: exit code {run.exit_code}, see {run.folder}/locust.log")
    return found


def _run_gate(
    live: Target, folder: Path, profile: Profile, progress: Progress, secrets: tuple[str | None, ...]
) -> GateSummary:
    from ivhsuite.gate import GateOptions, gate_summary, run_gate

    progress.start("contract gate")
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "gate.log").open("w", encoding="utf-8") as log:
        try:
            options = GateOptions(
                target=live,
                report_dir=folder,
                max_examples=profile.max_examples,
                max_transport_errors=profile.max_transport_errors,
            )
            result = run_gate(options, out=log)
        except ConfigError as exc:
            progress.done("contract gate", f"error: {exc}")
            return GateSummary(exit_code=ExitCode.USAGE, error=str(exc))
    progress.done("contract gate", _word(result.exit_code))
    return gate_summary(result, secrets)


def _run_load(live: Target, scenario: str, folder: Path, profile: Profile, progress: Progress) -> LoadSummary:
    step = f"load: {scenario}"
    progress.start(step)
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "ivhsuite.cli", "load", "--scenario", scenario, "--base-url", live.base_url or ""]
    command += ["-u", str(profile.users), "-r", f"{profile.spawn_rate:g}", "-t", f"{profile.run_time_s}s"]
    command += ["--project-id", live.project_id, "--report-dir", str(folder)]
    command += ["--max-transport-errors", str(profile.max_transport_errors), "--", "--csv-full-history"]
    with (folder / "locust.log").open("w", encoding="utf-8") as log:
        # its own process group: this process relays one signal to it, and waits for its sweep
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = process.wait()
        except KeyboardInterrupt as exc:
            signum = interrupts.interrupted_by(exc)
            with interrupts.shielded():
                process.send_signal(signum)
                process.wait()
            code = interrupts.exit_code_for(signum)
    result = read_load_summary(scenario, folder, code)
    progress.done(step, _word(code))
    return result


def _word(code: int) -> str:
    words = {ExitCode.OK: "passed", ExitCode.UNSTABLE: "UNSTABLE (the network, exit 3)"}
    return words.get(code, f"FAILED (exit {code})")  # type: ignore[call-overload]


def _write(folder: Path, summary: VerifySummary, secrets: tuple[str | None, ...]) -> None:
    (folder / "summary.json").write_text(redact(summary.to_json(), secrets), encoding="utf-8")
    (folder / "index.html").write_text(redact(page.render(summary), secrets), encoding="utf-8")
    sources = [folder / "gate" / "junit.xml"]
    for scenario in SCENARIOS:
        sources += [folder / f"load-{scenario}" / "thresholds.xml", folder / f"load-{scenario}" / "network-junit.xml"]
    junit.merge(sources, folder / "junit.xml", secrets)
    markdown.append_step_summary(summary)
    for log in folder.rglob("*.log"):
        log.write_text(redact(log.read_text(encoding="utf-8", errors="replace"), secrets), encoding="utf-8")
