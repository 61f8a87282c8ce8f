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
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path

from ivhsuite import interrupts, packaged
from ivhsuite.config import add_flags, child_environ, setting
from ivhsuite.errors import ConfigError
from ivhsuite.load import thresholds
from ivhsuite.load.options import SHAPES
from ivhsuite.protocol import ExitCode
from ivhsuite.report_dirs import run_dir
from ivhsuite.spec import load_spec

SCENARIOS = {"create": "CreateSessionUser", "preemption": "PreemptionUser", "lifecycle": "LifecycleUser"}
VERDICT_CODES = {ExitCode.OK: "passed", ExitCode.FAILED: "FAILED", ExitCode.UNSTABLE: "UNSTABLE (the network)"}


def default_locustfile() -> Path:
    """The packaged ``loadtests/locustfile.py``."""
    return packaged.locustfile()


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
    parser.add_argument("--hold-seconds", type=float, help="how long a ready session is held")
    add_flags(parser, "thresholds")
    parser.add_argument("--thresholds-abort", action="store_true", help="stop at the first failing threshold")
    add_flags(parser, "max_transport_errors")
    parser.add_argument("--report-dir", help="folder for the reports (default: reports/<stamp>-load-<scenario>)")
    parser.add_argument("--locustfile", help="a locustfile of your own (default: the packaged loadtests/locustfile.py)")
    parser.add_argument("locust_args", nargs=argparse.REMAINDER, help="after --: passed to locust unchanged")
    parser.set_defaults(handler=run_load_command)


def locust_command(args: argparse.Namespace, locustfile: Path, folder: Path) -> list[str]:
    """The locust command line for ``args``, reports going to ``folder``."""
    command = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless"]
    command += ["-u", str(args.users), "-r", f"{args.spawn_rate:g}", "-t", args.run_time]
    command += ["--html", str(folder / "report.html"), "--csv", str(folder / "locust")]
    command += ["--ivh-report-dir", str(folder), "--load-shape", args.shape, "--only-summary"]
    optional = {
        "--host": args.base_url,
        "--project-id": args.project_id,
        "--processes": args.processes,
        "--userid-pool": args.userid_pool,
        "--hold-seconds": args.hold_seconds,
        "--thresholds": setting("thresholds", args.thresholds),
        "--max-transport-errors": getattr(args, "max_transport_errors", None),
    }
    for flag, value in optional.items():
        if value is not None:
            command += [flag, str(value)]
    if args.thresholds_abort:
        command.append("--thresholds-abort")
    extra = list(args.locust_args or [])
    command += extra[1:] if extra[:1] == ["--"] else extra
    command.append(SCENARIOS[args.scenario])
    return command


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
    command = locust_command(args, locustfile, folder)
    print(f"ivhsuite load: {SCENARIOS[args.scenario]}, reports in {folder}", file=sys.stderr, flush=True)
    return relay(command, folder)


def relay(command: list[str], folder: Path) -> int:
    """Run locust in its own process group; pass it one SIGINT or SIGTERM; its verdict, or 130/143 after a signal."""
    process = subprocess.Popen(command, env=child_environ(), start_new_session=True)
    code, signum = interrupts.relay_to_child(process)
    if signum is not None:
        print(f"ivhsuite load: stopped by signal {signum} after closing the run's sessions", file=sys.stderr)
        return code
    if code in VERDICT_CODES:
        print(f"ivhsuite load: {VERDICT_CODES[ExitCode(code)]}, reports in {folder}", file=sys.stderr)
        return code
    if code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED, -signal.SIGTERM, -signal.SIGINT):
        return ExitCode.TERMINATED if code in (ExitCode.TERMINATED, -signal.SIGTERM) else ExitCode.INTERRUPTED
    print(f"ivhsuite: error: locust exited with code {code} (see its output above)", file=sys.stderr)
    return ExitCode.USAGE
