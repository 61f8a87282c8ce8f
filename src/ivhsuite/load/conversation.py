"""One conversation over the command channel, measured: what ``ConversationUser`` does, without locust.

The client is ``websocket-client``: plain blocking sockets, which locust's gevent
monkey-patching makes cooperative, so each user is one greenlet that reads the channel in
the waits between its own sends (no reader thread, no event loop in a greenlet). The same
code runs on a plain thread in the unit tests. Every pacing number (text interval, packet
size and interval, head start, heartbeat) is read from the AsyncAPI document's ``x-rules``.

What it measures goes to ``report(name, milliseconds, failure)``, a locust stats entry each
(:mod:`ivhsuite.load.thresholds` names them): ``channel connect``, ``time to TextStart``/
``TextOver`` (from the text, or the first/final stream chunk), ``time to AudioStart`` (from
the first packet), ``time to AudioOver`` (from the final packet), ``audio send lag`` (per
sequence, the packet sent furthest behind its documented time: the generator's own health),
``channel dropped`` (the endpoint closed a live session's channel) and ``refused <code>``.

Every downstream message is judged by the contract's channel functions
(:mod:`ivhsuite.contract.channel`, the document's validators compiled once): it matches the
AsyncAPI schema, an error carries a documented code, a status carries a ReqId this user sent, and
an ended drive had its first status before its last. A broken one is a failure of
``contract violation: commandchannel`` worded ``broken promise [key]: words`` (no per-message
value: locust groups failures by message; the first detail of each key is logged once).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websocket

from ivhsuite import fastjson
from ivhsuite.channel_spec import AudioRules, ChannelRules, ChannelSpec, load_channel_spec
from ivhsuite.contract import Issue
from ivhsuite.contract import channel as promises
from ivhsuite.ids import new_hex_id
from ivhsuite.load.thresholds import (
    AUDIO_SEND_LAG,
    CHANNEL_CONNECT,
    CHANNEL_CONTRACT,
    CHANNEL_DROPPED,
    REFUSED_PREFIX,
    time_to,
)

DRIVERS = ("text", "audio", "streamtext")
TEXT = "Hello from ivhsuite"  # short: the endpoint speaks it in a few seconds
STREAM_CHUNKS = ("Hello ", "from ", "ivhsuite")
TONE_HZ = 440
TONE_SECONDS = 2.0  # one audio sequence: a generated tone, a head start and a few paced packets
DEFAULT_SPEAK_TIMEOUT = 30.0

Report = Callable[[str, float, Exception | None], None]
log = logging.getLogger("ivhsuite")
_logged: set[str] = set()  # the promise keys whose first detail this process logged
NOT_JSON = "<a text frame that is not JSON>"  # what read() gives for one: off the schema, judged as such


class ChannelFailure(Exception):
    """A finding on the command channel; the message is what locust's UI shows."""


class ChannelClosed(Exception):
    """The endpoint closed the channel (``code``, ``reason``)."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed by the endpoint ({code}: {reason})" if code else "closed by the endpoint")
        self.code = code
        self.reason = reason


class Refused(Exception):
    """The handshake was refused: the envelope's code when there was one."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(message)
        self.code = code


@functools.cache
def tone_packets(audio: AudioRules, seconds: float = TONE_SECONDS) -> tuple[str, ...]:
    """A sine tone as raw PCM in the documented packets, base64 once (every user sends the same)."""
    count = int(audio.sample_rate * seconds)
    amplitude = 2 ** (8 * audio.sample_bytes - 1) // 4
    samples = (int(amplitude * math.sin(2 * math.pi * TONE_HZ * i / audio.sample_rate)) for i in range(count))
    pcm = b"".join(s.to_bytes(audio.sample_bytes, "little", signed=True) * audio.channels for s in samples)
    size = audio.packet_bytes
    return tuple(base64.b64encode(pcm[i : i + size]).decode() for i in range(0, len(pcm), size))


