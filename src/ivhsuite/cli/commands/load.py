"""``ivhsuite load``: a thin wrapper running one scenario headless with locust, reports in one folder.

    ivhsuite load --scenario preemption -u 10 -r 5 -t 30s [--base-url URL] [-- more locust args]

Writes locust's HTML report and CSVs, the threshold JUnit/JSON and what the network did
(``network.json``, ``network-junit.xml``) under ``reports/<UTC stamp>-load-<scenario>/``
(or ``--report-dir``). The exit code is locust's: 0 all thresholds green, 1 a threshold or
a violation failed, 2 a usage problem, 3 the endpoint was too unstable to judge; after
SIGINT or SIGTERM, 130 or 143 once locust has closed the run's sessions.
Locust runs in a child process of its own process group (it patches the interpreter with
gevent); this process relays one signal to it, so a terminal's Ctrl-C and a CI runner's
SIGTERM reach it exactly once. This module never imports locust.

Here its flags and handler; running locust and reading its verdict is
:mod:`ivhsuite.load.locust_child`'s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ivhsuite.config import add_flag, add_flags, setting
from ivhsuite.errors import ConfigError
from ivhsuite.load import thresholds
from ivhsuite.load.conversation import DRIVERS
from ivhsuite.load.locust_child import SCENARIOS, LocustRun, default_locustfile, locust_command, relay
from ivhsuite.load.options import SHAPES
from ivhsuite.report_dirs import run_dir
from ivhsuite.spec import load_spec


def add_load_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "load",
        help="run a load scenario headless (locust), with HTML, CSV and threshold reports",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), required=True)
    parser.add_argument("-u", "--users", type=int, default=5, help="peak number of users (default: 5)")
    parser.add_argument("-r", "--spawn-rate", type=float, default=5.0, help="users started per second")
    parser.add_argument("-t", "--run-time", default="30s", help="e.g. 30s, 5m (default: 30s)")
    add_flags(parser, "base_url", "project_id")
    parser.add_argument("--shape", choices=SHAPES, default="constant", help="load shape (default: constant)")
    parser.add_argument("--processes", type=int, help="locust worker processes (distributed on this host)")
    parser.add_argument("--userid-pool", type=int, help="UserIds the preemption users contend for")
    parser.add_argument("--hold-seconds", type=float, help="how long a ready session is held (conversation: talks)")
    parser.add_argument("--driver", choices=DRIVERS, help="conversation: texts, paced audio or streamed text")
    add_flag(parser, "asset_key", "conversation: create by asset instead of by project", default_text="default: by project")
    parser.add_argument("--speak-timeout", type=float, help="conversation: seconds a TextOver/AudioOver may take")
    parser.add_argument(
        "--hold-channels", action="store_true", help="preemption: hold each session's channel; it must close on preemption"
    )
    add_flags(parser, "thresholds")
    parser.add_argument("--thresholds-abort", action="store_true", help="stop at the first failing threshold")
    add_flags(parser, "max_transport_errors")
    parser.add_argument("--report-dir", help="folder for the reports (default: reports/<stamp>-load-<scenario>)")
    parser.add_argument("--locustfile", help="a locustfile of your own (default: the packaged loadtests/locustfile.py)")
    parser.add_argument("locust_args", nargs=argparse.REMAINDER, help="after --: passed to locust unchanged")
    parser.set_defaults(handler=run_load_command)


def run_of(args: argparse.Namespace) -> LocustRun:
    """The flags as one :class:`LocustRun`."""
    extra = list(args.locust_args or [])
    return LocustRun(
        scenario=args.scenario,
        users=args.users,
        spawn_rate=args.spawn_rate,
        run_time=args.run_time,
        base_url=args.base_url,
        project_id=args.project_id,
        shape=args.shape,
        processes=args.processes,
        userid_pool=args.userid_pool,
        hold_seconds=args.hold_seconds,
        thresholds=setting("thresholds", args.thresholds),
        thresholds_abort=args.thresholds_abort,
        max_transport_errors=getattr(args, "max_transport_errors", None),
        driver=args.driver,
        asset_key=args.asset_key,
        speak_timeout=args.speak_timeout,
        hold_channels=args.hold_channels,
        extra=tuple(extra[1:] if extra[:1] == ["--"] else extra),
    )


def run_load_command(args: argparse.Namespace) -> int:
    locustfile = Path(args.locustfile) if args.locustfile else default_locustfile()
    if not locustfile.is_file():
        raise ConfigError(f"no locustfile at {locustfile}: pass --locustfile")
    if args.users < 1 or args.spawn_rate <= 0:
        raise ConfigError("-u must be at least 1 and -r more than 0")
    # A broken spec or thresholds file is a usage error before any load is generated.
    load_spec()
    thresholds.read_thresholds(setting("thresholds", args.thresholds) or locustfile.with_name("thresholds.toml"))
    folder = run_dir(args.report_dir, f"load-{args.scenario}")
    command = locust_command(run_of(args), locustfile, folder)
    print(f"ivhsuite load: {SCENARIOS[args.scenario]}, reports in {folder}", file=sys.stderr, flush=True)
    return relay(command, folder)
