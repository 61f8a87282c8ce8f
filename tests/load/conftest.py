"""Factories for real locust runs of ``loadtests/locustfile.py`` (a subprocess each: locust patches with gevent)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ivhsuite import packaged

LOCUSTFILE = packaged.locustfile()
CLEARED = ("IVH_BASE_URL", "IVH_APPKEY", "IVH_ACCESS_TOKEN", "IVH_PROJECT_ID", "IVHSUITE_EMULATOR_FAULTS")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any IVH target or fault, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(extra)
    return env


@dataclass
class LocustRun:
    code: int
    output: str
    seconds: float
    report_dir: Path
    report: dict[str, Any] = field(default_factory=dict)

    def entry(self, name: str) -> dict[str, Any]:
        return next((e for e in self.report.get("entries", []) if e["name"] == name), {})

    def threshold(self, name: str) -> dict[str, Any]:
        return next(t for t in self.report["thresholds"] if t["name"] == name)


@pytest.fixture
def run_locust(tmp_path: Path) -> Callable[..., LocustRun]:
    """``run_locust("-u 3 -r 3 -t 5s CreateSessionUser", env=...)``: headless, against the embedded emulator."""
    counter = iter(range(1000))

    def run(argv: str, env: dict[str, str] | None = None, timeout: float = 90) -> LocustRun:
        report_dir = tmp_path / f"run{next(counter)}"
        command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary"]
        command += ["--ivh-report-dir", str(report_dir), *shlex.split(argv)]
        start = time.monotonic()
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env or clean_env(), cwd=tmp_path
        )
        result = LocustRun(done.returncode, done.stdout + done.stderr, time.monotonic() - start, report_dir)
        if (report_dir / "thresholds.json").is_file():
            result.report = json.loads((report_dir / "thresholds.json").read_text())
        return result

    return run