class WsChannel:
    """One session's command channel on websocket-client; reads only when asked to (:meth:`read`)."""

    def __init__(self, url: str, session_id: str, *, open_timeout: float = 10.0) -> None:
        self.url = url
        self.session_id = session_id
        self.open_timeout = open_timeout
        self.closed: ChannelClosed | None = None  # set once the endpoint closed it
        self._ws: websocket.WebSocket | None = None

    def open(self) -> None:
        try:
            self._ws = websocket.create_connection(
                self.url, timeout=self.open_timeout, enable_multithread=False, skip_utf8_validation=True
            )
        except websocket.WebSocketBadStatusException as exc:
            raise _refusal(exc) from None

    def send(self, command: str, req_id: str, data: dict[str, Any]) -> None:
        body = {"Header": {}, "Payload": {"ReqId": req_id, "SessionId": self.session_id, "Command": command, "Data": data}}
        self.send_raw(fastjson.dumps(body).decode())

    def send_raw(self, text: str) -> None:
        if self._ws is None or self.closed is not None:
            raise self.closed or ChannelClosed(None, "not open")
        try:
            self._ws.send(text)
        except (websocket.WebSocketConnectionClosedException, OSError) as exc:
            self.closed = self.closed or ChannelClosed(None, str(exc) or type(exc).__name__)
            raise self.closed from None

    def read(self, timeout: float) -> Any:
        """The next downstream message within ``timeout`` seconds (:data:`NOT_JSON` for a text frame that is
        none), None when none came or it was binary; ChannelClosed once closed."""
        if self._ws is None or self.closed is not None:
            raise self.closed or ChannelClosed(None, "not open")
        self._ws.settimeout(max(timeout, 0.001))
        try:
            opcode, frame = self._ws.recv_data_frame()
        except websocket.WebSocketTimeoutException:
            return None
        except (websocket.WebSocketConnectionClosedException, OSError) as exc:
            self.closed = ChannelClosed(None, str(exc) or type(exc).__name__)
            raise self.closed from None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            data = frame.data or b""
            code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
            self.closed = ChannelClosed(code, data[2:].decode("utf-8", "replace"))
            raise self.closed
        if opcode != websocket.ABNF.OPCODE_TEXT:
            return None
        try:
            return fastjson.loads(frame.data)
        except (ValueError, UnicodeDecodeError):
            return NOT_JSON

    def close(self) -> None:
        """Send the close frame and drop the socket, without waiting for the endpoint's.

        Not ``WebSocket.close()``: its bare ``except:`` would swallow the GreenletExit with
        which locust stops a user, and the user would go on creating sessions forever.
        """
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                if self.closed is None:
                    with contextlib.suppress(websocket.WebSocketException, OSError):
                        ws.send_close()
            finally:
                ws.shutdown()


@dataclass
class _Drive:
    """One text or audio sequence awaiting its statuses."""

    kind: str  # "Text" or "Audio"
    first_sent: float
    last_sent: float | None = None  # the final chunk or packet; None while still sending
    started: bool = False
    over: bool = False
    refused: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)  # its own statuses, for the contract's judge


