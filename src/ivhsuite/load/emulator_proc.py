"""The embedded emulator for a load run, in its own process.

Locust runs on gevent, which patches threads and sockets; uvicorn on a "thread" in
that process would share one core and one hub with the load. A child process keeps the
emulator faithful and off the generator's core. The parent binds the socket and
hands it over, so the URL is known before the child starts and no port can race.
Credentials reach the child through the environment (``IVH_APPKEY``/``IVH_ACCESS_TOKEN``),
never its command line; test-only faults through ``IVHSUITE_EMULATOR_FAULTS``.

``python -m ivhsuite.load.emulator_proc --fd N ...`` is the child's entry point.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from ivhsuite.config import add_flag, setting
from ivhsuite.errors import ConfigError

STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0


class EmulatorProcess:
    """A running emulator child; ``stop()`` ends it (also safe to call twice)."""

    def __init__(self, process: subprocess.Popen[bytes], base_url: str, faults: str) -> None:
        self.process = process
        self.base_url = base_url
        self.faults = faults

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(project_id: str, quota: int, prepare_seconds: float, host: str = "127.0.0.1") -> EmulatorProcess:
    """Start the emulator serving ``project_id`` and return once it answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(1024)  # connections queue from now on, before uvicorn accepts them
    sock.set_inheritable(True)
    base_url = f"http://{host}:{sock.getsockname()[1]}"
    command = [
        sys.executable,
        "-m",
        "ivhsuite.load.emulator_proc",
        "--fd",
        str(sock.fileno()),
        "--project-id",
        project_id,
        "--quota",
        str(quota),
        "--prepare-seconds",
        str(prepare_seconds),
    ]
    try:
        # A session of its own: a Ctrl-C meant for locust must not stop the emulator before
        # the run's cleanup has closed its sessions; the child watches its parent instead.
        process = subprocess.Popen(command, pass_fds=(sock.fileno(),), stdin=subprocess.DEVNULL, start_new_session=True)
    finally:
        sock.close()
    running = EmulatorProcess(process, base_url, ", ".join(sorted(setting("emulator_faults"))))
    try:
        _wait_until_up(running, project_id)
    except ConfigError:
        running.stop()
        raise
    return running


def _wait_until_up(running: EmulatorProcess, project_id: str) -> None:
    """Poll with a request any emulator answers (even a signed one refuses it with JSON)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    url = running.base_url + "/v2/ivh/sessionmanager/sessionmanagerservice/listsessionofprojectid"
    body = json.dumps({"Payload": {"ReqId": "0" * 32, "VirtualmanProjectId": project_id}}).encode()
    while True:
        if running.process.poll() is not None:
            raise ConfigError(f"the embedded emulator exited with code {running.process.returncode}")
        try:
            request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            if time.monotonic() > deadline:
                raise ConfigError(f"the embedded emulator did not answer on {running.base_url}") from None
            time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    """Child side: serve on the inherited socket until terminated."""
    parser = argparse.ArgumentParser(prog="ivhsuite.load.emulator_proc")
    parser.add_argument("--fd", type=int, required=True)
    for key in ("project_id", "quota", "prepare_seconds"):
        add_flag(parser, key, required=True)
    args = parser.parse_args(argv)

    from ivhsuite.emulator import EmulatorSettings
    from ivhsuite.emulator.server import run

    faults = setting("emulator_faults")
    settings = EmulatorSettings(
        project_ids=(args.project_id,),
        appkey=setting("appkey"),
        access_token=setting("access_token"),
        quota=args.quota,
        prepare_seconds=args.prepare_seconds,
        faults=faults,
    )
    _exit_with_parent()
    sock = socket.socket(fileno=args.fd)
    run(settings, sock=sock)
    return 0


def _exit_with_parent() -> None:
    """Never outlive the locust process, even one killed with SIGKILL."""
    import signal
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
