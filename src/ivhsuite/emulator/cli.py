"""``ivhsuite emulate``: serve the emulator in the foreground.

Credentials come only from ``--appkey``/``--access-token`` (not from ``IVH_*``): the
emulator is the server, and a client's environment must not silently sign it.
Faults are read from ``IVHSUITE_EMULATOR_FAULTS`` (comma-separated) only when it is set.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from ivhsuite.config import DEFAULT_PROJECT_ID, MODES, env_name
from ivhsuite.emulator import settings as defaults
from ivhsuite.emulator.server import bind_socket, run, url_of
from ivhsuite.emulator.settings import EmulatorSettings

ENV_FAULTS = env_name("emulator_faults")


def add_emulate_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("emulate", help="serve a local emulator of the IVH session manager")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port (default: 8000)")
    parser.add_argument(
        "--project-id",
        action="append",
        dest="project_ids",
        metavar="ID",
        help=f"a project id to serve; repeatable (default: {DEFAULT_PROJECT_ID})",
    )
    parser.add_argument("--appkey", help="with --access-token: enforce the signature and 5-minute window")
    parser.add_argument("--access-token")
    parser.add_argument("--quota", type=int, default=defaults.DEFAULT_QUOTA, help="live sessions per project")
    parser.add_argument(
        "--prepare-seconds",
        type=float,
        default=defaults.DEFAULT_PREPARE_SECONDS,
        help="how long a cold session stays in status 3",
    )
    parser.add_argument(
        "--mode", choices=MODES, default="saas", help="saas refuses a caller-chosen SessionId; private honours it"
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=defaults.DEFAULT_IDLE_SECONDS,
        help="a session not driven for this long is closed",
    )
    parser.set_defaults(handler=run_emulate)


def settings_from_args(args: argparse.Namespace, environ: dict[str, str] | None = None) -> EmulatorSettings:
    env = os.environ if environ is None else environ
    extra: dict[str, Any] = {}
    if env.get(ENV_FAULTS):
        extra["faults"] = frozenset(name.strip() for name in env[ENV_FAULTS].split(",") if name.strip())
    return EmulatorSettings(
        project_ids=tuple(args.project_ids or (DEFAULT_PROJECT_ID,)),
        appkey=args.appkey or None,
        access_token=args.access_token or None,
        quota=args.quota,
        prepare_seconds=args.prepare_seconds,
        mode=args.mode,
        idle_seconds=args.idle_seconds,
        **extra,
    )


def startup_line(settings: EmulatorSettings, url: str) -> str:
    """One line saying where and how the emulator serves; never the access token."""
    auth = f"signed (appkey {settings.appkey})" if settings.signed else "open (no signature required)"
    line = (
        f"ivhsuite emulator on {url} | projects: {', '.join(settings.project_ids)} | {auth}"
        f" | quota {settings.quota} per project | mode {settings.mode}"
    )
    if settings.faults:
        line += f" | FAULTS: {', '.join(sorted(settings.faults))}"
    return line


def run_emulate(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    sock = bind_socket(args.host, args.port)
    print(startup_line(settings, url_of(sock)), flush=True)
    run(settings, sock=sock)
    return 0