@dataclass
class Conversation:
    """Drives one open channel: a text, a stream text or an audio sequence at a time, each awaited to its end."""

    channel: WsChannel
    rules: ChannelRules
    report: Report
    text_interval: float  # at least the documented one (a margin for jitter is the caller's)
    speak_timeout: float = DEFAULT_SPEAK_TIMEOUT
    heartbeat: float | None = None  # None: the documented lower bound
    clock: Callable[[], float] = time.perf_counter
    spec: ChannelSpec = field(default_factory=load_channel_spec)  # parsed and compiled once a process
    drives: dict[str, _Drive] = field(default_factory=dict)
    sent: set[str] = field(default_factory=set)  # every ReqId sent on this channel (channel-reqid)
    _last_text: float | None = None
    _last_beat: float = 0.0

    def __post_init__(self) -> None:
        self.text_interval = max(self.text_interval, self.rules.text_interval_seconds)
        self.heartbeat = self.rules.heartbeat_seconds[0] if self.heartbeat is None else self.heartbeat
        self._last_beat = self.clock()

    # --- the drives -----------------------------------------------------------------

    def drive(self, driver: str) -> None:
        {"text": self.text, "audio": self.audio, "streamtext": self.stream_text}[driver]()

    def text(self) -> None:
        self._space_texts()
        req_id = new_hex_id()
        now = self.clock()
        self.drives[req_id] = _Drive("Text", now, last_sent=now)
        self._send("SEND_TEXT", req_id, {"Text": TEXT, "Interrupt": False})
        self._await(req_id)

    def stream_text(self) -> None:
        self._space_texts()
        req_id = new_hex_id()
        self.drives[req_id] = drive = _Drive("Text", self.clock())
        for seq, chunk in enumerate(STREAM_CHUNKS, start=1):
            final = seq == len(STREAM_CHUNKS)
            if final:
                drive.last_sent = self.clock()
            self._send("SEND_STREAMTEXT", req_id, {"Text": chunk, "Seq": seq, "IsFinal": final})
        self._await(req_id)

    def audio(self) -> None:
        """One sequence at the documented pace: the head start at once, then one packet an interval, the empty final."""
        audio = self.rules.audio
        packets = (*tone_packets(audio), "")
        req_id = new_hex_id()
        began = self.clock()
        self.drives[req_id] = drive = _Drive("Audio", began)
        lag = 0.0
        for seq, packet in enumerate(packets, start=1):
            due = began + max(0, seq - audio.head_start_packets) * audio.send_interval_seconds
            self.pump(due)
            now = self.clock()
            lag = max(lag, now - due)
            final = seq == len(packets)
            if final:
                drive.last_sent = now
            body = {"Audio": packet, "Seq": seq, "IsFinal": final}
            self._send("SEND_AUDIO", req_id, body)
            if drive.refused:
                break
        self.report(AUDIO_SEND_LAG, lag * 1000.0, None)
        self._await(req_id)

    # --- reading --------------------------------------------------------------------

    def pump(self, until: float) -> None:
        """Read and judge what arrives until ``until`` (perf_counter time); heartbeats when due."""
        while True:
            now = self.clock()
            if self.heartbeat and now - self._last_beat >= self.heartbeat:  # every interval, traffic or not
                self._send("SEND_HEARTBEAT", new_hex_id(), {"Text": "PING"})
                self._last_beat = now
            left = until - now
            if left <= 0:
                return
            message = self.channel.read(min(left, self.heartbeat or left))
            if message is not None:
                self._on_message(message)

    def hold(self, seconds: float) -> None:
        """Keep the channel open (heartbeats, statuses judged) for ``seconds``."""
        self.pump(self.clock() + seconds)

    def _await(self, req_id: str) -> None:
        """Pump until the drive is over, refused, or the speak timeout passed (a failure of what is missing)."""
        drive = self.drives[req_id]
        deadline = (drive.last_sent or self.clock()) + self.speak_timeout
        while not (drive.over or drive.refused) and self.clock() < deadline:
            self.pump(min(deadline, self.clock() + 0.5))
            if drive.over or drive.refused:
                break
        del self.drives[req_id]
        if drive.over or drive.refused:
            return
        missing = [s for s, seen in ((f"{drive.kind}Start", drive.started), (f"{drive.kind}Over", False)) if not seen]
        for status in missing:
            # no ReqId in the words: locust's error table groups failures by their message
            why = ChannelFailure(f"no {status} within {self.speak_timeout:g} s of the last send")
            self.report(time_to(status), self.speak_timeout * 1000.0, why)

    def _on_message(self, message: Any) -> None:
        self._broken(promises.message_issues(self.spec, message) + promises.reqid_issues([message], self.sent))
        if not isinstance(message, dict):
            return
        header = message.get("Header") if isinstance(message.get("Header"), dict) else {}
        payload = promises.payload_of(message)
        req_id = payload.get("ReqId")
        drive = self.drives.get(req_id) if isinstance(req_id, str) else None
        code = header.get("Code") or 0
        if code:
            failure = ChannelFailure(f"refused with {code}: {header.get('Message', '')}")
            self.report(f"{REFUSED_PREFIX}{code}", 0.0, failure)
            if drive is not None:
                drive.refused = True
            return
        if drive is None:
            return  # a status of a drive already judged (or resent after a reconnect)
        drive.messages.append(message)
        status = payload.get("SpeakStatus")
        now = self.clock()
        if status == f"{drive.kind}Start" and not drive.started:
            drive.started = True
            self.report(time_to(status), (now - drive.first_sent) * 1000.0, None)
        elif status == f"{drive.kind}Over" and drive.last_sent is not None:
            drive.over = True
            self.report(time_to(status), (now - drive.last_sent) * 1000.0, None)
            self._broken(promises.drive_issues(self.spec, drive.messages, str(req_id), drive.kind.lower()))

    def _broken(self, issues: list[Issue]) -> None:
        for issue in issues:
            if issue.promise not in _logged:
                _logged.add(issue.promise)
                log.warning("ivhsuite load: %s", issue)
            self.report(CHANNEL_CONTRACT, 0.0, ChannelFailure(str(Issue(issue.promise))))

    # --- plumbing -------------------------------------------------------------------

    def _send(self, command: str, req_id: str, data: dict[str, Any]) -> None:
        self.sent.add(req_id)  # before it goes: its status may be the next read
        self.channel.send(command, req_id, data)

    def _space_texts(self) -> None:
        if self._last_text is not None:
            self.pump(self._last_text + self.text_interval)
        self._last_text = self.clock()


def connect(channel: WsChannel, report: Report, clock: Callable[[], float] = time.perf_counter) -> bool:
    """Open the channel, reported as ``channel connect`` (a refusal or a network failure fails it)."""
    began = clock()
    try:
        channel.open()
    except Refused as exc:
        report(CHANNEL_CONNECT, (clock() - began) * 1000.0, ChannelFailure(f"handshake refused: {exc}"))
        return False
    except (websocket.WebSocketException, OSError) as exc:
        report(CHANNEL_CONNECT, (clock() - began) * 1000.0, ChannelFailure(f"cannot connect: {exc}"))
        return False
    report(CHANNEL_CONNECT, (clock() - began) * 1000.0, None)
    return True


def dropped(report: Report, closed: ChannelClosed) -> None:
    """The endpoint closed the channel of a session that should still be live."""
    report(CHANNEL_DROPPED, 0.0, ChannelFailure(f"the channel of a live session was {closed}"))


def _refusal(exc: websocket.WebSocketBadStatusException) -> Refused:
    try:
        header = fastjson.loads(exc.resp_body or b"")["Header"]
        return Refused(int(header["Code"]), f"{header['Code']}: {header.get('Message', '')}")
    except (ValueError, KeyError, TypeError):
        return Refused(None, f"HTTP {exc.status_code}")
