"""Serving the emulator over real HTTP: in the foreground (the CLI) or on a background thread.

The socket is bound here, before uvicorn starts, so port 0 yields a free port whose
number is known at once, and the CLI can print the real URL before serving.

Teams load-test their own service against the emulator, so it is served for many small
answers: uvicorn picks httptools (a C parser, a dependency) over its pure-Python h11,
and skips the proxy-headers middleware (nothing here reads the client's address).
The command channel needs a WebSocket implementation: ``websockets`` (a dependency, also the
client's), named explicitly so uvicorn never falls back to none; its frame limit is the
channel document's largest message.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from ivhsuite.channel_spec import load_channel_spec
from ivhsuite.emulator.app import create_app
from ivhsuite.emulator.settings import EmulatorSettings
from ivhsuite.errors import ConfigError

STARTUP_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: any free port).

    It listens at once, so a client that read the URL from the start-up line is queued
    by the kernel until uvicorn accepts, instead of being refused.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio sets TCP_NODELAY only then
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except (OSError, OverflowError) as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or exc}") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


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


class RunningEmulator:
    """An emulator served on a background thread; stop it with ``stop()`` or a ``with`` block.

    >>> with serve_in_thread(EmulatorSettings()) as running:  # doctest: +SKIP
    ...     httpx.post(running.base_url + "/v2/...", json={...})
    """

    def __init__(self, app: Starlette, sock: socket.socket) -> None:
        self.app = app
        self.base_url = url_of(sock)
        self._sock = sock
        self._server = uvicorn.Server(_config(app))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="ivhsuite-emulator", daemon=True
        )

    def _start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigError(f"the emulator did not start on {self.base_url}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Ask uvicorn to exit, wait for its thread, release the socket. Safe to call twice."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT)
        self._sock.close()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_in_thread(
    settings: EmulatorSettings | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningEmulator:
    """Start the emulator on a background thread and return once it accepts connections."""
    running = RunningEmulator(create_app(settings or EmulatorSettings()), bind_socket(host, port))
    running._start()
    return running


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
