"""The client side of the WebSocket command channel: signed, paced as documented.

:meth:`ivhsuite.client.IvhClient.channel` opens one for a started session. Every rule it
follows (texts more than 1 s apart, audio in 5120-byte packets with a head start of 6 and
then one every 120 ms, the empty final packet, the heartbeat) is read from the AsyncAPI
document's ``x-rules`` (:mod:`ivhsuite.channel_spec`), never restated here.

Built on ``websockets``' synchronous client (the library the emulator serves the channel with):
a thread-safe connection, so the heartbeat thread and the caller send side by side.

>>> with ivh.channel(session_id) as ch:  # doctest: +SKIP
...     req_id = ch.send_text("Hello")
...     ch.wait_for("TextOver", req_id)
...     ch.wait_for("AudioOver", ch.send_audio(pcm_bytes))
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from ivhsuite.channel_spec import ChannelSpec, load_channel_spec
from ivhsuite.errors import ApiError, TransportError
from ivhsuite.signing import encode_query, sign_params

OPERATION = "commandchannel"  # how errors of the channel name their operation
DEFAULT_WAIT = 30.0


def channel_url(
    base_url: str, session_id: str, appkey: str | None = None, access_token: str | None = None, spec: ChannelSpec | None = None
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
        self.spec = spec or load_channel_spec()
        self.rules = self.spec.rules
        self.session_id = session_id
        self.received: list[dict[str, Any]] = []  # every downstream message, in order
        self._url = url
        self._open_timeout = open_timeout
        self._sleep = sleep
        self._clock = clock
        self._last_text: float | None = None
        self._heartbeat = self.rules.heartbeat_seconds[0] if heartbeat is None else heartbeat
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self._ws: ClientConnection | None = None
        self._exits = contextlib.ExitStack()  # the connection, entered as websockets asks

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

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # --- commands -------------------------------------------------------------------

    def send_text(self, text: str, *, req_id: str | None = None, **data: Any) -> str:
        """SEND_TEXT, waiting first so texts stay more than the documented interval apart; its ReqId."""
        interrupt = bool(data.get("Interrupt")) and not text
        if not interrupt:
            self._space_texts()
        return self._command("SEND_TEXT", req_id, {"Text": text, **data})

    def interrupt(self) -> str:
        """Stop the text playing (an empty text with Interrupt); wait for its TextOver before audio."""
        return self._command("SEND_TEXT", None, {"Text": "", "Interrupt": True})

    def send_stream_text(self, chunks: Iterable[str], *, req_id: str | None = None) -> str:
        """SEND_STREAMTEXT: one ReqId, Seq from 1, the last chunk final; its ReqId."""
        self._space_texts()
        req_id = req_id or uuid.uuid4().hex
        parts = list(chunks) or [""]
        for seq, chunk in enumerate(parts, start=1):
            self._command("SEND_STREAMTEXT", req_id, {"Text": chunk, "Seq": seq, "IsFinal": seq == len(parts)})
        return req_id

    def send_audio(self, pcm: bytes, *, req_id: str | None = None) -> str:
        """Raw PCM (16 kHz, 16-bit, mono) as one sequence, paced as documented; its ReqId.

        Packets of the documented size, the first ones at once (the head start), then one
        every send interval, measured from the first so the pace does not drift; the last
        packet is always followed by an empty one with IsFinal.
        """
        audio = self.rules.audio
        req_id = req_id or uuid.uuid4().hex
        packets = [pcm[i : i + audio.packet_bytes] for i in range(0, len(pcm), audio.packet_bytes)]
        packets.append(b"")
        began = self._clock()
        for seq, packet in enumerate(packets, start=1):
            due = began + max(0, seq - audio.head_start_packets) * audio.send_interval_seconds
            wait = due - self._clock()
            if wait > 0:
                self._sleep(wait)
            data = {"Audio": base64.b64encode(packet).decode(), "Seq": seq, "IsFinal": seq == len(packets)}
            self._command("SEND_AUDIO", req_id, data)
        return req_id

    def heartbeat(self) -> str:
        return self._command("SEND_HEARTBEAT", None, {"Text": "PING"})

    # --- downstream -----------------------------------------------------------------

    def wait_for(self, speak_status: str, req_id: str, timeout: float = DEFAULT_WAIT) -> dict[str, Any]:
        """The Payload of the first status ``speak_status`` for ``req_id``, read as messages arrive.

        An error message for this ReqId (or for none: a refused handshake) raises ApiError; a
        closed channel or no such status within ``timeout`` raises TransportError.
        """
        deadline = self._clock() + timeout
        for message in self.received:
            if _matches(message, speak_status, req_id):
                return message["Payload"]
        while True:
            message = self.receive(max(0.0, deadline - self._clock()))
            payload = message.get("Payload") or {}
            code = (message.get("Header") or {}).get("Code", 0)
            if code and payload.get("ReqId") in (None, req_id):
                header = message["Header"]
                raise ApiError(code, header.get("Message", ""), header.get("RequestID", ""), OPERATION)
            if _matches(message, speak_status, req_id):
                return payload

    def receive(self, timeout: float | None = DEFAULT_WAIT) -> dict[str, Any]:
        """The next downstream message (also kept in ``received``)."""
        ws = self._connection()
        try:
            raw = ws.recv(timeout=timeout)
        except TimeoutError:
            raise TransportError(f"no message on the command channel within {timeout:g} s") from None
        except ConnectionClosed as exc:
            raise TransportError(f"the command channel was closed: {exc}") from None
        message = json.loads(raw)
        self.received.append(message)
        return message

    # --- plumbing -------------------------------------------------------------------

    def _command(self, name: str, req_id: str | None, data: dict[str, Any]) -> str:
        req_id = req_id or uuid.uuid4().hex
        body = {"Header": {}, "Payload": {"ReqId": req_id, "SessionId": self.session_id, "Command": name, "Data": data}}
        try:
            self._connection().send(json.dumps(body, separators=(",", ":")))
        except ConnectionClosed as exc:
            self._raise_error_received()
            raise TransportError(f"the command channel was closed: {exc}") from None
        return req_id

    def _raise_error_received(self) -> None:
        """After the server closed: the error message it sent first (a refused handshake), as ApiError."""
        ws = self._connection()
        while True:
            try:
                message = json.loads(ws.recv(timeout=0))
            except (ConnectionClosed, TimeoutError, ValueError):
                return
            self.received.append(message)
            header = message.get("Header") or {}
            if header.get("Code"):
                raise ApiError(header["Code"], header.get("Message", ""), header.get("RequestID", ""), OPERATION)

    def _space_texts(self) -> None:
        """Texts more than the documented interval apart: wait what is left of it."""
        interval = self.rules.text_interval_seconds
        if self._last_text is not None:
            wait = self._last_text + interval - self._clock()
            if wait > 0:
                self._sleep(wait)
        self._last_text = self._clock()

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


def _matches(message: dict[str, Any], speak_status: str, req_id: str) -> bool:
    payload = message.get("Payload") or {}
    return payload.get("SpeakStatus") == speak_status and payload.get("ReqId") == req_id


def _refusal(exc: InvalidStatus) -> ApiError:
    """A handshake refused with an HTTP status: the envelope's code when the body has one."""
    response = exc.response
    try:
        header = json.loads(response.body or b"")["Header"]
        return ApiError(int(header["Code"]), str(header.get("Message", "")), str(header.get("RequestID", "")), OPERATION)
    except (ValueError, KeyError, TypeError):
        return ApiError(-1, f"HTTP {response.status_code}: the command channel was refused", "", OPERATION)
