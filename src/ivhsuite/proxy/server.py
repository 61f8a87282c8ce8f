"""Serving the proxy over real HTTP on a background thread (:mod:`ivhsuite.serving`, like the emulator).

The main thread stays free to wait on a wrapped command and to take SIGINT/SIGTERM.
"""

from __future__ import annotations

import uvicorn

from ivhsuite.proxy.app import ProxyApp
from ivhsuite.serving import ServedOnThread, bind_socket

STOP_TIMEOUT = 10.0


class RunningProxy(ServedOnThread):
    """A proxy served on a thread; ``stop()`` (or leaving the ``with`` block) finishes the calls in flight,
    closes the upstream client and releases the socket.

    >>> with serve_in_thread(app, port=0) as running:  # doctest: +SKIP
    ...     print(running.base_url)
    """

    def __init__(self, app: ProxyApp, host: str, port: int) -> None:
        self.app = app
        config = uvicorn.Config(
            app,
            log_level="error",
            access_log=False,  # an access log would print query strings, and with them signatures
            lifespan="on",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=75,
        )
        super().__init__(config, bind_socket(host, port), what="proxy", stop_timeout=STOP_TIMEOUT)


def serve_in_thread(app: ProxyApp, host: str = "127.0.0.1", port: int = 0) -> RunningProxy:
    """Serve ``app`` on ``host:port`` and return once it accepts connections."""
    return RunningProxy(app, host, port).start()
