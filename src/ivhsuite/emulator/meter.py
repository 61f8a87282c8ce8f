"""What a client did to the emulator: requests, connections opened, the most live sessions at once.

For tests and benchmarks that judge a client's manners rather than the API: does it
reuse its connections (against a distant https endpoint a fresh one costs two or three
round trips before the request), and does it stay within the quota it was given?

>>> with serve_metered(EmulatorSettings(quota=2)) as (running, meter):  # doctest: +SKIP
...     ...  # point a client at running.base_url
>>> meter.requests, meter.connections, meter.peak_live  # doctest: +SKIP
(120, 3, 2)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from ivhsuite.emulator.app import create_app
from ivhsuite.emulator.server import RunningEmulator
from ivhsuite.emulator.settings import EmulatorSettings
from ivhsuite.emulator.store import Store
from ivhsuite.serving import bind_socket


class Meter:
    """A pure-ASGI wrapper counting requests and client connections (a connection is one client address and port).

    It also watches the store: after every createsession that succeeds it counts the
    project's live sessions. The store acts on the event loop's thread without awaiting,
    so that count is the exact number live just after the create.
    """

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = app.state
        self.requests = 0
        self.peak_live = 0
        self._clients: set[tuple[Any, ...]] = set()
        self._lock = threading.Lock()
        self._watch(app.state.store)

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._clients)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            with self._lock:
                self.requests += 1
                self._clients.add(tuple(scope.get("client") or ()))
        await self.app(scope, receive, send)

    def _watch(self, store: Store) -> None:
        create = store.create

        def counted(project_id: str, *args: Any, **kwargs: Any) -> Any:
            info = create(project_id, *args, **kwargs)
            live = sum(1 for session in store.sessions(project_id) if session.live)
            with self._lock:
                self.peak_live = max(self.peak_live, live)
            return info

        store.create = counted  # type: ignore[method-assign]


@contextmanager
def serve_metered(settings: EmulatorSettings, host: str = "127.0.0.1") -> Iterator[tuple[RunningEmulator, Meter]]:
    """The emulator on a free port, metered; stopped at the end of the block."""
    meter = Meter(create_app(settings))
    running = RunningEmulator(meter, bind_socket(host, 0)).start()  # type: ignore[arg-type]
    try:
        yield running, meter
    finally:
        running.stop()
