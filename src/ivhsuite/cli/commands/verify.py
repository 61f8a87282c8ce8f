"""``ivhsuite verify``: the gate, then the three load scenarios, then one verdict and a report.

    ivhsuite verify [--base-url URL] [--report-dir DIR] [--profile smoke|standard] [-v]

Its flags and the lines it prints; the run itself (phases, reports, exit codes) is
:mod:`ivhsuite.verify`'s.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from ivhsuite import environmental
from ivhsuite.config import Target, add_flags, env_name, setting
from ivhsuite.load.thresholds import read_thresholds
from ivhsuite.progress import for_terminal
from ivhsuite.protocol import ExitCode, strongest
from ivhsuite.report_dirs import run_dir
from ivhsuite.spec import load_spec
from ivhsuite.summaries import EnvironmentSummary, LoadSummary
from ivhsuite.verify import PROFILES, VerifyRun, choose_profile, verify


def add_verify_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("verify", help="gate + load profile: one verdict and a readable report")
    add_flags(parser, "base_url")
    parser.add_argument("--report-dir", help="where to write (default: reports/<UTC timestamp>)")
    parser.add_argument(
        "--profile", choices=sorted(PROFILES), help=f"default: ${env_name('profile')}, the config file, or standard"
    )
    parser.add_argument("--max-examples", type=int, help="override the profile's gate example budget")
    parser.add_argument("--load-seconds", type=int, help="override the profile's seconds per load scenario")
    add_flags(parser, "thresholds")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the gate's and locust's own output too")
    add_flags(parser, "max_transport_errors")
    parser.set_defaults(handler=run_verify_command)


def run_verify_command(args: argparse.Namespace) -> int:
    target = Target.from_env(base_url=args.base_url)
    profile_name = setting("profile", args.profile)
    profile = choose_profile(profile_name, args.max_examples, args.load_seconds)
    thresholds_file = setting("thresholds", args.thresholds)
    load_spec()  # a broken spec or thresholds file of the user's: one line now, not after the gate
    read_thresholds(thresholds_file)
    profile = replace(profile, max_transport_errors=setting("max_transport_errors", args.max_transport_errors))
    folder = run_dir(args.report_dir)
    progress = for_terminal()
    run = VerifyRun(folder, profile_name, profile, progress, thresholds_file, args.verbose)
    try:
        summary = verify(target, run)
    finally:
        progress.close()
    print(f"ivhsuite verify: {summary.verdict.upper()}: report {folder / 'index.html'}")
    for reason in [*summary.reasons, *summary.unstable]:
        print(f"  - {reason}")
    for line in network_lines(summary.gate.environment, summary.load):
        print(f"  ~ {line}")
    # a broken promise or threshold wins over an unstable network
    return strongest(
        ExitCode.FAILED if summary.reasons else ExitCode.OK, ExitCode.UNSTABLE if summary.unstable else ExitCode.OK
    )


def network_lines(gate: EnvironmentSummary, load: list[LoadSummary]) -> list[str]:
    """What the network did, phase by phase, and the sessions the sweeps closed."""
    lines = [f"gate: {environmental.describe(gate)}"]
    lines += [f"load {run.scenario}: {environmental.describe(run.environment)}" for run in load]
    swept = gate.swept + sum(run.environment.swept for run in load)
    if swept:
        lines.append(environmental.swept_words(swept))
    return lines
