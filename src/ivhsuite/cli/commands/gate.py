"""``ivhsuite gate``: parse the flags, run the gate, return its exit code. Nothing else.

Wired into ``ivhsuite`` by :func:`add_gate_parser`; ``python -m ivhsuite.gate`` runs the
same command through the one front end (:mod:`ivhsuite.gate.__main__`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ivhsuite.config import Target, add_flag, add_flags
from ivhsuite.embedded import HOSTING
from ivhsuite.gate.options import DEFAULT_MAX_EXAMPLES, DEFAULT_WORKERS, PHASES, GateOptions

DESCRIPTION = (
    "Check an IVH endpoint against its contract: schemathesis from the spec (examples, coverage, fuzzing,"
    " stateful) plus scenarios, against --base-url / IVH_BASE_URL, or the embedded emulator when none is set."
    " Credentials from IVH_APPKEY / IVH_ACCESS_TOKEN, project from IVH_PROJECT_ID."
)
EPILOG = (
    "exit codes: 0 the contract holds, 1 a broken promise, 2 a usage or configuration problem,"
    " 3 the endpoint was too unstable to judge, 130 interrupted, 143 terminated"
)


def add_gate_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "gate",
        help="check an IVH endpoint against its contract (exit 0 holds, 1 broken, 2 usage)",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    add_gate_arguments(parser)
    parser.set_defaults(handler=run_gate_command)
    return parser


def add_gate_arguments(parser: argparse.ArgumentParser) -> None:
    add_flag(parser, "base_url")
    parser.add_argument(
        "--report-dir", type=Path, help="where to write the reports (default: reports/<UTC stamp>-gate)"
    )
    parser.add_argument(
        "--max-examples", type=int, help=f"generated cases per operation and phase (default {DEFAULT_MAX_EXAMPLES})"
    )
    parser.add_argument("--seed", type=int, help="seed for a reproducible run")
    parser.add_argument("--workers", type=int, help=f"schemathesis workers (default {DEFAULT_WORKERS})")
    add_flag(
        parser,
        "quota",
        note="the gate keeps below it and checks it; unknown: one session at a time, quota not checked"
        f" (embedded emulator: {HOSTING['gate'].quota})",
    )
    add_flags(parser, "ready_timeout", "user_id_max_length")
    parser.add_argument(
        "--max-time",
        type=float,
        help="seconds the whole gate may take; past it, it closes what it opened and reports what it covered"
        " (default 900)",
    )
    add_flag(parser, "max_transport_errors")
    add_flag(parser, "max_sessions", note="positive creates of the generated half beyond it are not sent")
    parser.add_argument(
        "--record-choices",
        type=Path,
        metavar="FILE",
        help="write the endpoint's observed choices (where the docs are silent) in the emulator's config format:"
        " ivhsuite emulate --config FILE plays that endpoint (learning preempt-across costs one more session)",
    )
    parser.add_argument(
        "--expect-choices",
        type=Path,
        metavar="FILE",
        help="compare the observed choices with a recording: a changed one is listed as drift",
    )
    parser.add_argument("--fail-on-drift", action="store_true", help="with --expect-choices: drift exits 1")
    parser.add_argument("--phases", help=f"schemathesis phases, comma-separated (default: {','.join(PHASES)})")
    parser.add_argument(
        "--only", choices=("schemathesis", "scenarios"), help="run one half of the gate (for debugging)"
    )


def options_from_args(args: argparse.Namespace) -> GateOptions:
    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip()) if args.phases else None
    return GateOptions.from_env(
        target=Target.from_env(base_url=args.base_url),
        report_dir=args.report_dir,
        max_examples=args.max_examples,
        seed=args.seed,
        workers=args.workers,
        quota=args.quota,
        ready_timeout=args.ready_timeout,
        user_id_max_length=args.user_id_max_length,
        phases=phases,
        max_time=args.max_time,
        run_schemathesis=None if args.only != "scenarios" else False,
        run_scenarios=None if args.only != "schemathesis" else False,
        max_transport_errors=args.max_transport_errors,
        max_sessions=args.max_sessions,
        record_choices=args.record_choices,
        expect_choices=args.expect_choices,
        fail_on_drift=args.fail_on_drift or None,
    )


def run_gate_command(args: argparse.Namespace) -> int:
    from ivhsuite.gate.runner import run_gate  # schemathesis and pytest load only when the gate runs

    return run_gate(options_from_args(args)).exit_code
