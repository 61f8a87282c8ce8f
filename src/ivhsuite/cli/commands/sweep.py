"""``ivhsuite sweep``: close the live sessions earlier runs left behind (a ``kill -9``, a lost CI runner).

    ivhsuite sweep --run ID [--dry-run]      the sessions of one run (its id is in the run's summary)
    ivhsuite sweep --all-runs [--dry-run]    the sessions of every ivhsuite run

Only sessions whose UserId carries an ivhsuite run tag (:func:`ivhsuite.run_sessions.run_tag`)
are touched; anything else is left alone. Sessions are found with listsessionofuin (the
whole account, sessions created by asset too), or in the project where that is not allowed. ``--all-runs`` also closes the
sessions of a run still going on elsewhere against the same project: use ``--run`` then.
Exit 0 when nothing tagged is left live, 1 when a session could not be closed.
"""

from __future__ import annotations

import argparse

from ivhsuite.client import IvhClient
from ivhsuite.config import ENV_BASE_URL, Target, add_flag, add_flags
from ivhsuite.errors import ConfigError
from ivhsuite.protocol import ExitCode
from ivhsuite.run_sessions import RUN_ID, TaggedSweep, sweep_tagged


def add_sweep_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="close the live sessions earlier ivhsuite runs left behind (never an untagged one)",
        description=__doc__.splitlines()[0],
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", metavar="ID", help="the run id whose sessions to close (see its summary)")
    which.add_argument("--all-runs", action="store_true", help="every session carrying an ivhsuite run tag")
    parser.add_argument("--dry-run", action="store_true", help="list what would be closed, close nothing")
    add_flag(parser, "base_url", note="required here: an emulator forgets its sessions anyway")
    add_flags(parser, "project_id")
    parser.set_defaults(handler=run_sweep_command)


def run_sweep_command(args: argparse.Namespace) -> int:
    if args.run is not None and not RUN_ID.fullmatch(args.run):
        raise ConfigError(f"--run takes a run id of 8 lowercase hex digits (as in the run's summary), not {args.run!r}")
    target = Target.from_env(base_url=args.base_url, project_id=args.project_id)
    if not target.base_url:
        raise ConfigError(f"no endpoint: pass --base-url or set {ENV_BASE_URL} (an emulator forgets its sessions anyway)")
    with IvhClient(target) as client:
        result = sweep_tagged(client, None if args.all_runs else args.run, dry_run=args.dry_run)
    print(report(result, target, dry_run=args.dry_run))
    return ExitCode.FAILED if result.failed else ExitCode.OK


def report(result: TaggedSweep, target: Target, *, dry_run: bool) -> str:
    listed = "the account" if result.account else f"project {target.project_id} (listsessionofuin not allowed)"
    where = f"{listed} at {target.base_url}"
    if not result.found:
        return f"ivhsuite sweep: no live session of an ivhsuite run in {where}"
    lines = []
    for run_id, ids in sorted(result.found.items()):
        lines.append(f"  run {run_id}: {len(ids)} live: {', '.join(ids)}")
    total = sum(len(ids) for ids in result.found.values())
    if dry_run:
        head = f"ivhsuite sweep: {total} live session(s) of ivhsuite runs in {where} (dry run: none closed)"
    else:
        head = f"ivhsuite sweep: closed {len(result.closed)} of {total} live session(s) of ivhsuite runs in {where}"
    if result.failed:
        lines.append(f"  still live after closing: {', '.join(result.failed)}")
    return "\n".join([head, *lines])
