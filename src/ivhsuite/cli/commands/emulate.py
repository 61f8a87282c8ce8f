"""``ivhsuite emulate``: serve the emulator in the foreground.

Credentials come only from ``--appkey``/``--access-token`` (not from ``IVH_*``): the
emulator is the server, and a client's environment must not silently sign it.
Choices and network faults come from ``--config FILE`` and the ``--choice``/``--fault``
flags (flags win). The test-only broken variants are read from
``IVHSUITE_EMULATOR_FAULTS`` (comma-separated) only when it is set.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from ivhsuite.config import DEFAULT_PROJECT_ID, MODES, add_flag, env_name, setting
from ivhsuite.emulator import settings as defaults
from ivhsuite.emulator.choices import CHOICES, Choices, parse_pair
from ivhsuite.emulator.configfile import load_config
from ivhsuite.emulator.server import run
from ivhsuite.emulator.settings import EmulatorSettings
from ivhsuite.emulator.toxics import KINDS, Toxic
from ivhsuite.serving import bind_socket, url_of

ENV_FAULTS = env_name("emulator_faults")


def add_emulate_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("emulate", help="serve a local emulator of the IVH session manager")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port (default: 8000)")
    # the emulator is the server: its flags alone set it, never a client's IVH_* variables
    add_flag(
        parser,
        "project_id",
        note="one to serve; repeatable",
        default_text=f"default: {DEFAULT_PROJECT_ID}",
        action="append",
        dest="project_ids",
    )
    parser.add_argument(
        "--asset",
        action="append",
        dest="assets",
        metavar="KEY",
        help="an AssetVirtualmanKey createsessionbyasset accepts; repeatable (default: any non-empty key)",
    )
    parser.add_argument("--appkey", help="with --access-token: enforce the signature and 5-minute window")
    parser.add_argument("--access-token")
    add_flag(
        parser, "quota", note="live sessions per project served", default_text=f"default: {defaults.DEFAULT_QUOTA}"
    )
    add_flag(parser, "prepare_seconds", default_text=f"default: {defaults.DEFAULT_PREPARE_SECONDS:g}")
    parser.add_argument(
        "--mode", choices=MODES, help="saas (default) refuses a caller-chosen SessionId; private honours it"
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        help=f"a session not driven for this long is closed (default: {defaults.DEFAULT_IDLE_SECONDS:g})",
    )
    parser.add_argument(
        "--channel-idle-seconds",
        type=float,
        help="a command channel without traffic for this long is dropped (default: the documented 180)",
    )
    parser.add_argument(
        "--channel-time-scale",
        type=float,
        help="multiply the channel's speaking time (text and audio), e.g. 0.01 in tests (default: 1)",
    )
    parser.add_argument(
        "--choice",
        action="append",
        dest="choices",
        default=[],
        metavar="NAME=VALUE",
        help=f"answer differently where the docs are silent; repeatable. Names: {', '.join(CHOICES)} (see README)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        dest="toxics",
        default=[],
        metavar="KIND[:KEY=VALUE,...]",
        help=f"a network fault; repeatable. Kinds: {', '.join(KINDS)}; keys: toxicity, operation, and the kind's own",
    )
    parser.add_argument("--seed", type=int, help="seed every random draw (faults, cold failures) to replay a run")
    parser.add_argument("--config", metavar="FILE", help="a TOML file of settings, [choices] and [[faults]]")
    parser.set_defaults(handler=run_emulate)


def settings_from_args(args: argparse.Namespace, environ: dict[str, str] | None = None) -> EmulatorSettings:
    """Defaults, then ``--config FILE``, then the flags."""
    env = os.environ if environ is None else environ
    found: dict[str, Any] = load_config(args.config) if getattr(args, "config", None) else {}
    faults = setting("emulator_faults", environ=env)
    if faults:
        found["faults"] = faults
    for name in ("quota", "prepare_seconds", "mode", "idle_seconds", "channel_idle_seconds", "channel_time_scale", "seed"):
        if getattr(args, name, None) is not None:
            found[name] = getattr(args, name)
    pairs = dict(parse_pair(text) for text in getattr(args, "choices", []))
    if pairs:
        found["choices"] = Choices.parse(pairs, base=found.get("choices"))
    flagged = tuple(Toxic.of(text) for text in getattr(args, "toxics", []))
    if flagged:
        found["toxics"] = (*found.get("toxics", ()), *flagged)
    return EmulatorSettings(
        project_ids=tuple(args.project_ids or (DEFAULT_PROJECT_ID,)),
        assets=tuple(getattr(args, "assets", None) or ()),
        appkey=args.appkey or None,
        access_token=args.access_token or None,
        **found,
    )


def startup_line(settings: EmulatorSettings, url: str) -> str:
    """One line saying where and how the emulator serves; never the access token."""
    auth = f"signed (appkey {settings.appkey})" if settings.signed else "open (no signature required)"
    line = (
        f"ivhsuite emulator on {url} | projects: {', '.join(settings.project_ids)}"
        f" | assets: {', '.join(settings.assets) or 'any'} | {auth}"
        f" | quota {settings.quota} per project (and by asset) | mode {settings.mode}"
    )
    changed = settings.choices.changed()
    if changed:
        line += f" | choices: {', '.join(f'{k}={v}' for k, v in changed.items())}"
    if settings.toxics:
        line += f" | network faults: {', '.join(f'{t.kind}@{t.toxicity:g}' for t in settings.toxics)}"
    if settings.seed is not None:
        line += f" | seed {settings.seed}"
    if settings.faults:
        line += f" | FAULTS: {', '.join(sorted(settings.faults))}"
    return line


def run_emulate(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    sock = bind_socket(args.host, args.port)
    print(startup_line(settings, url_of(sock)), flush=True)
    run(settings, sock=sock)
    return 0
