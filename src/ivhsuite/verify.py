"""``ivhsuite verify``: the gate, then the three load scenarios, then one verdict and a report.

    ivhsuite verify [--base-url URL] [--report-dir DIR] [--profile smoke|standard]

Everything goes to ``reports/<UTC stamp>/`` (or ``--report-dir``): ``index.html``
(self-contained), ``summary.json``, one merged ``junit.xml``, and the raw schemathesis
(``gate/``) and locust (``load-<scenario>/``) artifacts. With no base URL, one embedded
emulator serves the whole run. Exit 0 green, 1 red, 2 a usage or configuration problem
(or a gate that could not judge), 130 interrupted (the gate closes its sessions first).
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ivhsuite import junit
from ivhsuite.config import DEFAULT_EMULATOR_QUOTA, ENV_BASE_URL, Target
from ivhsuite.embedded import endpoint
from ivhsuite.errors import ConfigError
from ivhsuite.gate.options import DEFAULT_MAX_EXAMPLES
from ivhsuite.load.results import read_load_summary
from ivhsuite.progress import Progress, for_terminal
from ivhsuite.protocol import ExitCode
from ivhsuite.redact import redact
from ivhsuite.report import markdown, page
from ivhsuite.runs import run_dir
from ivhsuite.summaries import GateSummary, LoadSummary, TargetInfo, VerifySummary


@dataclass(frozen=True)
class Profile:
    """How hard a verification pushes: the gate's example budget and each scenario's load."""

    max_examples: int
    users: int
    spawn_rate: float
    run_time_s: int


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
    parser.set_defaults(handler=run_verify_command)


def run_verify_command(args: argparse.Namespace) -> int:
    target = Target.from_env(base_url=args.base_url)
    profile = PROFILES[args.profile]
    if args.max_examples is not None or args.load_seconds is not None:
        profile = Profile(
            max_examples=profile.max_examples if args.max_examples is None else args.max_examples,
            users=profile.users,
            spawn_rate=profile.spawn_rate,
            run_time_s=profile.run_time_s if args.load_seconds is None else args.load_seconds,  # 0 is refused
        )
    if profile.max_examples < 1 or profile.run_time_s < 1:
        raise ConfigError("--max-examples and --load-seconds must be at least 1")
    folder = run_dir(args.report_dir)
    progress = for_terminal()
    try:
        summary = verify(target, folder, args.profile, profile, progress)
    finally:
        progress.close()
    print(f"ivhsuite verify: {summary.verdict.upper()}: report {folder / 'index.html'}")
    for reason in summary.reasons:
        print(f"  - {reason}")
    return ExitCode.OK if summary.green else ExitCode.FAILED


def verify(target: Target, folder: Path, profile_name: str, profile: Profile, progress: Progress) -> VerifySummary:
    """Run everything against one endpoint and write the reports; returns the summary."""
    began, started = time.monotonic(), dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    secrets = (target.access_token,)
    with endpoint(target, quota=DEFAULT_EMULATOR_QUOTA) as live:
        gate = _run_gate(live, folder / "gate", profile, progress, secrets, embedded=target.base_url is None)
        if gate.exit_code == ExitCode.USAGE:
            raise ConfigError(gate.error or "the gate could not run: see gate/gate.log")
        if gate.exit_code == ExitCode.INTERRUPTED:  # the gate caught Ctrl-C to close its sessions: stop here
            raise KeyboardInterrupt
        load = [_run_load(live, scenario, folder / f"load-{scenario}", profile, progress) for scenario in SCENARIOS]
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
    _write(folder, summary, secrets)
    return summary


def reasons(gate: GateSummary, load: list[LoadSummary]) -> list[str]:
    """Why the verdict is red, one line each, naming the broken promise or threshold."""
    found = []
    for failure in gate.failures:
        line = f"gate: broken promise: {failure.title}"
        if line not in found:
            found.append(line)
    if gate.exit_code != ExitCode.OK and not gate.failures:
        found.append(f"gate: exit code {gate.exit_code}, see gate/gate.log")
    for run in load:
        failed = run.failed_thresholds
        found += [f"load {run.scenario}: threshold {t.name} failed ({t.actual} vs {t.limit})" for t in failed]
        if run.exit_code != ExitCode.OK and not failed:
            found.append(f"load {run.scenario}: exit code {run.exit_code}, see {run.folder}/locust.log")
    return found


def _run_gate(
    live: Target,
    folder: Path,
    profile: Profile,
    progress: Progress,
    secrets: tuple[str | None, ...],
    *,
    embedded: bool,
) -> GateSummary:
    from ivhsuite.gate import GateOptions, gate_summary, run_gate

    progress.start("contract gate")
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "gate.log").open("w", encoding="utf-8") as log:
        try:
            options = GateOptions.from_env(target=live, report_dir=folder, max_examples=profile.max_examples)
            if embedded:  # verify started this emulator: its quota is known exactly
                options = replace(options, quota=DEFAULT_EMULATOR_QUOTA, quota_exact=True)
            result = run_gate(options, out=log)
        except ConfigError as exc:
            progress.done("contract gate", f"error: {exc}")
            return GateSummary(exit_code=ExitCode.USAGE, error=str(exc))
    progress.done("contract gate", "passed" if result.exit_code == 0 else f"FAILED (exit {result.exit_code})")
    return gate_summary(result, secrets)


def _run_load(live: Target, scenario: str, folder: Path, profile: Profile, progress: Progress) -> LoadSummary:
    step = f"load: {scenario}"
    progress.start(step)
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "ivhsuite.cli", "load", "--scenario", scenario, "--base-url", live.base_url or ""]
    command += ["-u", str(profile.users), "-r", f"{profile.spawn_rate:g}", "-t", f"{profile.run_time_s}s"]
    command += ["--project-id", live.project_id, "--report-dir", str(folder), "--", "--csv-full-history"]
    with (folder / "locust.log").open("w", encoding="utf-8") as log:
        code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    result = read_load_summary(scenario, folder, code)
    progress.done(step, "passed" if code == 0 else f"FAILED (exit {code})")
    return result


def _write(folder: Path, summary: VerifySummary, secrets: tuple[str | None, ...]) -> None:
    (folder / "summary.json").write_text(redact(summary.to_json(), secrets), encoding="utf-8")
    (folder / "index.html").write_text(redact(page.render(summary), secrets), encoding="utf-8")
    sources = [folder / "gate" / "junit.xml"] + [folder / f"load-{s}" / "thresholds.xml" for s in SCENARIOS]
    junit.merge(sources, folder / "junit.xml", secrets)
    markdown.append_step_summary(summary)
    for log in folder.rglob("*.log"):
        log.write_text(redact(log.read_text(encoding="utf-8", errors="replace"), secrets), encoding="utf-8")
