"""`ivhsuite verify` through a real nginx with a 1-second keep-alive in front of the emulator: green, nothing left live.

nginx closes a client's idle connection after 1 s; the lifecycle users poll every second.
Without the pooled-socket check and the retry policy, such closes show up as failed
requests (or, worse, as a createsession sent twice). nginx comes from Debian's
``nginx-light`` (``.ci/install-nginx``); without it the test says so and skips.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivhsuite.config import DEFAULT_PROJECT_ID
from ivhsuite.emulator import EmulatorSettings, RunningEmulator, serve_in_thread
from ivhsuite.protocol import ExitCode

pytestmark = pytest.mark.slow

# As root, nginx's workers would run as nobody and could not write request bodies into the test's
# private temporary folder (a 500 of nginx's own): they run as the user who started it.
CONFIG = """
{user}worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  keepalive_timeout 1s;
  upstream emulator {{ server {upstream}; keepalive 16; }}
  # The command channel is a WebSocket: a gateway in front of this API passes the upgrade on
  # (and keeps plain requests on pooled keep-alive connections).
  map $http_upgrade $connection_upgrade {{ default upgrade; "" ""; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://emulator; proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade;
    }}
  }}
}}
"""


def nginx_binary() -> str | None:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    return found if os.access(found, os.X_OK) else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_in_thread(EmulatorSettings(quota=20)) as running:
        yield running


@pytest.fixture
def gateway(emulator: RunningEmulator, tmp_path: Path) -> Iterator[str]:
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (Debian package nginx-light; .ci/install-nginx installs it)")
    root = tmp_path / "nginx"
    root.mkdir()
    port = free_port()
    upstream = emulator.base_url.removeprefix("http://")
    (root / "nginx.conf").write_text(
        CONFIG.format(root=root, upstream=upstream, port=port, user="user root;\n" if os.geteuid() == 0 else ""),
        encoding="utf-8",
    )
    argv = [binary, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(root / "error.log")]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                pytest.skip(f"nginx could not start: {process.stderr.read().decode(errors='replace')[-300:]}")  # type: ignore[union-attr]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not listen within 10 s"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_verify_through_nginx_with_a_1s_keepalive_is_green(
    emulator: RunningEmulator, gateway: str, tmp_path: Path
) -> None:
    report = tmp_path / "report"
    command = [sys.executable, "-m", "ivhsuite.cli", "verify", "--base-url", gateway, "--report-dir", str(report)]
    command += ["--profile", "smoke", "--max-examples", "5", "--load-seconds", "12"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVH_")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == ExitCode.OK, output[-4000:]
    assert emulator.app.state.store.sessions(DEFAULT_PROJECT_ID) == []
    summary = json.loads((report / "summary.json").read_text())
    assert summary["verdict"] == "green"
    for scenario in ("create", "preemption", "lifecycle"):
        folder = report / f"load-{scenario}"
        failures = (folder / "locust_failures.csv").read_text()
        assert failures.count("\n") <= 1, f"{scenario}: {failures}"  # the header only: no failed request
        network = json.loads((folder / "network.json").read_text())
        assert sum(row["unanswered"] for row in network["rows"]) == 0, network
        entries = json.loads((folder / "thresholds.json").read_text())["entries"]
        assert sum(e["failures"] for e in entries) == 0, entries
