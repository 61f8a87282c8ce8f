"""Factories for the gate's tests: a run against nothing, emulators on real sockets, the gate as a process,
scripted answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ivhsuite import packaged
from ivhsuite.config import Target
from ivhsuite.emulator import EmulatorSettings, RunningEmulator, serve_in_thread
from ivhsuite.gate.context import RunContext, active
from ivhsuite.gate.options import GateOptions
from ivhsuite.protocol import Answer

PROJECT = "gate-test-project"
APPKEY = "gate-test-appkey"
ACCESS_TOKEN = "gate-test-access-token-never-printed"


def answer(code: int = 0, **payload: Any) -> Answer:
    """An endpoint's answer as the gate reads it: HTTP 200, ``code`` in the Header, ``payload``."""
    return Answer.read(200, json.dumps({"Header": {"Code": code}, "Payload": payload}))


@pytest.fixture(autouse=True)
def _no_ivh_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's IVH_* settings must not point these tests at a real endpoint."""
    for name in [k for k in os.environ if k.startswith("IVH_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def run() -> Iterator[RunContext]:
    """An active run pointed at an address nothing listens on (for code that sends nothing)."""
    ctx = RunContext(GateOptions(Target(base_url="http://127.0.0.1:9", project_id=PROJECT)), tag="00abc123")
    with active(ctx):
        yield ctx
    ctx.shutdown()


@pytest.fixture
def emulator() -> Iterator[Callable[..., RunningEmulator]]:
    """Start emulators on free loopback ports; all stopped after the test."""
    started: list[RunningEmulator] = []

    def start(*faults: str, signed: bool = False, quota: int = 5) -> RunningEmulator:
        credentials = {"appkey": APPKEY, "access_token": ACCESS_TOKEN} if signed else {}
        settings = EmulatorSettings(project_ids=(PROJECT,), quota=quota, faults=frozenset(faults), **credentials)
        running = serve_in_thread(settings)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def gate_env(*, signed: bool = False, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVH_")}
    env["IVH_PROJECT_ID"] = PROJECT
    if signed:
        env.update(IVH_APPKEY=APPKEY, IVH_ACCESS_TOKEN=ACCESS_TOKEN)
    env.update(extra)
    return env


def gate_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ivhsuite.gate", *args]


def run_gate_process(
    *args: str,
    signed: bool = False,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        gate_command(*args),
        env=env if env is not None else gate_env(signed=signed),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def run_shipped_scenarios(
    nodeid: str, running: RunningEmulator, root: Path, *, signed: bool = False, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The installed contract tests' ``nodeid`` (a file, or file::test) as plain pytest runs it, against ``running``."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(packaged.contract_tests() / nodeid),
            "-c",
            os.devnull,
            f"--rootdir={root}",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rfEs",
        ],
        env=gate_env(signed=signed, IVH_BASE_URL=running.base_url, IVH_QUOTA="5"),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=root,
    )


def live_sessions(running: RunningEmulator) -> list[str]:
    return [info.session_id for info in running.app.state.store.account_sessions()]
