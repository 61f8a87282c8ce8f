"""The client side of the WebSocket command channel: signed, paced as documented, sync and async.

:meth:`ivhsuite.client.IvhClient.channel` opens a :class:`Channel` for a started session,
:meth:`ivhsuite.client.AsyncIvhClient.channel` an :class:`AsyncChannel`. Every rule they
follow (texts more than 1 s apart, audio in 5120-byte packets with a head start of 6 and
then one every 120 ms, the empty final packet, the heartbeat) is read from the AsyncAPI
document's ``x-rules`` (:mod:`ivhsuite.channel_spec`), never restated here; the two share
one :class:`_Rules` object for the URL, the command bodies and the pacing, and differ only in
how they wait and send.

Built on ``websockets`` (the library the emulator serves the channel with): its synchronous
client is thread-safe, so the heartbeat thread and the caller send side by side; its asyncio
client serves the async one, the heartbeat a task.

>>> with ivh.channel(session_id) as ch:  # doctest: +SKIP
...     req_id = ch.send_text("Hello")
...     ch.wait_for("TextOver", req_id)
...     ch.wait_for("AudioOver", ch.send_audio(pcm_bytes))
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from ivhsuite.channel_spec import ChannelSpec, load_channel_spec
from ivhsuite.errors import ApiError, TransportError
from ivhsuite.signing import encode_query, sign_params

OPERATION = "commandchannel"  # how errors of the channel name their operation
DEFAULT_WAIT = 30.0
TEXT_MARGIN = 0.1  # texts "more than 1 s apart" as the server sees them: a margin for the network's jitter
NO_CODE = -1  # the ApiError code of an upgrade refused with an HTTP status and no envelope


def channel_url(
    base_url: str,
    session_id: str,
    appkey: str | None = None,
    access_token: str | None = None,
    spec: ChannelSpec | None = None,
) -> str:
    """``ws(s)://host/…/commandchannel?appkey&requestid&timestamp&signature``: requestid is the SessionId, signed.

    >>> channel_url("http://127.0.0.1:8000", "s1")
    'ws://127.0.0.1:8000/v2/ws/ivh/interactdriver/interactdriverservice/commandchannel?requestid=s1'
    """
    spec = spec or load_channel_spec()
    scheme, _, rest = base_url.rstrip("/").partition("://")
    ws_scheme = {"https": "wss", "http": "ws"}.get(scheme, scheme)
    if appkey and access_token:
        params = sign_params(appkey, access_token, requestid=session_id)
    else:
        params = {"requestid": session_id}
    return f"{ws_scheme}://{rest}{spec.address}?{encode_query(params)}"


class _Rules:
    """What both channels do the same way: command bodies, text spacing, the audio schedule, reading answers."""

    def __init__(self, session_id: str, spec: ChannelSpec | None, clock: Callable[[], float]) -> None:
        self.spec = spec or load_channel_spec()
        self.rules = self.spec.rules
        self.session_id = session_id
        self.clock = clock
        self.last_text: float | None = None
        self.received: list[dict[str, Any]] = []  # every downstream message, in order
        self.close_code: int | None = None  # set once the server closed the channel

    def body(self, name: str, req_id: str, data: dict[str, Any]) -> str:
        payload = {"ReqId": req_id, "SessionId": self.session_id, "Command": name, "Data": data}
        return json.dumps({"Header": {}, "Payload": payload}, separators=(",", ":"))

    def text_wait(self) -> float:
        """How long to wait so this text is more than the documented interval after the last; marks it sent."""
        now = self.clock()
        interval = self.rules.text_interval_seconds + TEXT_MARGIN
        wait = 0.0 if self.last_text is None else max(0.0, self.last_text + interval - now)
        self.last_text = now + wait
        return wait

    def audio(self, pcm: bytes, *, final: bool) -> Iterator[tuple[float, dict[str, Any]]]:
        """(when, Data) of each packet: the documented size, the head start at once, then one an interval.

        Times are offsets from the first packet, so the pace does not drift; with ``final`` the
        last packet is followed by an empty one with IsFinal.
        """
        audio = self.rules.audio
        packets = [pcm[i : i + audio.packet_bytes] for i in range(0, len(pcm), audio.packet_bytes)]
        if final:
            packets.append(b"")
        for seq, packet in enumerate(packets, start=1):
            due = max(0, seq - audio.head_start_packets) * audio.send_interval_seconds
            yield (
                due,
                {"Audio": base64.b64encode(packet).decode(), "Seq": seq, "IsFinal": final and seq == len(packets)},
            )

    def stream_text(self, chunks: Iterable[str]) -> list[dict[str, Any]]:
        parts = list(chunks) or [""]
        return [{"Text": chunk, "Seq": seq, "IsFinal": seq == len(parts)} for seq, chunk in enumerate(parts, start=1)]

    def read(self, raw: str | bytes) -> dict[str, Any]:
        message = json.loads(raw)
        self.received.append(message)
        return message

    def closed(self, exc: ConnectionClosed) -> TransportError:
        self.close_code = exc.rcvd.code if exc.rcvd is not None else 1006
        return TransportError(f"the command channel was closed: {exc}")

    def found(self, message: dict[str, Any], speak_status: str, req_id: str) -> dict[str, Any] | None:
        """The Payload when ``message`` is the status waited for; ApiError for an error about this ReqId (or none)."""
        payload = message.get("Payload") or {}
        header = message.get("Header") or {}
        code = header.get("Code", 0)
        if code and payload.get("ReqId") in (None, req_id):
            raise ApiError(code, header.get("Message", ""), header.get("RequestID", ""), OPERATION)
        return payload if _matches(message, speak_status, req_id) else None

    def seen(self, speak_status: str, req_id: str) -> dict[str, Any] | None:
        return next((m["Payload"] for m in self.received if _matches(m, speak_status, req_id)), None)


class Channel:
    """One session's command channel. Use it as a context manager; it closes on exit.

    ``sleep`` and ``clock`` pace the audio and the texts; tests pass their own.
    ``heartbeat`` sends SEND_HEARTBEAT that often from a thread (None: the documented
    interval's lower bound; 0: never).
    """

    def __init__(
        self,
        url: str,
        session_id: str,
        *,
        spec: ChannelSpec | None = None,
        heartbeat: float | None = None,
        open_timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._r = _Rules(session_id, spec, clock)
        self.spec, self.rules, self.session_id = self._r.spec, self._r.rules, session_id
        self.received = self._r.received
        self._url = url
        self._open_timeout = open_timeout
        self._sleep = sleep
        self._clock = clock
        self.audio_lag = 0.0  # seconds the last audio sequence's latest packet went out behind its pace
        self._heartbeat = self.rules.heartbeat_seconds[0] if heartbeat is None else heartbeat
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self._ws: ClientConnection | None = None
        self._exits = contextlib.ExitStack()  # the connection, entered as websockets asks

    @property
    def close_code(self) -> int | None:
        """The close code once the server closed the channel (1006: dropped without one); None while open."""
        return self._r.close_code

    # --- life -----------------------------------------------------------------------

    def open(self) -> Channel:
        """Connect; a refused handshake (HTTP status before the upgrade) raises ApiError."""
        try:
            self._ws = self._exits.enter_context(connect(self._url, open_timeout=self._open_timeout, max_size=None))
        except InvalidStatus as exc:
            raise _refusal(exc) from None
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise TransportError(f"cannot open the command channel: {exc}") from None
        if self._heartbeat > 0:
            self._beat = threading.Thread(target=self._beat_loop, name="ivhsuite-heartbeat", daemon=True)
            self._beat.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._exits.close()
        if self._beat is not None and self._beat is not threading.current_thread():
            self._beat.join(timeout=5)

    def __enter__(self) -> Channel:
        return self.open() if self._ws is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- commands -------------------------------------------------------------------

    def send_text(self, text: str, *, req_id: str | None = None, **data: Any) -> str:
        """SEND_TEXT, waiting first so texts stay more than the documented interval apart; its ReqId."""
        if not (data.get("Interrupt") and not text):  # an interrupt is not held back
            self._wait(self._r.text_wait())
        return self.send_command("SEND_TEXT", {"Text": text, **data}, req_id)

    def interrupt(self) -> str:
        """Stop the text playing (an empty text with Interrupt); wait for its TextOver before audio."""
        return self.send_command("SEND_TEXT", {"Text": "", "Interrupt": True})

    def send_stream_text(self, chunks: Iterable[str], *, req_id: str | None = None) -> str:
        """SEND_STREAMTEXT: one ReqId, Seq from 1, the last chunk final; its ReqId."""
        self._wait(self._r.text_wait())
        req_id = req_id or uuid.uuid4().hex
        for data in self._r.stream_text(chunks):
            self.send_command("SEND_STREAMTEXT", data, req_id)
        return req_id

    def send_audio(self, pcm: bytes, *, req_id: str | None = None, final: bool = True) -> str:
        """Raw PCM (16 kHz, 16-bit, mono) as one sequence, paced as documented; its ReqId.

        ``final=False`` leaves the sequence without its final packet: the server ends it
        after StreamMaxInterval (AudioOver FinalType 2).
        """
        req_id = req_id or uuid.uuid4().hex
        began = self._clock()
        self.audio_lag = 0.0
        for due, data in self._r.audio(pcm, final=final):
            self._wait(began + due - self._clock())
            self.audio_lag = max(self.audio_lag, self._clock() - began - due)
            self.send_command("SEND_AUDIO", data, req_id)
        return req_id

    def heartbeat(self) -> str:
        return self.send_command("SEND_HEARTBEAT", {"Text": "PING"})

    def send_command(self, name: str, data: dict[str, Any], req_id: str | None = None) -> str:
        """One command as given, not paced (what the rules refuse is sent this way on purpose); its ReqId."""
        req_id = req_id or uuid.uuid4().hex
        try:
            self._connection().send(self._r.body(name, req_id, data))
        except ConnectionClosed as exc:
            self._raise_error_received()
            raise self._r.closed(exc) from None
        return req_id

    # --- downstream -----------------------------------------------------------------

    def wait_for(self, speak_status: str, req_id: str, timeout: float = DEFAULT_WAIT) -> dict[str, Any]:
        """The Payload of the first status ``speak_status`` for ``req_id``, read as messages arrive.

        An error message for this ReqId (or for none: a refused handshake) raises ApiError; a
        closed channel or no such status within ``timeout`` raises TransportError.
        """
        seen = self._r.seen(speak_status, req_id)
        if seen is not None:
            return seen
        deadline = self._clock() + timeout
        while True:
            found = self._r.found(self.receive(max(0.0, deadline - self._clock())), speak_status, req_id)
            if found is not None:
                return found

    def receive(self, timeout: float | None = DEFAULT_WAIT) -> dict[str, Any]:
        """The next downstream message (also kept in ``received``)."""
        ws = self._connection()
        try:
            raw = ws.recv(timeout=timeout)
        except TimeoutError:
            raise TransportError(f"no message on the command channel within {timeout:g} s") from None
        except ConnectionClosed as exc:
            raise self._r.closed(exc) from None
        return self._r.read(raw)

    def drain(self, timeout: float) -> bool:
        """Read what arrives for ``timeout`` seconds, or until the server closes; whether it closed."""
        deadline = self._clock() + timeout
        while self.close_code is None and (left := deadline - self._clock()) > 0:
            with contextlib.suppress(TransportError):
                self.receive(left)
        return self.close_code is not None

    # --- plumbing -------------------------------------------------------------------

    def _raise_error_received(self) -> None:
        """After the server closed: the error message it sent first (a refused handshake), as ApiError."""
        ws = self._connection()
        while True:
            try:
                message = self._r.read(ws.recv(timeout=0))
            except (ConnectionClosed, TimeoutError, ValueError):
                return
            header = message.get("Header") or {}
            if header.get("Code"):
                raise ApiError(header["Code"], header.get("Message", ""), header.get("RequestID", ""), OPERATION)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)

    def _connection(self) -> ClientConnection:
        if self._ws is None:
            raise TransportError("the command channel is not open: use it in a with block")
        return self._ws

    def _beat_loop(self) -> None:
        while not self._stop.wait(self._heartbeat):
            try:
                self.heartbeat()
            except TransportError:
                return


class AsyncChannel:
    """The same channel for asyncio (``async with``); the heartbeat is a task.

    >>> async with aivh.channel(session_id) as ch:  # doctest: +SKIP
    ...     await ch.wait_for("TextOver", await ch.send_text("Hello"))
    """

    def __init__(
        self,
        url: str,
        session_id: str,
        *,
        spec: ChannelSpec | None = None,
        heartbeat: float | None = None,
        open_timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._r = _Rules(session_id, spec, clock)
        self.spec, self.rules, self.session_id = self._r.spec, self._r.rules, session_id
        self.received = self._r.received
        self._url = url
        self._open_timeout = open_timeout
        self._clock = clock
        self._heartbeat = self.rules.heartbeat_seconds[0] if heartbeat is None else heartbeat
        self._beat: asyncio.Task[None] | None = None
        self._ws: AsyncConnection | None = None

    @property
    def close_code(self) -> int | None:
        return self._r.close_code

    async def open(self) -> AsyncChannel:
        try:
            self._ws = await async_connect(self._url, open_timeout=self._open_timeout, max_size=None)
        except InvalidStatus as exc:
            raise _refusal(exc) from None
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise TransportError(f"cannot open the command channel: {exc}") from None
        if self._heartbeat > 0:
            self._beat = asyncio.create_task(self._beat_loop())
        return self

    async def close(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
        if self._ws is not None:
            await self._ws.close()

    async def __aenter__(self) -> AsyncChannel:
        return await self.open() if self._ws is None else self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def send_text(self, text: str, *, req_id: str | None = None, **data: Any) -> str:
        if not (data.get("Interrupt") and not text):
            await _pause(self._r.text_wait())
        return await self.send_command("SEND_TEXT", {"Text": text, **data}, req_id)

    async def interrupt(self) -> str:
        return await self.send_command("SEND_TEXT", {"Text": "", "Interrupt": True})

    async def send_stream_text(self, chunks: Iterable[str], *, req_id: str | None = None) -> str:
        await _pause(self._r.text_wait())
        req_id = req_id or uuid.uuid4().hex
        for data in self._r.stream_text(chunks):
            await self.send_command("SEND_STREAMTEXT", data, req_id)
        return req_id

    async def send_audio(self, pcm: bytes, *, req_id: str | None = None, final: bool = True) -> str:
        req_id = req_id or uuid.uuid4().hex
        began = self._clock()
        for due, data in self._r.audio(pcm, final=final):
            await _pause(began + due - self._clock())
            await self.send_command("SEND_AUDIO", data, req_id)
        return req_id

    async def heartbeat(self) -> str:
        return await self.send_command("SEND_HEARTBEAT", {"Text": "PING"})

    async def send_command(self, name: str, data: dict[str, Any], req_id: str | None = None) -> str:
        req_id = req_id or uuid.uuid4().hex
        try:
            await self._connection().send(self._r.body(name, req_id, data))
        except ConnectionClosed as exc:
            raise self._r.closed(exc) from None
        return req_id

    async def wait_for(self, speak_status: str, req_id: str, timeout: float = DEFAULT_WAIT) -> dict[str, Any]:
        seen = self._r.seen(speak_status, req_id)
        if seen is not None:
            return seen
        deadline = self._clock() + timeout
        while True:
            found = self._r.found(await self.receive(max(0.0, deadline - self._clock())), speak_status, req_id)
            if found is not None:
                return found

    async def receive(self, timeout: float | None = DEFAULT_WAIT) -> dict[str, Any]:
        ws = self._connection()
        try:
            raw = await asyncio.wait_for(ws.recv(), timeout)
        except TimeoutError:
            raise TransportError(f"no message on the command channel within {timeout:g} s") from None
        except ConnectionClosed as exc:
            raise self._r.closed(exc) from None
        return self._r.read(raw)

    def _connection(self) -> AsyncConnection:
        if self._ws is None:
            raise TransportError("the command channel is not open: use it in an async with block")
        return self._ws

    async def _beat_loop(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                await self.heartbeat()
            except TransportError:
                return


async def _pause(seconds: float) -> None:
    if seconds > 0:
        await asyncio.sleep(seconds)


def _matches(message: dict[str, Any], speak_status: str, req_id: str) -> bool:
    payload = message.get("Payload") or {}
    return payload.get("SpeakStatus") == speak_status and payload.get("ReqId") == req_id


def _refusal(exc: InvalidStatus) -> ApiError:
    """A handshake refused with an HTTP status: the envelope's code when the body has one."""
    response = exc.response
    try:
        header = json.loads(response.body or b"")["Header"]
        return ApiError(
            int(header["Code"]), str(header.get("Message", "")), str(header.get("RequestID", "")), OPERATION
        )
    except (ValueError, KeyError, TypeError):
        return ApiError(NO_CODE, f"HTTP {response.status_code}: the command channel was refused", "", OPERATION)
