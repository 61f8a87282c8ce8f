"""``ivhsuite proxy``: parse the flags, run the proxy, return its exit code. Nothing else."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from ivhsuite.config import ENV_BASE_URL, add_flag, setting
from ivhsuite.embedded import HOSTING
from ivhsuite.proxy.report import FAIL_ON
from ivhsuite.proxy.rules import DEFAULT_STAT_INTERVAL, Policy
from ivhsuite.proxy.run import DEFAULT_PORT, ProxyOptions, run_proxy

DESCRIPTION = (
    "A validating proxy for an application that uses the IVH API: point the application at it and every call"
    " is forwarded unchanged (to --upstream, IVH_BASE_URL, or the embedded emulator), while the application's"
    " requests, the endpoint's answers and the session rules are checked. With a command after '--', the"
    " command runs with IVH_BASE_URL pointing at the proxy, and the proxy stops when it ends."
)
EPILOG = (
    "exit codes: 0 nothing found that --fail-on counts, 1 findings per --fail-on, 2 a usage or configuration"
    " problem, 130 SIGINT, 143 SIGTERM; when wrapping a command that fails and nothing was found, its exit code."
    " example: ivhsuite proxy --emulator -- pytest tests/integration"
)


def add_proxy_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "proxy",
        help="check your application's use of the API through a validating proxy",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--upstream", metavar="URL", help=f"the endpoint to forward to (default: {ENV_BASE_URL})")
    where.add_argument(
        "--emulator", action="store_true", help="forward to the embedded emulator (the default without IVH_BASE_URL)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, help=f"port to listen on (default {DEFAULT_PORT}; with a command, any free port)"
    )
    parser.add_argument(
        "--report-dir", type=Path, help="where to write the reports (default: reports/<UTC stamp>-proxy)"
    )
    parser.add_argument("--fail-on", choices=FAIL_ON, default="any", help="which findings fail the run (default any)")
    parser.add_argument(
        "--strict-advice",
        action="store_true",
        help="advice findings (rules the docs only suggest, such as stat-poll-rate) fail the run too",
    )
    add_flag(
        parser,
        "quota",
        note="the live sessions the application may hold",
        default_text=f"default: $IVH_QUOTA, else the config file; with the emulator, {HOSTING['proxy'].quota}",
    )
    parser.add_argument(
        "--stat-interval",
        type=float,
        default=DEFAULT_STAT_INTERVAL,
        help=f"least seconds between two statsession calls on one session (default {DEFAULT_STAT_INTERVAL:g})",
    )
    parser.add_argument(
        "--heartbeat-seconds",
        type=float,
        help="longest silence of a command channel before heartbeat-interval (default: the documented maximum;"
        " shorten it for tests)",
    )
    add_flag(
        parser,
        "project_id",
        note="with the emulator: a project it serves; repeatable",
        action="append",
        dest="project_ids",
    )
    add_flag(
        parser,
        "prepare_seconds",
        note="with the emulator",
        default_text=f"default: {HOSTING['proxy'].prepare_seconds:g}",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="after '--': the command to run through the proxy")
    parser.set_defaults(handler=run_proxy_command)
    return parser


def options_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> ProxyOptions:
    """The flags, then the settings (``IVH_*``, ``ivhsuite.toml``) as every command reads them."""
    upstream = None if args.emulator else setting("base_url", args.upstream or None, environ)
    command = list(args.command or [])
    if command and command[0] == "--":
        command = command[1:]
    project_ids = tuple(args.project_ids or (setting("project_id", environ=environ),))
    hosting = HOSTING["proxy"]
    quota = setting("quota", args.quota, environ)
    if quota is None and upstream is None:
        quota = hosting.quota  # the emulator's quota is the one the application is told
    return ProxyOptions(
        upstream=upstream,
        host=args.host,
        port=args.port,
        report_dir=args.report_dir,
        fail_on=args.fail_on,
        strict_advice=args.strict_advice,
        policy=Policy(stat_interval=args.stat_interval, quota=quota, heartbeat_seconds=args.heartbeat_seconds),
        command=tuple(command),
        project_ids=project_ids,
        emulator_quota=quota if upstream is None and quota is not None else hosting.quota,
        prepare_seconds=hosting.prepare_seconds if args.prepare_seconds is None else args.prepare_seconds,
    )


def run_proxy_command(args: argparse.Namespace) -> int:
    return run_proxy(options_from_args(args)).exit_code
