"""The gate's verdict when a half errors instead of judging, and what it says when it cannot count.

A half "errors" when it ends non-zero without naming a broken promise: the run could not
judge, so the gate must exit 2, never 0 (a green gate that checked nothing) and never 1
(a broken promise nobody found). Each half is made to error cheaply from the outside: a
schemathesis config file it cannot load (``IVH_SCHEMATHESIS_CONFIG``), a pytest plugin
that does not exist (``PYTEST_ADDOPTS``). Each run takes a second or two.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from ivhsuite.emulator import EmulatorSettings, RunningEmulator, create_app
from ivhsuite.serving import bind_socket, url_of

from .conftest import PROJECT, gate_env, run_gate_process

ERROR_VERDICT = "ERROR: the run could not judge (exit 2)"
STARTUP_TIMEOUT = 10.0


@pytest.fixture
def unloadable_config(tmp_path: Path) -> Path:
    """A schemathesis.toml schemathesis refuses to load (it stops before sending anything)."""
    path = tmp_path / "schemathesis.toml"
    path.write_text('workers = "many"\n')
    return path


@pytest.fixture
def listing_fails_after_preflight() -> Iterator[str]:
    """An endpoint whose first answer (the gate's preflight) is the emulator's; every later one a 502 page.

    So the gate starts, but its clean-up cannot list the project's sessions afterwards.
    """
    emulator = create_app(EmulatorSettings(project_ids=(PROJECT,)))
    answered = 0

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal answered
        if scope["type"] == "http":
            answered += 1
            if answered > 1:
                await send({"type": "http.response.start", "status": 502, "headers": [(b"content-type", b"text/html")]})
                await send({"type": "http.response.body", "body": b"<html>502 Bad Gateway</html>"})
                return
        await emulator(scope, receive, send)

    sock = bind_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT)
        sock.close()


def _gate(base_url: str, tmp_path: Path, *args: str, **env: str) -> tuple[int, str, str]:
    argv = ("--base-url", base_url, "--report-dir", str(tmp_path / "reports"), "--max-examples", "1", *args)
    done = run_gate_process(*argv, env=gate_env(**env), timeout=300)
    return done.returncode, done.stdout, done.stderr


def test_a_generated_half_that_cannot_run_is_exit_2(
    emulator: Callable[..., RunningEmulator], tmp_path: Path, unloadable_config: Path
) -> None:
    running = emulator()
    code, out, err = _gate(
        running.base_url, tmp_path, "--only", "schemathesis", IVH_SCHEMATHESIS_CONFIG=str(unloadable_config)
    )
    assert code == 2, out[-3000:] + err[-2000:]
    assert ERROR_VERDICT in out and "! schemathesis ended with exit code 2" in out
    assert "broken promise" not in out and "Traceback" not in err
    assert ", 0 left open" in out  # the list worked: the count is known


def test_a_scenario_half_that_cannot_run_is_exit_2(emulator: Callable[..., RunningEmulator], tmp_path: Path) -> None:
    running = emulator()
    code, out, err = _gate(running.base_url, tmp_path, "--only", "scenarios", PYTEST_ADDOPTS="-p no_such_plugin")
    assert code == 2, out[-3000:] + err[-2000:]
    assert ERROR_VERDICT in out and "! scenarios ended with exit code 4" in out
    assert "broken promise" not in out and "Traceback" not in err


@pytest.mark.slow  # test_gate_default.py and test_variants.py cover 0 and 1 in full; this is the quick look
@pytest.mark.parametrize(("fault", "expected"), [(None, 0), ("unknown-session-ok", 1)], ids=["holds", "broken"])
def test_a_few_scenarios_judge_the_endpoint(
    emulator: Callable[..., RunningEmulator], tmp_path: Path, fault: str | None, expected: int
) -> None:
    running = emulator(*([fault] if fault else []))
    argv = ("--only", "scenarios")
    code, out, err = _gate(running.base_url, tmp_path, *argv, PYTEST_ADDOPTS="-k unknown_session_id_refused")
    assert code == expected, out[-3000:] + err[-2000:]
    verdict = "PASS: the contract holds (exit 0)" if expected == 0 else "FAIL: broken promises (exit 1)"
    assert verdict in out and ", 0 left open" in out


def test_a_broken_promise_outweighs_an_error_in_the_other_half(
    emulator: Callable[..., RunningEmulator], tmp_path: Path, unloadable_config: Path
) -> None:
    running = emulator("unknown-session-ok")
    env = {"IVH_SCHEMATHESIS_CONFIG": str(unloadable_config), "PYTEST_ADDOPTS": "-k unknown_session_id_refused"}
    code, out, err = _gate(running.base_url, tmp_path, **env)
    assert code == 1, out[-3000:] + err[-2000:]
    assert "FAIL: broken promises (exit 1)" in out and "✗ broken promise [unknown-session]" in out
    assert "! schemathesis ended with exit code 2" in out


def test_left_open_is_unknown_when_the_sessions_cannot_be_listed(
    listing_fails_after_preflight: str, tmp_path: Path, unloadable_config: Path
) -> None:
    code, out, err = _gate(
        listing_fails_after_preflight, tmp_path, "--only", "schemathesis", IVH_SCHEMATHESIS_CONFIG=str(unloadable_config)
    )
    assert code == 2, out[-3000:] + err[-2000:]
    assert "unknown left open" in out
    assert " 0 left open" not in out  # a failed list must never read as "nothing left open"
