"""``ivhsuite init``: a starter ``ivhsuite.toml`` and a CI workflow, written into the user's repository.

    ivhsuite init [--dir DIR] [--force]

Both run as written: the config names no endpoint (so every command starts the embedded
emulator), and the workflow installs this version of the suite, then runs the gate and a
smoke verification. An existing file is never overwritten without ``--force`` (exit 2, one line).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ivhsuite import packaged
from ivhsuite.config import CONFIG_FILE
from ivhsuite.errors import ConfigError
from ivhsuite.protocol import ExitCode

WORKFLOW = Path(".github") / "workflows" / "ivhsuite.yml"
VERSION_MARK = "@VERSION@"


@dataclass(frozen=True)
class Starter:
    """One file ``init`` writes: where in the repository, from which template."""

    path: Path
    template: str


STARTERS = (Starter(Path(CONFIG_FILE), "ivhsuite.toml"), Starter(WORKFLOW, "workflow.yml"))


def installed_version() -> str:
    try:
        return version("ivhsuite")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        return "0"


def render(starter: Starter) -> str:
    return packaged.template(starter.template).read_text(encoding="utf-8").replace(VERSION_MARK, installed_version())


def write_starters(root: Path, force: bool = False) -> list[Path]:
    """Write every starter under ``root``; refuse (before writing any) if one exists and not ``force``."""
    if not root.is_dir():
        raise ConfigError(f"{root} is not a directory")
    existing = [s.path.as_posix() for s in STARTERS if (root / s.path).exists()]
    if existing and not force:
        raise ConfigError(f"{', '.join(existing)} already exist(s) in {root}: pass --force to overwrite")
    written = []
    for starter in STARTERS:
        target = root / starter.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(starter), encoding="utf-8")
        written.append(target)
    return written


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
