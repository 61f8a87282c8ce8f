"""The WebSocket command channel, served on the emulator's own port.

Everything it checks and every number it uses comes from the AsyncAPI document
(:mod:`ivhsuite.channel_spec`): the commands' schemas, the rules (``x-rules``) and how each
refusal is delivered (``x-refusals``); where the docs are silent, a choice decides.

- Handshake: signed like every call (``requestid`` is the SessionId and is signed too); the
  session must exist, be live and started. Refused per the ``channel-refusal`` choice.
- One channel per session (``second-channel`` choice); after a reconnect the statuses of the
  session's last drives are sent again.
- ``SEND_TEXT``: TextStart, then TextOver after a speaking time proportional to the text.
  ``SEND_STREAMTEXT``: TextStart on Seq 1, TextOver after the final chunk has been spoken.
  ``SEND_AUDIO`` (DriverType 3): AudioStart, then AudioOver once the audio received has played,
  FinalType 1 after the client's final packet, 2 when StreamMaxInterval passed without one.
  ``SEND_HEARTBEAT``: nothing back; like any traffic it renews the session.
- Dropped after the idle time without traffic; closed when its session ends (the store's hook).

Costs: an idle channel is two tasks parked on futures and one timer handle, nothing polls;
timers re-arm lazily (a packet only moves a deadline, the timer checks it when it fires).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from ivhsuite import fastjson
from ivhsuite.channel_spec import ChannelSpec, Refusal
from ivhsuite.emulator.faults import channel_code, channel_status
from ivhsuite.emulator.settings import EmulatorSettings
from ivhsuite.emulator.store import Store, StoreError
from ivhsuite.emulator.toxics import CHANNEL, ToxicBox
from ivhsuite.ids import new_request_id
from ivhsuite.protocol import Code, SessionStatus
from ivhsuite.signing import verify_signature

log = logging.getLogger("ivhsuite")

STATUS, DRIVE_FAILED = 3, 9  # downstream Type: a status, a failed drive (page 100401)
AUDIO_DRIVEN = 3  # DriverType of a session that takes audio
POLICY_CLOSE = 1008  # a handshake refused after the upgrade
SCALED_STREAM_INTERVAL_FLOOR = 1.0  # seconds: eight documented packet intervals, jitter included
AFTER_THE_PREVIOUS = 1e-6  # seconds: a text's TextStart after the TextOver of the text before it
LATE_TIMER = 0.1  # seconds: a timer this late means the emulator's own loop was starved
IDLE_SLACK = 0.01  # seconds past a session's idle deadline before asking the store (its clock may lag the loop's)


class _Refused(Exception):
    """A command or handshake refused with a documented refusal."""

    def __init__(self, refusal: Refusal, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.message = message
        self.code = code if code is not None else refusal.code
        self.req_id: str | None = None  # the refused command's, when it had one


@dataclass
class _Close:
    code: int
    reason: str = ""


@dataclass
class _Text:
    req_id: str
    started: bool = False
    handles: list[asyncio.TimerHandle] = field(default_factory=list)
    chars: int = 0  # a stream text's characters so far
    next_seq: int = 1


@dataclass
class _Audio:
    req_id: str
    next_seq: int = 1
    played_until: float = 0.0  # loop time when the audio received so far has played
    grace: bool = False  # the deadline ran late once and waited for packets still unread
    last_packet: float = 0.0
    timer: asyncio.TimerHandle | None = None
    ended: bool = False


class ChannelHub:
    """The open channels by SessionId, and each session's last drives for a reconnect."""

    def __init__(self, settings: EmulatorSettings, store: Store, toxics: ToxicBox, spec: ChannelSpec) -> None:
        self.settings = settings
        self.store = store
        self.toxics = toxics
        self.spec = spec
        self.rules = spec.rules
        self.scale = settings.channel_time_scale
        self.idle = settings.channel_idle_seconds or spec.rules.idle_drop_seconds
        self.channels: dict[str, Channel] = {}
        self.history: dict[str, OrderedDict[str, list[str]]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        store.on_end = _unless_preempted(self._session_ended) if SURVIVES_PREEMPTION in settings.faults else self._session_ended

    def _session_ended(self, session_id: str, code: int | None) -> None:
        """The store's hook (lock held, maybe another thread): only schedule the close."""
        self.history.pop(session_id, None)
        channel = self.channels.get(session_id)
        if channel is not None and _broken_survives(self.settings.faults, code):
            return
        if channel is not None and self.loop is not None:
            why = "preempted" if code == Code.PREEMPTED else "session closed"
            refusal = self.spec.refusal("session-ended")
            self.loop.call_soon_threadsafe(channel.close, refusal.close_code or 1000, f"{code or Code.SESSION_CLOSED}: {why}")

    def remember(self, session_id: str, req_id: str, message: str) -> None:
        drives = self.history.setdefault(session_id, OrderedDict())
        drives.setdefault(req_id, []).append(message)
        drives.move_to_end(req_id)
        while len(drives) > self.rules.resent_drives:
            drives.popitem(last=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI endpoint of the channel's path."""
        self.loop = asyncio.get_running_loop()
        ws = WebSocket(scope, receive, send)
        params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        session_id = params.get("requestid", "")
        try:
            driver_type = self._admit(params, session_id)
        except _Refused as refused:
            await self._refuse(ws, session_id, refused)
            return
        channel = Channel(self, ws, receive, session_id, driver_type)
        old = self.channels.get(session_id)
        self.channels[session_id] = channel
        if old is not None:
            old.close(self.spec.refusal("replaced").close_code or 1000, "replaced by a new channel")
        try:
            await channel.serve()
        finally:
            if self.channels.get(session_id) is channel:
                del self.channels[session_id]

    def _admit(self, params: dict[str, str], session_id: str) -> int:
        """The session's DriverType when it may open a channel; else why not."""
        s = self.settings
        if s.signed and "auth-not-enforced" not in s.faults:
            reason = verify_signature(params, s.appkey or "", s.access_token or "")
            if reason is not None:
                raise _Refused(self.spec.refusal("bad-signature"), f"not authorized: {reason}")
        if not session_id:
            raise _Refused(self.spec.refusal("bad-query"), "Invalid requestid: the SessionId is required")
        try:
            info = self.store.stat(session_id)
        except StoreError:
            raise _Refused(self.spec.refusal("no-such-session"), f"session {session_id} does not exist") from None
        if info.status not in (SessionStatus.READY, SessionStatus.PREPARING):
            name = "session-preempted" if info.error_code == Code.PREEMPTED else "session-closed"
            raise _Refused(self.spec.refusal(name), f"session {session_id} is closed")
        if not info.started and "channel-open-before-start" not in s.faults:
            raise _Refused(self.spec.refusal("not-started"), f"session {session_id} has not been started")
        if session_id in self.channels and s.choices.second_channel == "refuse":
            raise _Refused(self.spec.refusal("second-channel"), f"session {session_id} already has a channel")
        return info.driver_type

    async def _refuse(self, ws: WebSocket, session_id: str, refused: _Refused) -> None:
        s = self.settings
        body = error_message(session_id, channel_code(refused.code or 0, s.faults), refused.message, None)
        if self.settings.choices.channel_refusal == "http":
            try:
                await ws.send_denial_response(JSONResponse(body, status_code=403))
                return
            except RuntimeError:  # the server cannot send a response on a WebSocket: a bare refusal (403)
                await ws.close(POLICY_CLOSE)
                return
        await ws.accept()
        await ws.send_text(fastjson.dumps(body).decode())
        await ws.close(POLICY_CLOSE, refused.message[:100])


def error_message(session_id: str, code: int, message: str, req_id: str | None) -> dict[str, Any]:
    """A refused command as a downstream message: Type 9, SpeakStatus Error, the code in the Header."""
    payload: dict[str, Any] = {"Type": DRIVE_FAILED, "SessionId": session_id, "SpeakStatus": "Error"}
    if req_id is not None:
        payload["ReqId"] = req_id
    return {"Header": {"Code": code, "Message": message, "RequestID": new_request_id()}, "Payload": payload}


# --- the conversation load run's broken variants (test only; see emulator/faults.py) ---
SURVIVES_PREEMPTION, NO_AUDIO_OVER = "channel-survives-preemption", "channel-no-audio-over"


def _unless_preempted(on_end: Callable[[str, int | None], None]) -> Callable[[str, int | None], None]:
    """channel-survives-preemption: the hub never hears of a preemption, so that channel stays open."""

    def hook(session_id: str, code: int | None) -> None:
        if code != Code.PREEMPTED:
            on_end(session_id, code)

    return hook


class Channel:
    """One session's open channel: reads commands, writes statuses through one queue, in order."""

    def __init__(self, hub: ChannelHub, ws: WebSocket, receive: Receive, session_id: str, driver_type: int) -> None:
        self.hub = hub
        self.ws = ws
        self.receive = receive
        self.session_id = session_id
        self.driver_type = driver_type
        self.spec = hub.spec
        self.rules = hub.rules
        self.loop = asyncio.get_running_loop()
        self.out: asyncio.Queue[str | _Close] = asyncio.Queue()
        self.seq = 0
        self.last_text_at: float | None = None
        self.busy_until = 0.0  # when the texts queued so far have been spoken
        self.texts: list[_Text] = []  # spoken or queued, not yet over
        self.stream: _Text | None = None
        self.audio: _Audio | None = None
        self.last_traffic = self.loop.time()
        self.last_renew = self.last_traffic
        self.idle_timer: asyncio.TimerHandle | None = None
        self.flood_tokens = float(self.spec.refusal("flood").per_second or 1)
        self.flood_at = hub.store.clock()
        self.flooded = 0
        self.closed = False
        self._broken_interval = "channel-no-text-interval" in hub.settings.faults
        interval = hub.store.stream_max_interval(session_id) or self.rules.stream_max_interval_ms
        # A session's own StreamMaxInterval plays on the channel's time scale, as speaking time does, but
        # never below a floor: a client paced as documented on a loaded machine is never cut short.
        scaled = max(SCALED_STREAM_INTERVAL_FLOOR, interval / 1000.0 * hub.scale)
        self.stream_max_interval = hub.settings.stream_max_interval_seconds or scaled

    # --- the connection -----------------------------------------------------------

    async def serve(self) -> None:
        await self.ws.accept()
        for messages in list(self.hub.history.get(self.session_id, {}).values()):
            for message in messages:
                self.out.put_nowait(message)
        self._idle_check()
        try:
            async with anyio.create_task_group() as tasks:  # anyio: cancelled cleanly by any ASGI server
                tasks.start_soon(self._write, tasks.cancel_scope)
                await self._read()
                tasks.cancel_scope.cancel()
        finally:
            self.closed = True
            self._cancel_timers()

    def close(self, code: int, reason: str = "") -> None:
        """Close after the messages already queued (the writer sends the close frame)."""
        if not self.closed:
            self.closed = True
            self.out.put_nowait(_Close(code, reason))

    async def _write(self, done: anyio.CancelScope) -> None:
        """Send the queue in order; once the close is sent (or the client is gone) stop reading too."""
        try:
            while True:
                item = await self.out.get()
                if isinstance(item, _Close):
                    await self.ws.close(item.code, item.reason)
                    return
                await self.ws.send_text(item)
        except (WebSocketDisconnect, OSError, RuntimeError):
            pass  # the client went away: nothing left to tell it
        finally:
            done.cancel()

    async def _read(self) -> None:
        while True:
            message = await self.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message["type"] != "websocket.receive" or self.closed:
                continue
            text = message.get("text")
            if text is None:
                binary = self.spec.refusal("binary-frame")
                self.close(binary.close_code or POLICY_CLOSE, "binary frames are not commands: send JSON text")
                continue
            try:
                self.on_text(text)
            except _Refused as refused:
                self._refuse(refused)
            except Exception as exc:  # a bug here must not kill the channel with a traceback
                log.error("command channel: %s: %s", type(exc).__name__, exc)
                self._send(error_message(self.session_id, Code.INTERNAL_ERROR, "internal error", None))

    def _refuse(self, refused: _Refused) -> None:
        refusal = refused.refusal
        if refusal.delivery == "close":
            self.close(refusal.close_code or POLICY_CLOSE, refused.message[:100])
            return
        code = channel_code(refused.code or 0, self.hub.settings.faults)
        self._send(error_message(self.session_id, code, refused.message, refused.req_id))

    def _send(self, body: dict[str, Any]) -> None:
        if not self.closed:
            self.out.put_nowait(fastjson.dumps(body).decode())

    # --- commands -----------------------------------------------------------------

    def on_text(self, text: str) -> None:
        now = self.loop.time()
        self.last_traffic = now
        oversized = self.spec.refusal("oversized-frame")
        if oversized.max_bytes is not None and len(text) > oversized.max_bytes:
            raise _Refused(oversized, f"a message is at most {oversized.max_bytes} bytes")
        self._throttle()
        bad = self.spec.refusal("bad-message")
        try:
            body = fastjson.loads(text.encode())
        except (ValueError, RecursionError):
            raise _Refused(bad, "a command is a JSON object, this is not JSON") from None
        payload = body.get("Payload") if isinstance(body, dict) else None
        req_id = payload.get("ReqId") if isinstance(payload, dict) else None
        req_id = req_id if isinstance(req_id, str) else None
        try:
            self._command(body, now, req_id)
        except _Refused as refused:
            refused.req_id = req_id
            raise

    def _command(self, body: Any, now: float, req_id: str | None) -> None:
        violation = self.spec.command_violation(body)
        bad = self.spec.refusal("bad-message")
        if violation is not None:
            raise _Refused(bad, f"Invalid {violation.field}: {violation.message}")
        payload = body["Payload"]
        if payload["SessionId"] != self.session_id:
            raise _Refused(bad, "Invalid Payload.SessionId: not the session of this channel")
        if self.hub.toxics.toxics and self._dropped():
            return
        if now - self.last_renew >= 1.0:  # traffic renews the session; once a second is enough
            self.last_renew = now
            try:
                self.hub.store.renew(self.session_id)
            except StoreError as exc:
                self._send(error_message(self.session_id, exc.code, exc.message, req_id))
                self.close(self.spec.refusal("session-ended").close_code or 1000, f"{exc.code}: session ended")
                return
        data, command = payload["Data"], payload["Command"]
        if command == "SEND_AUDIO":
            self._audio(payload["ReqId"], data, now)
        elif command == "SEND_TEXT":
            self._text(payload["ReqId"], data, now)
        elif command == "SEND_STREAMTEXT":
            self._stream_text(payload["ReqId"], data, now)
        # SEND_HEARTBEAT: the traffic was all it had to say

    def _throttle(self) -> None:
        """A token bucket: beyond ``per-second`` messages a second, 100012; a long flood is closed.

        A flood ends when the bucket is full again. Read on the store's clock, which tests move.
        """
        flood = self.spec.refusal("flood")
        rate = float(flood.per_second or 1)
        now = self.hub.store.clock()
        self.flood_tokens = min(rate, self.flood_tokens + (now - self.flood_at) * rate)
        self.flood_at = now
        if self.flood_tokens >= rate:
            self.flooded = 0
        if self.flood_tokens >= 1:
            self.flood_tokens -= 1
            return
        self.flooded += 1
        if flood.close_after is not None and self.flooded >= flood.close_after:
            self.close(flood.close_code or POLICY_CLOSE, "too many messages")
        raise _Refused(flood, f"more than {rate:g} messages a second")

    def _dropped(self) -> bool:
        for toxic in self.hub.toxics.draw(CHANNEL):
            if toxic.kind == "channel_drop":
                _abort(self.receive)
                self.close(1011, "dropped (channel_drop fault)")
                return True
        return False

    def _text(self, req_id: str, data: dict[str, Any], now: float) -> None:
        text: str = data["Text"]
        if len(text.encode()) > self.rules.text_max_bytes:
            raise _Refused(self.spec.refusal("bad-message"), f"Invalid Payload.Data.Text: over {self.rules.text_max_bytes} bytes")
        if data.get("Interrupt") and not text:
            self._interrupt()
            return
        if self.audio is not None and not self.audio.ended:
            raise _Refused(self.spec.refusal("wrong-time"), "audio is playing: send its final packet and wait for AudioOver")
        self._check_interval(now)
        if not text and self.hub.settings.choices.empty_text == "refuse":
            raise _Refused(self.spec.refusal("bad-message"), "Invalid Payload.Data.Text: empty")
        self._speak(_Text(req_id), len(text), now)

    def _stream_text(self, req_id: str, data: dict[str, Any], now: float) -> None:
        text: str = data["Text"]
        bad = self.spec.refusal("bad-message")
        if len(text.encode()) > self.rules.stream_text_max_bytes:
            raise _Refused(bad, f"Invalid Payload.Data.Text: over {self.rules.stream_text_max_bytes} bytes a chunk")
        if data.get("Interrupt") and not text:
            self._interrupt()
            return
        stream = self.stream if self.stream is not None and self.stream.req_id == req_id else None
        expected = stream.next_seq if stream is not None else 1
        if data["Seq"] != expected:
            raise _Refused(bad, f"Invalid Payload.Data.Seq: expected {expected}, got {data['Seq']}")
        if stream is None:
            if self.audio is not None and not self.audio.ended:
                raise _Refused(self.spec.refusal("wrong-time"), "audio is playing: send its final packet and wait for AudioOver")
            self._check_interval(now)
            stream = self.stream = _Text(req_id)
            self.texts.append(stream)
            stream.started = True
            self._status(req_id, "TextStart")
        stream.next_seq += 1
        stream.chars += len(text)
        if data.get("IsFinal"):
            self.stream = None
            self.texts.remove(stream)
            self._speak(stream, stream.chars, now, announced=True)

    def _check_interval(self, _loop_now: float) -> None:
        now = self.hub.store.clock()  # the store's clock: tests move it instead of sleeping
        last = self.last_text_at
        if last is not None and now - last < self.rules.text_interval_seconds and not self._broken_interval:
            raise _Refused(self.spec.refusal("text-too-soon"), f"texts must be more than {self.rules.text_interval_seconds:g} s apart")
        self.last_text_at = now

    def _speak(self, text: _Text, chars: int, now: float, *, announced: bool = False) -> None:
        """TextStart when the texts before it are spoken, TextOver after its own speaking time."""
        start = max(now, self.busy_until)
        waits = bool(self.texts)  # a text before it whose TextOver timer has not run yet
        self.busy_until = start + chars * self.hub.settings.speak_seconds_per_char * self.hub.scale
        self.texts.append(text)

        def begin() -> None:
            text.started = True
            self._status(text.req_id, "TextStart")

        def end() -> None:
            self.texts.remove(text)
            self._status(text.req_id, "TextOver")

        if announced:
            pass
        elif start > now or waits:
            # Due the moment the text before it ends: a hair later, for asyncio orders timers due at the
            # same moment arbitrarily, and its TextStart must not overtake the previous text's TextOver.
            # A loaded loop may run this text's arrival before a TextOver timer already due: wait for it too.
            text.handles.append(self.loop.call_at(start + AFTER_THE_PREVIOUS, begin))
        else:
            begin()
        text.handles.append(self.loop.call_at(self.busy_until, end))

    def _interrupt(self) -> None:
        if not any(t.started for t in self.texts):
            raise _Refused(self.spec.refusal("wrong-time"), "Interrupt only after TextStart")
        for text in list(self.texts):
            for handle in text.handles:
                handle.cancel()
            if text.started:
                self._status(text.req_id, "TextOver")
        self.texts.clear()
        self.stream = None
        self.busy_until = self.loop.time()

    def _audio(self, req_id: str, data: dict[str, Any], now: float) -> None:
        bad = self.spec.refusal("bad-message")
        if self.driver_type != AUDIO_DRIVEN:
            refusal = self.spec.refusal("audio-on-text-session")
            code = Code.BAD_PARAMETER if self.hub.settings.choices.audio_on_text_session == "bad-parameter" else None
            raise _Refused(refusal, "SEND_AUDIO needs a DriverType 3 session", code)
        if any(t.started for t in self.texts):
            raise _Refused(self.spec.refusal("wrong-time"), "text is playing: interrupt it and wait for TextOver")
        size = _decoded_size(data["Audio"])  # the schema holds the alphabet; no need to decode the PCM
        if size is None:
            raise _Refused(bad, "Invalid Payload.Data.Audio: not base64")
        if size > self.rules.audio.packet_bytes:
            raise _Refused(bad, f"Invalid Payload.Data.Audio: over {self.rules.audio.packet_bytes} bytes a packet")
        audio = self.audio
        if audio is not None and not audio.ended and audio.req_id != req_id:
            raise _Refused(bad, "Invalid Payload.ReqId: one ReqId for a whole audio sequence, final packet included")
        if audio is None or audio.ended:
            if data["Seq"] != 1:
                raise _Refused(bad, f"Invalid Payload.Data.Seq: a sequence starts at 1, got {data['Seq']}")
            audio = self.audio = _Audio(req_id, played_until=now)
            self._status(req_id, "AudioStart")
        elif data["Seq"] != audio.next_seq:
            raise _Refused(bad, f"Invalid Payload.Data.Seq: expected {audio.next_seq}, got {data['Seq']}")
        audio.next_seq += 1
        audio.last_packet = now
        audio.grace = False
        audio.played_until = max(audio.played_until, now) + self.rules.audio.seconds_of(size) * self.hub.scale
        if data.get("IsFinal"):
            self._audio_over(audio, self.rules.final_by_client)
        elif audio.timer is None:
            audio.timer = self.loop.call_at(now + self.stream_max_interval, self._audio_deadline, audio)

    def _audio_deadline(self, audio: _Audio) -> None:
        """StreamMaxInterval after the last packet without a final one, the server ends the sequence."""
        audio.timer = None
        if audio.ended:
            return
        due = audio.last_packet + self.stream_max_interval
        now = self.loop.time()
        if now < due:  # packets came since it was armed: wait for the newest one's deadline
            audio.timer = self.loop.call_at(due, self._audio_deadline, audio)
            return
        if now - due > LATE_TIMER and not audio.grace:
            # The timer ran late: this loop was starved, and packets that came meanwhile may be
            # waiting to be read. Read them before blaming the client's pace.
            audio.grace = True
            audio.timer = self.loop.call_later(LATE_TIMER, self._audio_deadline, audio)
            return
        self._audio_over(audio, self.rules.final_by_server)

    def _audio_over(self, audio: _Audio, final_type: int) -> None:
        audio.ended = True
        if audio.timer is not None:
            audio.timer.cancel()
            audio.timer = None
        if NO_AUDIO_OVER in self.hub.settings.faults:
            return  # test-only broken variant: AudioOver is never sent
        over = max(self.loop.time(), audio.played_until)
        self.loop.call_at(over, self._status, audio.req_id, "AudioOver", final_type)

    # --- statuses and timers ------------------------------------------------------

    def _status(self, req_id: str, speak_status: str, final_type: int | None = None) -> None:
        self.seq += 1
        payload: dict[str, Any] = {
            "Type": STATUS,
            "SessionId": self.session_id,
            "ReqId": req_id,
            "Seq": self.seq,
            "SpeakStatus": speak_status,
        }
        if final_type is not None:
            payload["FinalType"] = final_type
        if self.hub.settings.faults:
            broken = channel_status(payload, self.hub.settings.faults)
            if broken is None:
                return
            payload = broken
        body = {"Header": {"Code": Code.OK, "Message": "success", "RequestID": new_request_id()}, "Payload": payload}
        message = fastjson.dumps(body).decode()
        self.hub.remember(self.session_id, req_id, message)
        late = [t for t in self.hub.toxics.draw(CHANNEL) if t.kind == "late_status"] if self.hub.toxics.toxics else []
        if late:
            self.loop.call_later(sum(t.latency for t in late) / 1000.0, self._put, message)
        else:
            self._put(message)

    def _put(self, message: str) -> None:
        if not self.closed:
            self.out.put_nowait(message)

    def _arm_idle(self, delay: float) -> None:
        self.idle_timer = self.loop.call_later(delay, self._idle_check)

    def _idle_check(self) -> None:
        """Drop the channel after its idle time; wake too when the session's own idle time runs out.

        The store ends an idle session lazily, when asked: asking here, when it is due, makes
        its end (the store's hook closes this channel) reach the client at once, not whenever
        someone next calls the API.
        """
        session_left = self.hub.store.idle_left(self.session_id)
        if session_left is None:
            self.close(self.spec.refusal("session-ended").close_code or 1000, f"{Code.SESSION_CLOSED}: session ended")
            return
        left = self.last_traffic + self.hub.idle - self.loop.time()
        if left > 0:
            self._arm_idle(min(left, max(session_left, 0.0) + IDLE_SLACK))
            return
        idle = self.spec.refusal("idle")
        self.close(idle.close_code or 1000, f"no traffic for {self.hub.idle:g} s")

    def _cancel_timers(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        for text in self.texts:
            for handle in text.handles:
                handle.cancel()
        if self.audio is not None and self.audio.timer is not None:
            self.audio.timer.cancel()


def _decoded_size(audio: str) -> int | None:
    """The size of base64 text once decoded, None when its length cannot be base64's."""
    if len(audio) % 4:
        return None
    return len(audio) // 4 * 3 - (len(audio) - len(audio.rstrip("=")))


def _abort(receive: Receive) -> None:
    """Drop the connection without a close frame where the server exposes its transport (uvicorn)."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()


def _broken_survives(faults: frozenset[str], code: int | None) -> bool:
    """The channel-survives-close variant: a session's end other than preemption leaves its channel open."""
    return "channel-survives-close" in faults and code != Code.PREEMPTED
