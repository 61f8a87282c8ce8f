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
import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivhsuite.config import ENV_BASE_URL, Target
from ivhsuite.embedded import endpoint
from ivhsuite.errors import ConfigError
from ivhsuite.gate.options import DEFAULT_MAX_EXAMPLES
from ivhsuite.progress import Progress, for_terminal
from ivhsuite.redact import redact
from ivhsuite.report import html, junit, load_results, markdown
from ivhsuite.runs import run_dir

EXIT_GREEN, EXIT_RED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


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
    print(f"ivhsuite verify: {summary['verdict'].upper()}: report {folder / 'index.html'}")
    for reason in summary["reasons"]:
        print(f"  - {reason}")
    return EXIT_GREEN if summary["verdict"] == "green" else EXIT_RED


def verify(target: Target, folder: Path, profile_name: str, profile: Profile, progress: Progress) -> dict[str, Any]:
    """Run everything against one endpoint and write the reports; returns the summary."""
    began, started = time.monotonic(), dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    secrets = (target.access_token,)
    with endpoint(target) as live:
        gate = _run_gate(live, folder / "gate", profile, progress, secrets)
        if gate["exit_code"] == EXIT_USAGE:
            raise ConfigError(gate.get("error") or "the gate could not run: see gate/gate.log")
        if gate["exit_code"] == EXIT_INTERRUPTED:  # the gate caught Ctrl-C to close its sessions: stop here
            raise KeyboardInterrupt
        load = [_run_load(live, scenario, folder / f"load-{scenario}", profile, progress) for scenario in SCENARIOS]
    summary = {
        "started": started,
        "duration_s": round(time.monotonic() - began, 1),
        "profile": profile_name,
        "target": {
            "base_url": target.base_url or "",
            "embedded": target.base_url is None,
            "signed": target.signed,
            "project_id": target.project_id,
        },
        "gate": gate,
        "load": load,
    }
    summary["reasons"] = reasons(summary)
    summary["verdict"] = "red" if summary["reasons"] else "green"
    _write(folder, summary, secrets)
    return summary


def reasons(summary: dict[str, Any]) -> list[str]:
    """Why the verdict is red, one line each, naming the broken promise or threshold."""
    found = []
    gate = summary["gate"]
    for failure in gate.get("failures", []):
        line = f"gate: broken promise: {failure['promise']}"
        if line not in found:
            found.append(line)
    if gate.get("exit_code") not in (0, None) and not gate.get("failures"):
        found.append(f"gate: exit code {gate['exit_code']}, see gate/gate.log")
    for run in summary["load"]:
        failed = [t for t in run["thresholds"] if not t["passed"]]
        found += [
            f"load {run['scenario']}: threshold {t['name']} failed ({t['actual']} vs {t['limit']})" for t in failed
        ]
        if run["exit_code"] != 0 and not failed:
            found.append(f"load {run['scenario']}: exit code {run['exit_code']}, see {run['folder']}/locust.log")
    return found


def _run_gate(
    live: Target, folder: Path, profile: Profile, progress: Progress, secrets: tuple[str | None, ...]
) -> dict[str, Any]:
    from ivhsuite.gate import GateOptions, run_gate

    progress.start("contract gate")
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "gate.log").open("w", encoding="utf-8") as log:
        try:
            result = run_gate(GateOptions(target=live, report_dir=folder, max_examples=profile.max_examples), out=log)
        except ConfigError as exc:
            progress.done("contract gate", f"error: {exc}")
            return {"exit_code": EXIT_USAGE, "error": str(exc)}
    gate = {
        "exit_code": result.exit_code,
        "requests": result.generated_requests,
        "scenario_requests": result.scenario_requests,
        "duration_s": round(result.elapsed, 1),
        "failures": [
            {
                "promise": finding.title,
                "check": finding.promise,
                "operation": finding.where,
                "message": redact(finding.message, secrets),
                "reproduce": redact("\n".join(finding.curl), secrets),
            }
            for finding in result.findings
        ],
        "checks": junit_rows(folder / "junit.xml"),
    }
    progress.done("contract gate", "passed" if result.exit_code == 0 else f"FAILED (exit {result.exit_code})")
    return gate


def junit_rows(path: Path) -> list[dict[str, Any]]:
    """Per operation (suite and test case) and check: how many passed and failed."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return []
    rows = []
    for suite in root.iter("testsuite"):
        for case in suite.iter("testcase"):
            failed = case.find("failure") is not None or case.find("error") is not None
            skipped = case.find("skipped") is not None
            rows.append(
                {
                    "operation": case.get("classname") or suite.get("name", ""),
                    "check": case.get("name", ""),
                    "passed": 0 if failed or skipped else 1,
                    "failed": 1 if failed else 0,
                    "skipped": skipped,
                }
            )
    return rows


def _run_load(live: Target, scenario: str, folder: Path, profile: Profile, progress: Progress) -> dict[str, Any]:
    step = f"load: {scenario}"
    progress.start(step)
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "ivhsuite.cli", "load", "--scenario", scenario, "--base-url", live.base_url or ""]
    command += ["-u", str(profile.users), "-r", f"{profile.spawn_rate:g}", "-t", f"{profile.run_time_s}s"]
    command += ["--project-id", live.project_id, "--report-dir", str(folder), "--", "--csv-full-history"]
    with (folder / "locust.log").open("w", encoding="utf-8") as log:
        code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    result = load_results.summarize(scenario, folder, code)
    progress.done(step, "passed" if code == 0 else f"FAILED (exit {code})")
    return result


def _write(folder: Path, summary: dict[str, Any], secrets: tuple[str | None, ...]) -> None:
    (folder / "summary.json").write_text(redact(json.dumps(summary, indent=2), secrets), encoding="utf-8")
    (folder / "index.html").write_text(redact(html.render(summary), secrets), encoding="utf-8")
    sources = [folder / "gate" / "junit.xml"] + [folder / f"load-{s}" / "thresholds.xml" for s in SCENARIOS]
    junit.merge(sources, folder / "junit.xml", secrets)
    markdown.append_step_summary(summary)
    for log in folder.rglob("*.log"):
        log.write_text(redact(log.read_text(encoding="utf-8", errors="replace"), secrets), encoding="utf-8")
