"""Serving the proxy over real HTTP on a background thread.

The main thread stays free to wait on a wrapped command and to own SIGINT/SIGTERM
(uvicorn installs no signal handlers off the main thread). The socket is bound before
uvicorn starts, like the emulator's, so port 0 gives a known free port at once.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn

from ivhsuite.emulator.server import bind_socket, url_of
from ivhsuite.errors import ConfigError
from ivhsuite.proxy.app import ProxyApp

STARTUP_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class RunningProxy:
    """A proxy served on a thread; ``stop()`` (or leaving the ``with`` block) shuts it down.

    >>> with serve_in_thread(app, port=0) as running:  # doctest: +SKIP
    ...     print(running.base_url)
    """

    def __init__(self, app: ProxyApp, host: str, port: int) -> None:
        self.app = app
        self._sock = bind_socket(host, port)
        self.base_url = url_of(self._sock)
        config = uvicorn.Config(
            app,
            log_level="error",
            access_log=False,  # an access log would print query strings, and with them signatures
            lifespan="on",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=75,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="ivhsuite-proxy", daemon=True
        )

    def start(self) -> RunningProxy:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigError(f"the proxy did not start on {self.base_url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Finish the calls in flight, close the upstream client, release the socket. Safe twice."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT)
        self._sock.close()

    def __enter__(self) -> RunningProxy:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_in_thread(app: ProxyApp, host: str = "127.0.0.1", port: int = 0) -> RunningProxy:
    """Serve ``app`` on ``host:port`` and return once it accepts connections."""
    return RunningProxy(app, host, port).start()
