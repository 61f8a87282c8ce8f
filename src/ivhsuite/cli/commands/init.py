"""``ivhsuite init``: write a starter ``ivhsuite.toml`` and CI workflow (:mod:`ivhsuite.scaffold`) into a repository."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ivhsuite.config import CONFIG_FILE
from ivhsuite.protocol import ExitCode
from ivhsuite.scaffold import WORKFLOW, write_starters


def add_init_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "init", help=f"write a starter {CONFIG_FILE} and a CI workflow ({WORKFLOW.as_posix()}) into a repository"
    )
    parser.add_argument("--dir", type=Path, default=Path("."), help="the repository's root (default: here)")
    parser.add_argument("--force", action="store_true", help="overwrite files that exist")
    parser.set_defaults(handler=run_init_command)


def run_init_command(args: argparse.Namespace) -> int:
    for path in write_starters(args.dir, args.force):
        print(f"ivhsuite init: wrote {path}", file=sys.stderr)
    print("ivhsuite init: try `ivhsuite verify`; commit both files to run the suite in CI", file=sys.stderr)
    return ExitCode.OK
