"""``ivhsuite proxy`` end to end on real sockets: a wrapped command, exit codes, signals, the README."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ivhsuite.emulator import EmulatorSettings, RunningEmulator, serve_in_thread
from ivhsuite.proxy import Policy, ProxyOptions, run_proxy
from ivhsuite.spec import load_spec

pytestmark = pytest.mark.slow

PROJECT = "ivhsuite-demo-project"

WELL_BEHAVED = """
from ivhsuite import IvhClient
with IvhClient() as ivh:
    sid = ivh.create_session("well-behaved")["SessionId"]
    ivh.wait_until_ready(sid, interval=1.1)
    ivh.start_session(sid)
    ivh.send_text(sid, "hello")
    ivh.close_session(sid)
"""

FORGETS_TO_CLOSE = """
from ivhsuite import IvhClient
ivh = IvhClient()
sid = ivh.create_session("forgetful")["SessionId"]
ivh.start_session(sid)
ivh.send_text(sid, "hello")
"""


def proxy_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ivhsuite.cli", "proxy", *args]


def python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


def summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def counts(folder: Path) -> dict[str, int]:
    return {item["rule"]: item["count"] for item in summary(folder)["rules"] if item["count"]}


def test_wrapped_well_behaved_client_passes(tmp_path: Path) -> None:
    """The wrapped-command mode as CI runs it, in its own process."""
    done = subprocess.run(
        proxy_command("--emulator", "--report-dir", str(tmp_path), "--", *python(WELL_BEHAVED)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "client findings: 0" in done.stderr and "endpoint findings: 0" in done.stderr
    result = summary(tmp_path)
    assert result["verdict"] == "green" and result["command_exit"] == 0
    assert result["counts"]["calls"] >= 5 and result["counts"]["sessions"] == 1
    (session,) = result["sessions"]
    assert session["end_reason"] == "closed" and session["ready"] is not None and session["texts"] == 1
    assert {p.name for p in tmp_path.iterdir()} == {"summary.json", "junit.xml", "index.html"}


def test_wrapped_rule_breaker_fails_on_client_only(tmp_path: Path) -> None:
    options = ProxyOptions(command=python(FORGETS_TO_CLOSE), report_dir=tmp_path / "client", fail_on="client",
                           prepare_seconds=0.0)  # fmt: skip
    out = io.StringIO()
    assert run_proxy(options, out).exit_code == 1
    assert counts(tmp_path / "client") == {"session-leaked": 1}
    assert re.search(r"CLIENT \[session-leaked\] \(session \w+, UserId forgetful, createsession #1 from 127\.0\.0\.1:\d+\)"
                     r": still live when the application stopped", out.getvalue())  # fmt: skip
    tolerant = ProxyOptions(command=options.command, report_dir=tmp_path / "endpoint", fail_on="endpoint",
                            prepare_seconds=0.0)  # fmt: skip
    assert run_proxy(tolerant, io.StringIO()).exit_code == 0


@pytest.fixture
def broken_emulator() -> Iterator[RunningEmulator]:
    with serve_in_thread(EmulatorSettings(prepare_seconds=0.0, faults={"wrong-schema"})) as running:
        yield running


def test_endpoint_findings_against_a_broken_emulator(
    broken_emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The client signs (the proxy checks the signature's form); the emulator runs unsigned.
    monkeypatch.setenv("IVH_APPKEY", "app-key")
    monkeypatch.setenv("IVH_ACCESS_TOKEN", "access-token-never-printed")
    command = python(WELL_BEHAVED)
    strict = ProxyOptions(
        upstream=broken_emulator.base_url, command=command, report_dir=tmp_path / "e", fail_on="endpoint"
    )
    out = io.StringIO()
    assert run_proxy(strict, out).exit_code == 1
    assert "ENDPOINT [response-schema]" in out.getvalue()
    assert set(counts(tmp_path / "e")) == {"response-schema"}
    lenient = ProxyOptions(
        upstream=broken_emulator.base_url, command=command, report_dir=tmp_path / "c", fail_on="client"
    )
    assert run_proxy(lenient, io.StringIO()).exit_code == 0
    for path in (tmp_path / "e").iterdir():
        assert "access-token-never-printed" not in path.read_text()


def test_a_failing_wrapped_command_propagates_when_nothing_was_found(tmp_path: Path) -> None:
    options = ProxyOptions(command=python("import sys; sys.exit(3)"), report_dir=tmp_path)
    assert run_proxy(options, io.StringIO()).exit_code == 3
    assert summary(tmp_path)["command_exit"] == 3 and summary(tmp_path)["verdict"] == "green"


def test_findings_decide_over_the_wrapped_commands_exit(tmp_path: Path) -> None:
    code = FORGETS_TO_CLOSE + "\nimport sys; sys.exit(5)"
    options = ProxyOptions(command=python(code), report_dir=tmp_path, prepare_seconds=0.0, policy=Policy())
    assert run_proxy(options, io.StringIO()).exit_code == 1


def start_serving(tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        proxy_command("--emulator", "--port", "0", "--prepare-seconds", "0", "--report-dir", str(tmp_path)),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    found = re.search(r"on (http://127\.0\.0\.1:\d+) ->", line)
    assert found, line
    return process, found[1]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_proxy_with_reports_and_leaks(tmp_path: Path, sig: int, code: int) -> None:
    process, url = start_serving(tmp_path)
    try:
        body = {"Payload": {"ReqId": "0" * 32, "VirtualmanProjectId": PROJECT, "UserId": "left-open",
                            "Protocol": "rtmp", "DriverType": 1}}  # fmt: skip
        answer = httpx.post(url + load_spec().operation("createsession").path, json=body, timeout=10)
        assert answer.json()["Header"]["Code"] == 0
        process.send_signal(sig)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, err
    result = summary(tmp_path)
    assert result["stopped_by"] == signal.Signals(sig).name and result["counts"]["leaked"] == 1
    leak = next(item for item in result["rules"] if item["rule"] == "session-leaked")["findings"][0]
    assert leak["user_id"] == "left-open" and "still live when the proxy was stopped" in leak["message"]


def test_sigterm_is_forwarded_to_the_wrapped_command(tmp_path: Path) -> None:
    marker = tmp_path / "terminated"
    child = (
        "import signal, sys, time, pathlib\n"
        f"signal.signal(signal.SIGTERM, lambda *a: (pathlib.Path({str(marker)!r}).write_text('x'), sys.exit(0)))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen(
        proxy_command("--emulator", "--report-dir", str(tmp_path / "r"), "--", *python(child)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 143
    assert marker.exists(), "the wrapped command got SIGTERM and could clean up"
    assert time.monotonic() - started < 8, "no waiting out the grace period when the command obeys"


def readme_section() -> str:
    readme = Path(__file__).resolve().parents[2] / "README.md"
    text = readme.read_text(encoding="utf-8")
    start = text.index("## Checking your own application: ivhsuite proxy")
    end = text.find("\n## ", start + 3)
    return text[start : end if end != -1 else len(text)]


def test_the_readme_example_works_as_written(tmp_path: Path) -> None:
    blocks = re.findall(r"```sh\n(.*?)```", readme_section(), re.S)
    example = next(block for block in blocks if "cat > " in block and "ivhsuite proxy --emulator" in block)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVH_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(["bash", "-e", "-c", example], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (folder,) = (tmp_path / "reports").iterdir()
    assert summary(folder)["verdict"] == "green"
