"""Serving the emulator over real HTTP: in the foreground (the CLI) or on a background thread.

Binding and the thread are :mod:`ivhsuite.serving`'s (the proxy's too); this module says how
the emulator is served.

Teams load-test their own service against the emulator, so it is served for many small
answers: uvicorn picks httptools (a C parser, a dependency) over its pure-Python h11,
and skips the proxy-headers middleware (nothing here reads the client's address).
The command channel needs a WebSocket implementation: ``websockets`` (a dependency, also the
client's), named explicitly so uvicorn never falls back to none; its frame limit is the
channel document's largest message.
"""

from __future__ import annotations

import socket

import uvicorn
from starlette.applications import Starlette

from ivhsuite.channel_spec import load_channel_spec
from ivhsuite.emulator.app import create_app
from ivhsuite.emulator.settings import EmulatorSettings
from ivhsuite.serving import ServedOnThread, bind_socket

STOP_TIMEOUT = 5.0


def _config(app: Starlette) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level="error",
        access_log=False,
        lifespan="off",
        proxy_headers=False,
        timeout_graceful_shutdown=1,
        timeout_keep_alive=75,  # load users hold sessions idle for longer than uvicorn's 5 s default
        ws="websockets-sansio",  # the websockets library's sans-I/O core (uvicorn deprecates its legacy one)
        ws_max_size=load_channel_spec().refusal("oversized-frame").max_bytes or 1 << 16,
        ws_ping_interval=None,  # the protocol has its own heartbeat; idle channels cost nothing
    )


class RunningEmulator(ServedOnThread):
    """An emulator served on a background thread; stop it with ``stop()`` or a ``with`` block.

    >>> with serve_in_thread(EmulatorSettings()) as running:  # doctest: +SKIP
    ...     httpx.post(running.base_url + "/v2/...", json={...})
    """

    def __init__(self, app: Starlette, sock: socket.socket) -> None:
        self.app = app
        super().__init__(_config(app), sock, what="emulator", stop_timeout=STOP_TIMEOUT)


def serve_in_thread(
    settings: EmulatorSettings | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningEmulator:
    """Start the emulator on a background thread and return once it accepts connections."""
    return RunningEmulator(create_app(settings or EmulatorSettings()), bind_socket(host, port)).start()


def run(
    settings: EmulatorSettings,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    sock: socket.socket | None = None,
) -> None:
    """Serve in the foreground until interrupted (Ctrl-C stops uvicorn gracefully)."""
    sock = sock or bind_socket(host, port)
    try:
        uvicorn.Server(_config(create_app(settings))).run(sockets=[sock])
    finally:
        sock.close()
