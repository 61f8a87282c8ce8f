"""Serving an ASGI app with uvicorn: bind first, serve on a thread, stop. The emulator's and the proxy's.

The socket is bound here, before uvicorn starts, so port 0 yields a free port whose number
is known at once (a start-up line can print the real URL before serving). On a thread, the
main thread stays free to wait on a child and to own SIGINT/SIGTERM (uvicorn installs no
signal handlers off the main thread).
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Self

import uvicorn

from ivhsuite.errors import ConfigError

STARTUP_TIMEOUT = 10.0


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


class ServedOnThread:
    """uvicorn serving on a background thread from a bound socket; ``stop()`` or a ``with`` block ends it."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket, *, what: str, stop_timeout: float) -> None:
        self.base_url = url_of(sock)
        self._what = what
        self._sock = sock
        self._stop_timeout = stop_timeout
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"ivhsuite-{what}", daemon=True
        )

    def start(self) -> Self:
        """Serve, and return once uvicorn accepts connections (a ConfigError if it does not)."""
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigError(f"the {self._what} did not start on {self.base_url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit (finishing what is in flight), wait for its thread, release the socket. Safe twice."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(self._stop_timeout)
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
