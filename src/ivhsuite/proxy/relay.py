"""The upstream half of a relayed WebSocket: a real endpoint over ``websockets``, or an ASGI app in process.

The proxy accepts the application's channel itself (:mod:`ivhsuite.proxy.app`) and opens the
same channel upstream through one of these, then moves frames both ways as they come: text
stays text, bytes stay bytes, nothing is buffered or rewritten. Both connectors look alike:
``open()`` (a refused handshake raises :class:`Refused` with the upstream's HTTP answer),
``send``, ``recv`` (raises :class:`Closed` with the close code) and ``close``.

The in-process one serves ``ivhsuite proxy --emulator``: the embedded emulator has no port,
so its ASGI app is driven directly, on the proxy's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from starlette.types import ASGIApp, Message, Scope
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

log = logging.getLogger("ivhsuite")

Frame = str | bytes
OPEN_TIMEOUT = 30.0
NO_STATUS = 1005  # "no status code": never sent on the wire, sent on as a normal close
ABNORMAL = 1006  # the connection dropped without a close frame
GOING_AWAY = 1001
DENIAL = "websocket.http.response"  # the ASGI extension for an HTTP answer instead of the upgrade


class Refused(Exception):
    """The upstream answered the handshake with an HTTP status instead of the upgrade."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.headers, self.body = status, headers, body


class Closed(Exception):
    """The upstream closed the channel (``code`` None: it dropped without a close frame)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"closed {code} {reason}")
        self.code, self.reason = code, reason


class Upstream(Protocol):
    async def send(self, frame: Frame) -> None: ...
    async def recv(self) -> Frame: ...
    async def close(self, code: int, reason: str = "") -> None: ...


def sendable(code: int | None) -> int:
    """A close code that may go on the wire (1005/1006 only describe a close, they are never sent)."""
    return 1000 if code in (None, NO_STATUS, ABNORMAL) else code


class WebSocketUpstream:
    """A real endpoint, over ``websockets``' asyncio client (no pings of its own: the application's traffic is the traffic)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._ws: ClientConnection | None = None

    async def open(self) -> WebSocketUpstream:
        try:
            self._ws = await connect(
                self.url, open_timeout=OPEN_TIMEOUT, max_size=None, ping_interval=None, compression=None, proxy=None
            )
        except InvalidStatus as exc:
            response = exc.response
            headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.raw_items()]
            raise Refused(response.status_code, headers, response.body or b"") from None
        return self

    async def send(self, frame: Frame) -> None:
        assert self._ws is not None
        try:
            await self._ws.send(frame)
        except ConnectionClosed as exc:
            raise _closed(exc) from None

    async def recv(self) -> Frame:
        assert self._ws is not None
        try:
            return await self._ws.recv()
        except ConnectionClosed as exc:
            raise _closed(exc) from None

    async def close(self, code: int, reason: str = "") -> None:
        if self._ws is not None:
            await self._ws.close(sendable(code), reason)


def _closed(exc: ConnectionClosed) -> Closed:
    received = exc.rcvd
    return Closed(received.code, received.reason) if received is not None else Closed(None)


class AsgiUpstream:
    """An ASGI app's WebSocket endpoint driven in process: the ASGI messages are the frames."""

    def __init__(self, app: ASGIApp, scope: Scope) -> None:
        self.app = app
        self.scope = {**scope, "extensions": {**(scope.get("extensions") or {}), DENIAL: {}}}
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def open(self) -> AsgiUpstream:
        self._to_app.put_nowait({"type": "websocket.connect"})
        self._task = asyncio.create_task(self._run())
        first = await self._from_app.get()
        kind = first["type"] if first else "websocket.close"
        if kind == "websocket.accept":
            return self
        if kind == f"{DENIAL}.start":
            assert first is not None
            body = bytearray()
            while (part := await self._from_app.get()) is not None and part["type"] == f"{DENIAL}.body":
                body += part.get("body", b"")
                if not part.get("more_body"):
                    break
            raise Refused(first["status"], list(first.get("headers", [])), bytes(body))
        raise Refused(403, [], b"")  # a close before the accept: what an ASGI server answers

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self._to_app.get, self._send)
        except Exception:  # noqa: BLE001 - the emulator's bug is logged; the channel ends abnormally
            log.exception("ivhsuite proxy: the in-process channel failed")
        finally:
            self._from_app.put_nowait(None)

    async def _send(self, message: Message) -> None:
        if message["type"] == "websocket.close":
            self._to_app.put_nowait({"type": "websocket.disconnect", "code": message.get("code", 1000)})
        self._from_app.put_nowait(message)

    async def send(self, frame: Frame) -> None:
        if self._closed:
            raise Closed(None)
        key = "text" if isinstance(frame, str) else "bytes"
        self._to_app.put_nowait({"type": "websocket.receive", key: frame})

    async def recv(self) -> Frame:
        while True:
            message = await self._from_app.get()
            if message is None:
                self._closed = True
                raise Closed(None)
            if message["type"] == "websocket.send":
                text = message.get("text")
                return text if text is not None else message.get("bytes") or b""
            if message["type"] == "websocket.close":
                self._closed = True
                raise Closed(message.get("code", 1000), message.get("reason") or "")

    async def close(self, code: int, reason: str = "") -> None:
        self._closed = True
        self._to_app.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 5.0)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task


def app_scope(scope: Scope) -> dict[str, Any]:
    """The parts of the proxy's WebSocket scope an in-process app needs (no server state of the proxy)."""
    keep = ("type", "asgi", "http_version", "scheme", "server", "client", "path", "raw_path", "query_string",
            "headers", "subprotocols")  # fmt: skip
    return {**{k: scope[k] for k in keep if k in scope}, "root_path": ""}
