"""Usage and configuration problems: exit code 2, one line, no traceback."""

from __future__ import annotations

import argparse
import socket
from collections.abc import Callable

import pytest

from ivhsuite.cli.commands.gate import add_gate_parser, options_from_args, run_gate_command
from ivhsuite.emulator import EmulatorSettings, RunningEmulator, serve_in_thread

from .conftest import APPKEY, PROJECT, gate_env, run_gate_process


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _one_line_error(done: object, needle: str) -> None:
    assert done.returncode == 2  # type: ignore[attr-defined]
    lines = done.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1, done.stderr  # type: ignore[attr-defined]
    assert needle in lines[0] and "Traceback" not in done.stderr  # type: ignore[attr-defined]


def test_unreachable_endpoint() -> None:
    done = run_gate_process("--base-url", f"http://127.0.0.1:{_closed_port()}", timeout=120)
    _one_line_error(done, "cannot reach")


def test_signed_endpoint_without_credentials(emulator: Callable[..., RunningEmulator]) -> None:
    running = emulator(signed=True)
    done = run_gate_process("--base-url", running.base_url, timeout=120)
    _one_line_error(done, "requires a signature")


def test_wrong_credentials(emulator: Callable[..., RunningEmulator]) -> None:
    running = emulator(signed=True)
    env = gate_env(IVH_APPKEY=APPKEY, IVH_ACCESS_TOKEN="wrong-token")
    done = run_gate_process("--base-url", running.base_url, env=env, timeout=120)
    _one_line_error(done, "refused the configured credentials")
    assert "wrong-token" not in done.stdout + done.stderr


@pytest.mark.parametrize("code", ["100001", "100015"])
def test_an_asset_key_the_endpoint_does_not_know(code: str) -> None:
    settings = EmulatorSettings(project_ids=(PROJECT,), assets=("known-asset",), choices={"unknown-asset": code})
    with serve_in_thread(settings) as running:
        done = run_gate_process("--base-url", running.base_url, env=gate_env(IVH_ASSET_KEY="not-known"), timeout=120)
    _one_line_error(done, "IVH_ASSET_KEY")


def test_half_set_credentials() -> None:
    done = run_gate_process(env=gate_env(IVH_APPKEY="only-the-key"), timeout=120)
    _one_line_error(done, "IVH_ACCESS_TOKEN")


def test_bad_flag_value() -> None:
    done = run_gate_process("--workers", "0", timeout=120)
    _one_line_error(done, "--workers")


def test_parser_registers_under_ivhsuite() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    add_gate_parser(sub)
    args = parser.parse_args(["gate", "--base-url", "http://h:1", "--max-examples", "3", "--only", "scenarios"])
    assert args.handler is run_gate_command
    options = options_from_args(args)
    assert options.max_examples == 3 and not options.run_schemathesis and options.run_scenarios


def test_a_usage_problem_prints_nothing_on_stdout() -> None:
    done = run_gate_process("--base-url", f"http://127.0.0.1:{_closed_port()}", timeout=120)
    assert done.returncode == 2 and done.stdout == ""
