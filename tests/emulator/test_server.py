"""The emulator on real sockets: background thread, foreground CLI, and the start-up line."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading

import httpx
import pytest

from ivhsuite.cli import main
from ivhsuite.cli.commands.emulate import ENV_FAULTS, add_emulate_parser, settings_from_args, startup_line
from ivhsuite.emulator import EmulatorSettings, serve_in_thread
from ivhsuite.errors import ConfigError
from ivhsuite.serving import bind_socket
from ivhsuite.signing import signed_query

from .conftest import PROJECT, SPEC, new_req_id

LIST = SPEC.operation("listsessionofprojectid").path
CREATE_BODY = {
    "Payload": {"ReqId": "0" * 32, "VirtualmanProjectId": PROJECT, "UserId": "u", "Protocol": "rtmp", "DriverType": 1}
}


def test_serves_on_a_free_loopback_port() -> None:
    with serve_in_thread(EmulatorSettings(prepare_seconds=0)) as running:
        assert running.base_url.startswith("http://127.0.0.1:")
        assert not running.base_url.endswith(":0")
        response = httpx.post(running.base_url + SPEC.operation("createsession").path, json=CREATE_BODY)
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        assert response.json()["Header"]["Code"] == 0
        assert len(running.app.state.store.sessions(PROJECT)) == 1


def _server_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "ivhsuite-emulator" and t.is_alive()}


def test_stop_with_a_keep_alive_client_ends_the_server_and_frees_the_port() -> None:
    """stop() returns once the server is gone, not when its wait runs out (effects, no wall clock)."""
    before = _server_threads()
    running = serve_in_thread()
    ours = _server_threads() - before
    assert len(ours) == 1, "the emulator serves on a thread named ivhsuite-emulator"
    port = int(running.base_url.rsplit(":", 1)[1])
    with httpx.Client(base_url=running.base_url) as client:
        body = {"Payload": {"ReqId": new_req_id(), "VirtualmanProjectId": PROJECT}}
        assert client.post(LIST, json=body).json()["Header"]["Code"] == 0  # a kept-alive connection is open
        running.stop()
        assert not ours & _server_threads(), "stop() returned with the server still running"
        with pytest.raises(httpx.ConnectError):
            client.post(LIST, json=body)
    running.stop()  # twice is harmless
    bind_socket("127.0.0.1", port).close()  # the port is free again


def test_two_emulators_side_by_side() -> None:
    with serve_in_thread() as one, serve_in_thread() as two:
        assert one.base_url != two.base_url


def test_a_busy_port_is_a_config_error() -> None:
    with serve_in_thread() as running:
        port = int(running.base_url.rsplit(":", 1)[1])
        with pytest.raises(ConfigError, match="cannot listen"):
            bind_socket("127.0.0.1", port).close()


# --- the CLI ---------------------------------------------------------------------------


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_emulate_parser(parser.add_subparsers())
    return parser.parse_args(["emulate", *argv])


def test_cli_defaults() -> None:
    args = _parse()
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    settings = settings_from_args(args, environ={})
    assert settings == EmulatorSettings()


def test_cli_flags() -> None:
    flags = "--project-id p1 --project-id p2 --quota 3 --prepare-seconds 0 --mode private --idle-seconds 30"
    args = _parse(*flags.split(), "--appkey", "k", "--access-token", "t")
    settings = settings_from_args(args, environ={"IVH_APPKEY": "ignored"})
    assert settings.project_ids == ("p1", "p2") and settings.quota == 3 and settings.mode == "private"
    assert (settings.prepare_seconds, settings.idle_seconds, settings.appkey) == (0, 30, "k")


def test_cli_credentials_come_only_from_flags() -> None:
    environ = {"IVH_APPKEY": "k", "IVH_ACCESS_TOKEN": "t"}
    assert not settings_from_args(_parse(), environ=environ).signed


def test_cli_faults_from_the_environment_only_when_set() -> None:
    settings = settings_from_args(_parse(), environ={ENV_FAULTS: "no-quota, no-preemption"})
    assert settings.faults == {"no-quota", "no-preemption"}
    with pytest.raises(ConfigError, match="unknown emulator fault"):
        settings_from_args(_parse(), environ={ENV_FAULTS: "typo"})


def test_startup_line_says_where_and_how_and_never_the_token() -> None:
    signed = EmulatorSettings(appkey="the-appkey", access_token="the-secret-token", quota=4)
    line = startup_line(signed, "http://127.0.0.1:8000")
    assert "http://127.0.0.1:8000" in line and PROJECT in line and "signed" in line and "quota 4" in line
    assert "the-secret-token" not in line
    assert "open" in startup_line(EmulatorSettings(), "http://x")


@pytest.mark.slow
def test_foreground_emulator_prints_its_url_serves_signed_and_ctrl_c_is_exit_130() -> None:
    credentials = ["--appkey", "k", "--access-token", "tok-secret"]
    argv = [sys.executable, "-m", "ivhsuite.cli", "emulate", "--port", "0", *credentials]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop(ENV_FAULTS, None)
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as proc:
        try:
            line = proc.stdout.readline() if proc.stdout else ""
            assert "tok-secret" not in line and "signed" in line
            url = line.split(" on ", 1)[1].split(" ", 1)[0]
            body = {"Payload": {"ReqId": new_req_id(), "VirtualmanProjectId": PROJECT}}
            assert httpx.post(f"{url}{LIST}", json=body).json()["Header"]["Code"] == 100005
            signed = httpx.post(f"{url}{LIST}?{signed_query('k', 'tok-secret')}", json=body)
            assert signed.json()["Header"]["Code"] == 0
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130, err
    assert err.splitlines() == ["ivhsuite: interrupted"]  # one line, no traceback


@pytest.mark.timeout(30)  # a usage problem missed would serve for ever
@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        (["--port", "BUSY"], {}, "cannot listen on 127.0.0.1:"),
        (["--port", "0"], {ENV_FAULTS: "no-such-fault"}, "unknown emulator fault"),
        (["--port", "not-a-number"], {}, "argument --port"),
    ],
    ids=["busy-port", "unknown-fault", "bad-flag"],
)
def test_a_usage_problem_is_one_line_and_exit_2(
    argv: list[str],
    environ: dict[str, str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv(ENV_FAULTS, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with serve_in_thread() as running:  # holds a port, for the busy-port case
        busy = running.base_url.rsplit(":", 1)[1]
        try:
            code = main(["emulate", *[busy if a == "BUSY" else a for a in argv]])
        except SystemExit as exc:  # argparse's own errors end the process
            code = exc.code
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ivhsuite: error:") and message in lines[0]
