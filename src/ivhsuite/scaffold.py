"""``ivhsuite init``: a starter ``ivhsuite.toml`` and a CI workflow, written into the user's repository.

    ivhsuite init [--dir DIR] [--force]

Both run as written: the config names no endpoint (so every command starts the embedded
emulator), and the workflow installs this version of the suite, then runs the gate and a
smoke verification. An existing file is never overwritten without ``--force`` (exit 2, one line).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ivhsuite import packaged
from ivhsuite.config import CONFIG_FILE
from ivhsuite.errors import ConfigError

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
