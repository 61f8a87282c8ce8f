"""The session rules, per session and per UserId: a state machine fed by the traffic, with no HTTP.

The proxy calls :meth:`Tracker.request` when a call arrives (before forwarding it) and
:meth:`Tracker.answer` when its answer is back; :meth:`Tracker.finish` when the
application or the proxy stops. Times are seconds since the proxy started, passed in, so
tests drive the machine with numbers instead of sleeping.

What each session goes through, as the proxy saw it: created (status 1 or 3), ready
(status 1 seen), started (startsession answered 0), driven (texts answered 0), ended
(closed by the application, preempted by a create with the same UserId, reported closed
or gone by the endpoint, or still live at the end: leaked). Only sessions created through
the proxy are judged: a SessionId it never saw created may belong to anyone.

Client rules (the application's misuse) and four endpoint promises that need state:
``command-after-start`` (a text accepted although no startsession had even been sent),
``start-after-ready`` (startsession accepted, then a statsession sent after that answer
still says preparing, so the session was preparing when it was started),
``command-rate`` (two texts accepted although the later answer came less than the interval
after the earlier one was sent, so the endpoint surely saw them closer than that) and
``preemption`` (a preempted session still ready or accepting drive calls more than
``preemption_grace`` seconds after the create that closed it, the gate's grace).

>>> tracker = Tracker(Policy())
>>> create = Call(1, 0.0, "POST", "/createsession", "createsession", "127.0.0.1:5000")
>>> tracker.request(create, {"VirtualmanProjectId": "p", "UserId": "u"}, now=0.0)
[]
>>> tracker.answer(create, 0, {"SessionId": "s1", "SessionStatus": 3}, now=0.1)
[]
>>> text = Call(2, 0.2, "POST", "/command", "command", "127.0.0.1:5000")
>>> [f.rule for f in tracker.request(text, {"SessionId": "s1"}, now=0.2)]
['command-before-start']
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ivhsuite.channel_spec import ChannelRules, load_channel_spec
from ivhsuite.protocol import Code, SessionStatus
from ivhsuite.proxy.findings import Call, Finding

READY, CLOSED, PREPARING, FAILED = (
    SessionStatus.READY,
    SessionStatus.CLOSED,
    SessionStatus.PREPARING,
    SessionStatus.FAILED,
)
ENDING_CODES = {
    Code.SESSION_CLOSED: "reported closed (110013)",
    Code.PREEMPTED: "reported preempted (110022)",
    Code.SESSION_NOT_FOUND: "reported unknown (110018)",
}
DEFAULT_STAT_INTERVAL = 1.0
DEFAULT_TEXT_INTERVAL = 1.0  # "texts at least 1 s apart" (100404)
DEFAULT_IDLE_SECONDS = 600.0  # "10 minutes without driving" (page 100391)
DEFAULT_PREEMPTION_GRACE = 10.0  # the gate's grace for a preempted session to report closed
MAX_TEXTS_KEPT = 500  # per session, for the timeline
MAX_SESSIONS_KEPT = 20_000  # ended sessions beyond this are forgotten, oldest first
MAX_REQIDS_KEPT = 200_000  # ReqIds remembered for reqid-reused, oldest forgotten first
MAX_CHANNEL_EVENTS = 2_000  # per session, for the timeline
MAX_CHANNEL_REQIDS = 100_000  # per channel: a day of texts and heartbeats, bounded memory beyond
MAX_AUDIO_KEPT = 200  # audio sequences per session kept for the report
CREATES = ("createsession", "createsessionbyasset")  # the spec's x-session-ref: creates
BY_ASSET = "(by asset)"  # the pool of sessions created by asset: they belong to no project
AUDIO_DRIVEN = 3  # the DriverType that takes SEND_AUDIO
AUDIO_HEADERS = ((b"RIFF", "RIFF/WAVE"), (b"ID3", "MP3 (ID3)"), (b"\xff\xfb", "MP3"), (b"\xff\xf3", "MP3"),
                 (b"\xff\xf2", "MP3"), (b"OggS", "Ogg"), (b"fLaC", "FLAC"))  # fmt: skip
PACING_JITTER = 0.1  # audio-pacing tolerates this share of the audio's time, at least PACING_SLACK send intervals
PACING_SLACK = 2  # a stall of the sender or the network near the end of a short sequence is no pacing mistake


@dataclass(frozen=True)
class Policy:
    """The rules' knobs, with the documented values as defaults.

    >>> Policy(quota=2).stat_interval
    1.0
    """

    stat_interval: float = DEFAULT_STAT_INTERVAL
    text_interval: float = DEFAULT_TEXT_INTERVAL
    quota: int | None = None
    idle_seconds: float = DEFAULT_IDLE_SECONDS
    preemption_grace: float = DEFAULT_PREEMPTION_GRACE
    heartbeat_seconds: float | None = None  # None: the documented maximum (the AsyncAPI's x-rules)


@dataclass
class AudioSequence:
    """One SEND_AUDIO sequence as it went out: arrival and audio seconds of each packet, its frames."""

    req_id: str
    first_call: int  # the frame (call seq) that opened it
    next_seq: int = 1
    sent: list[float] = field(default_factory=list)  # arrival of each packet
    seconds: list[float] = field(default_factory=list)  # the audio each packet carried
    last_call: int = 0
    final: bool = False  # the client's IsFinal packet came
    ended: float | None = None
    ratio: float | None = None  # send interval / audio duration after the head start, when judged
    paced: bool | None = None  # within the documented ratio and its tolerance; None: too short to judge


@dataclass
class ChannelTrack:
    """One command channel through the proxy: whose, when, the last traffic from the application."""

    number: int
    session_id: str
    opened: float
    call: Call
    last_up: float
    track: Track | None = None
    closed: float | None = None
    audio: AudioSequence | None = None  # the sequence still open
    stream_req_id: str | None = None  # the stream text still open
    last_text_req_id: str | None = None
    text_before: float | None = None  # the arrival of the text before the last one (a refused text's undo)
    silent_reported: bool = False
    req_ids: set[str] = field(default_factory=set)  # every ReqId the application sent on it (channel-reqid)

    def sent(self, body: Any) -> None:
        """Note a frame's ReqId as the application sends it, before the endpoint can answer it."""
        payload = body.get("Payload") if isinstance(body, dict) else None
        req_id = payload.get("ReqId") if isinstance(payload, dict) else None
        if isinstance(req_id, str) and self.req_ids_judged:
            self.req_ids.add(req_id)

    @property
    def req_ids_judged(self) -> bool:
        """Past the cap a ReqId is no longer noted, so none is judged (tolerated, never a false finding)."""
        return len(self.req_ids) < MAX_CHANNEL_REQIDS


@dataclass
class Track:
    """One session's life as the proxy saw it; times in seconds since the proxy started."""

    session_id: str
    user_id: str
    project_id: str
    created: float
    create_call: Call
    status: int
    ready: float | None = None
    started: float | None = None
    texts: list[float] = field(default_factory=list)
    text_count: int = 0
    stats: int = 0
    ended: float | None = None
    end_reason: str | None = None
    reported_end: str | None = None  # why the application should know it is over (call-after-end applies)
    leaked: bool = False
    last_driven: float = 0.0
    last_stat: float | None = None
    last_text_request: float | None = None  # arrival of the last text not refused as too frequent
    last_text_accepted_sent: float | None = None
    first_start_sent: float | None = None
    preempted_at: float | None = None
    driver_type: int | None = None
    channel: ChannelTrack | None = None  # the command channel open through the proxy, if any
    channel_events: list[tuple[float, str]] = field(default_factory=list)  # (at, what) for the timeline
    audio: list[AudioSequence] = field(default_factory=list)  # every audio sequence, for the pacing chart

    def event(self, at: float, what: str) -> None:
        if len(self.channel_events) < MAX_CHANNEL_EVENTS:
            self.channel_events.append((at, what))

    @property
    def live(self) -> bool:
        return self.ended is None

    def end(self, at: float, reason: str) -> None:
        if self.ended is None:
            self.ended, self.end_reason = at, reason

    def ran(self) -> float | None:
        return None if self.ended is None else self.ended - self.created


def _text(payload: dict[str, Any], name: str) -> str | None:
    value = payload.get(name)
    return value if isinstance(value, str) else None


class Tracker:
    """Sessions by SessionId, the live one per (project, UserId), creates in flight per project."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.sessions: dict[str, Track] = {}
        self._by_user: dict[tuple[str, str], Track] = {}
        self._creating: Counter[str] = Counter()
        self._text_before: dict[int, float | None] = {}  # call seq -> the previous text's arrival
        self._driver_types: dict[int, int | None] = {}  # create call seq -> its DriverType
        self._req_ids: dict[str, tuple[Any, int]] = {}  # ReqId -> (what it was sent with, the call seq)
        self._channels = 0
        self.channel_rules: ChannelRules = load_channel_spec().rules
        self._lock = threading.RLock()

    # --- the application's request ---------------------------------------------

    def request(self, call: Call, payload: Any, now: float) -> list[Finding]:
        """Findings on a call as it arrives; remembers what the answer will need."""
        payload = payload if isinstance(payload, dict) else {}
        with self._lock:
            found = self._request(call, payload, now)
            if call.req_id is not None:
                found = self._req_id(call.req_id, (call.operation, call.fingerprint), call, now) + found
            return found

    def _request(self, call: Call, payload: dict[str, Any], now: float) -> list[Finding]:
        if call.operation in CREATES:
            return self._create_request(call, payload, now)
        session_id = _text(payload, "SessionId")
        call.session_id = session_id
        track = self.sessions.get(session_id) if session_id else None
        if track is None or call.operation not in ("statsession", "startsession", "command"):
            if track is not None:
                call.user_id = track.user_id
            return []
        call.user_id = track.user_id
        if track.reported_end is not None:
            what = f"{call.operation} on session {track.session_id} after it {track.reported_end}"
            return [self._finding("call-after-end", what, call, track)]
        if call.operation == "statsession":
            return self._stat_request(call, track, now)
        if call.operation == "startsession":
            return self._start_request(call, track, now)
        return self._text_request(call, track, now)

    def _create_request(self, call: Call, payload: dict[str, Any], now: float) -> list[Finding]:
        by_asset = call.operation == "createsessionbyasset"
        project = (
            BY_ASSET if by_asset and _text(payload, "AssetVirtualmanKey") else _text(payload, "VirtualmanProjectId")
        )
        user = _text(payload, "UserId")
        call.project_id, call.user_id = project, user
        driver = payload.get("DriverType")
        self._driver_types[call.seq] = driver if isinstance(driver, int) else None
        if project is None or user is None:
            return []  # request-schema says it; nothing to track
        found = []
        previous = self._by_user.get((project, user))
        if previous is not None and not self._alive(previous, now):
            previous = None
        if previous is not None:
            age = now - previous.created
            found.append(
                Finding(
                    "userid-reuse",
                    f"UserId {user!r} already has live session {previous.session_id} (created {age:.1f} s ago):"
                    " the new stream closes it (110022)",
                    call,
                    previous.session_id,
                    user,
                )
            )
        quota = self.policy.quota
        if quota is not None and project != BY_ASSET:  # the quota told is a project's
            live = sum(1 for t in self.sessions.values() if t.project_id == project and self._alive(t, now))
            wanted = live - (previous is not None) + self._creating[project] + 1
            if wanted > quota:
                message = f"this create asks for {wanted} live sessions of project {project!r}; the quota is {quota}"
                found.append(Finding("quota-exceeded", message, call, None, user))
        self._creating[project] += 1
        return found

    def _stat_request(self, call: Call, track: Track, now: float) -> list[Finding]:
        found = []
        if track.last_stat is not None and now - track.last_stat < self.policy.stat_interval:
            gap = now - track.last_stat
            message = (
                f"statsession {gap:.2f} s after the previous one (at most one per {self.policy.stat_interval:g} s)"
            )
            found.append(self._finding("stat-poll-rate", message, call, track))
        track.last_stat = now
        return found

    def _start_request(self, call: Call, track: Track, now: float) -> list[Finding]:
        if track.first_start_sent is None:
            track.first_start_sent = now
        if track.ready is not None:
            return []
        polled = (
            f"{track.stats} statsession answer(s), none with status 1" if track.stats else "statsession never called"
        )
        message = f"startsession before the session was seen ready: created with status {track.status}, {polled}"
        return [self._finding("start-before-ready", message, call, track)]

    def _text_request(self, call: Call, track: Track, now: float) -> list[Finding]:
        found = []
        if track.started is None:
            why = (
                "no startsession has succeeded"
                if track.first_start_sent is not None
                else "startsession was never called"
            )
            found.append(self._finding("command-before-start", f"a drive command, but {why} on it", call, track))
        previous = track.last_text_request
        if previous is not None and now - previous < self.policy.text_interval:
            message = f"a text {now - previous:.2f} s after the previous one (at least {self.policy.text_interval:g} s)"
            found.append(self._finding("text-interval", message, call, track))
        self._text_before[call.seq] = previous
        track.last_text_request = now
        return found

    # --- the endpoint's answer ---------------------------------------------------

    def answer(self, call: Call, code: int | None, payload: Any, now: float) -> list[Finding]:
        """Update the sessions from an answer (``code`` None: no answer came); endpoint findings."""
        payload = payload if isinstance(payload, dict) else {}
        with self._lock:
            previous_text = self._text_before.pop(call.seq, None)
            if call.operation in CREATES:
                self._create_answer(call, code, payload, now)
                return []
            track = self.sessions.get(call.session_id or "")
            if track is None:
                return []
            if code in ENDING_CODES:
                track.reported_end = track.reported_end or ENDING_CODES[code]
                track.end(now, ENDING_CODES[code])
                return []
            if call.operation == "command" and code == Code.TOO_FREQUENT:
                track.last_text_request = previous_text  # refused: the interval runs from the text before
            if code != 0:
                return []
            if call.operation == "statsession":
                return self._stat_answer(call, track, payload, now)
            if call.operation == "startsession":
                track.started = track.started or now
                track.last_driven = now
                return self._still_preempted(call, track, "startsession was accepted")
            if call.operation == "command":
                return self._text_answer(call, track, now)
            if call.operation == "closesession":
                track.end(now, "closed")
                track.reported_end = track.reported_end or "was closed"
            return []

    def _create_answer(self, call: Call, code: int | None, payload: dict[str, Any], now: float) -> None:
        project, user = call.project_id, call.user_id
        driver_type = self._driver_types.pop(call.seq, None)
        if project is not None:
            self._creating[project] = max(0, self._creating[project] - 1)
        session_id = _text(payload, "SessionId")
        if code != 0 or session_id is None or project is None or user is None:
            return
        previous = self._by_user.get((project, user))
        if previous is not None and previous.live:
            previous.end(now, "preempted (same UserId)")
            previous.preempted_at = now
        status = payload.get("SessionStatus")
        status = status if isinstance(status, int) else PREPARING
        track = Track(session_id, user, project, now, call, status, last_driven=now, driver_type=driver_type)
        if status == READY:
            track.ready = now
        call.session_id = session_id
        self.sessions[session_id] = track
        self._by_user[(project, user)] = track
        self._forget_old()

    def _stat_answer(self, call: Call, track: Track, payload: dict[str, Any], now: float) -> list[Finding]:
        track.stats += 1
        status = payload.get("SessionStatus")
        if isinstance(status, int):
            track.status = status
        if payload.get("ErrorCode") == Code.PREEMPTED:
            track.reported_end = track.reported_end or ENDING_CODES[Code.PREEMPTED]
            track.end(now, ENDING_CODES[Code.PREEMPTED])
        elif status in (CLOSED, FAILED):
            reason = "reported closed (status 2)" if status == CLOSED else "reported failed (status 4)"
            track.reported_end = track.reported_end or reason
            track.end(now, reason)
        elif status == PREPARING and track.started is not None and call.at > track.started:
            message = f"startsession was accepted at {track.started:.2f} s, yet statsession still says preparing (3)"
            return [self._finding("start-after-ready", message, call, track)]
        elif status == READY:
            if track.ready is None:
                track.ready = now
            return self._still_preempted(call, track, "statsession still answers status 1")
        return []

    def _text_answer(self, call: Call, track: Track, now: float) -> list[Finding]:
        found = []
        if track.first_start_sent is None:
            message = f"a text on session {track.session_id} was accepted (Code 0) though startsession was never sent"
            found.append(self._finding("command-after-start", message, call, track))
        sent_before = track.last_text_accepted_sent
        if sent_before is not None and now - sent_before < self.policy.text_interval:
            message = (
                f"two texts accepted within {now - sent_before:.2f} s (from sending the first to the second's"
                f" answer); texts must be at least {self.policy.text_interval:g} s apart"
            )
            found.append(self._finding("command-rate", message, call, track))
        track.last_text_accepted_sent = call.at
        track.text_count += 1
        if len(track.texts) < MAX_TEXTS_KEPT:
            track.texts.append(now)
        track.last_driven = now
        return found + self._still_preempted(call, track, "a text was accepted")

    def _still_preempted(self, call: Call, track: Track, what: str) -> list[Finding]:
        if track.preempted_at is None or call.at - track.preempted_at <= self.policy.preemption_grace:
            return []
        after = call.at - track.preempted_at
        message = f"{what} {after:.1f} s after a new session with UserId {track.user_id!r} was created"
        return [self._finding("preemption", message, call, track)]

    # --- ReqIds ---------------------------------------------------------------------

    def _req_id(self, req_id: str, what: Any, call: Call, now: float) -> list[Finding]:
        """reqid-reused: a ReqId seen before with another request (a resend of the same bytes is not one)."""
        seen = self._req_ids.get(req_id)
        if seen is None:
            self._req_ids[req_id] = (what, call.seq)
            if len(self._req_ids) > MAX_REQIDS_KEPT:
                for old in list(self._req_ids)[: MAX_REQIDS_KEPT // 10]:
                    del self._req_ids[old]
            return []
        if seen[0] == what:
            return []
        message = f"ReqId {req_id} was sent before, with call #{seen[1]}: every request needs a new one"
        return [Finding("reqid-reused", message, call, call.session_id, call.user_id)]

    # --- the command channel ----------------------------------------------------------

    def channel_open(self, call: Call, session_id: str | None, now: float) -> tuple[ChannelTrack, list[Finding]]:
        """A channel asked for (before the upstream answers): ws-requestid, ws-before-start, ws-second-channel."""
        with self._lock:
            self._channels += 1
            track = self.sessions.get(session_id) if session_id else None
            channel = ChannelTrack(self._channels, session_id or "", now, call, now, track)
            call.session_id = session_id
            found: list[Finding] = []
            if track is None or track.reported_end is not None or not track.live:
                why = (
                    "no requestid"
                    if not session_id
                    else f"requestid {session_id!r} is not a session the application created through the proxy"
                    if track is None
                    else f"session {session_id} {track.reported_end or track.end_reason}"
                )
                found.append(Finding("ws-requestid", f"the channel needs the SessionId of a live session: {why}", call,
                                     session_id, track.user_id if track else None))  # fmt: skip
                return channel, found
            call.user_id = track.user_id
            if track.started is None:
                why = (
                    "no startsession has succeeded"
                    if track.first_start_sent is not None
                    else "startsession was never called"
                )
                found.append(self._finding("ws-before-start", f"the channel was opened, but {why}", call, track))
            if track.channel is not None:
                message = f"a second channel to the session while channel {track.channel.number} (call #{track.channel.call.seq}) is open"
                found.append(self._finding("ws-second-channel", message, call, track))
            return channel, found

    def channel_accepted(self, channel: ChannelTrack, now: float) -> None:
        with self._lock:
            track = channel.track
            if track is not None:
                track.channel = channel
                track.event(now, "open")

    def channel_up(self, channel: ChannelTrack, call: Call, body: Any, now: float) -> list[Finding]:
        """One message from the application: heartbeat, ReqId, texts and audio rules."""
        with self._lock:
            found = self._silence(channel, call, now)
            channel.last_up = now
            track = channel.track
            if track is not None:
                call.session_id, call.user_id = track.session_id, track.user_id
                track.last_driven = now
            payload = body.get("Payload") if isinstance(body, dict) else None
            if not isinstance(payload, dict):
                return found
            command, data = payload.get("Command"), payload.get("Data")
            req_id = payload.get("ReqId")
            data = data if isinstance(data, dict) else {}
            req_id = req_id if isinstance(req_id, str) else None
            call.req_id = req_id
            if command == "SEND_AUDIO":
                return found + self._audio(channel, track, call, req_id, data, now)
            if req_id is not None:
                continuing = command == "SEND_STREAMTEXT" and req_id == channel.stream_req_id
                if not continuing:
                    found += self._req_id(req_id, (command, call.fingerprint), call, now)
            if command == "SEND_TEXT":
                found += self._channel_text(channel, track, call, req_id, data, now)
            elif command == "SEND_STREAMTEXT":
                if req_id != channel.stream_req_id:
                    channel.stream_req_id = req_id
                    found += self._channel_text(channel, track, call, req_id, data, now)
                if data.get("IsFinal"):
                    channel.stream_req_id = None
            return found

    def _channel_text(
        self,
        channel: ChannelTrack,
        track: Track | None,
        call: Call,
        req_id: str | None,
        data: dict[str, Any],
        now: float,
    ) -> list[Finding]:
        found = []
        text, interrupt = data.get("Text"), bool(data.get("Interrupt"))
        if interrupt and text:
            found.append(Finding("interrupt-with-text", f"an Interrupt carries a Text of {len(str(text))} characters:"
                                 " interrupt with an empty Text, then send the new text", call,
                                 call.session_id, call.user_id))  # fmt: skip
        if interrupt and not text:
            if track is not None:
                track.event(now, "interrupt")
            return found
        if track is None:
            return found
        found += self._text_request(call, track, now)
        channel.text_before = self._text_before.pop(call.seq, None)
        channel.last_text_req_id = req_id
        track.text_count += 1
        if len(track.texts) < MAX_TEXTS_KEPT:
            track.texts.append(now)
        track.event(now, "text")
        return found

    def _audio(
        self,
        channel: ChannelTrack,
        track: Track | None,
        call: Call,
        req_id: str | None,
        data: dict[str, Any],
        now: float,
    ) -> list[Finding]:
        found: list[Finding] = []
        rules = self.channel_rules.audio
        if track is not None and track.driver_type is not None and track.driver_type != AUDIO_DRIVEN:
            message = f"SEND_AUDIO on a session created with DriverType {track.driver_type}: audio needs {AUDIO_DRIVEN}"
            found.append(self._finding("audio-on-text-session", message, call, track))
        size, why = _audio_packet(data.get("Audio"), rules.packet_bytes)
        if why is not None:
            found.append(Finding("audio-format", why, call, call.session_id, call.user_id))
        seq = data.get("Seq")
        sequence = channel.audio
        if sequence is not None and sequence.final:
            sequence = channel.audio = None
        if sequence is None:
            if req_id is not None:
                found += self._req_id(req_id, ("SEND_AUDIO", call.seq), call, now)
            sequence = channel.audio = AudioSequence(req_id or "", call.seq)
            if track is not None and len(track.audio) < MAX_AUDIO_KEPT:  # beyond: judged, not charted
                track.audio.append(sequence)
                track.event(now, "audio")
        elif req_id != sequence.req_id:
            message = (
                f"packet Seq {seq} has ReqId {req_id}, but its sequence (from call #{sequence.first_call}) has"
                f" {sequence.req_id}: one ReqId for the whole sequence"
            )
            found.append(Finding("audio-reqid", message, call, call.session_id, call.user_id))
        if seq != sequence.next_seq:
            message = f"packet Seq {seq!r}, expected {sequence.next_seq} (1, 2, 3, ... up to the final packet)"
            found.append(Finding("audio-seq", message, call, call.session_id, call.user_id))
        sequence.next_seq = (seq if isinstance(seq, int) else sequence.next_seq) + 1
        sequence.last_call = call.seq
        if size:
            sequence.sent.append(now)
            sequence.seconds.append(rules.seconds_of(size))
        if data.get("IsFinal"):
            sequence.final = True
            found += self._end_audio(sequence, call, now)
        return found

    def _end_audio(self, sequence: AudioSequence, call: Call, now: float) -> list[Finding]:
        """The sequence is over: judge its pacing once."""
        if sequence.ended is not None:
            return []
        sequence.ended = now
        rules = self.channel_rules.audio
        head = rules.head_start_packets
        if len(sequence.sent) < head + 2:
            return []  # all of it fits in the head start: nothing paced to judge
        elapsed = sequence.sent[-1] - sequence.sent[head - 1]
        audio = sum(sequence.seconds[head - 1 : -1])  # each packet's audio covers the wait for the next
        if audio <= 0:
            return []
        sequence.ratio = elapsed / audio
        slack = max(PACING_SLACK * rules.send_interval_seconds, PACING_JITTER * audio)
        low, high = rules.min_ratio * audio - slack, rules.max_ratio * audio + slack
        sequence.paced = low <= elapsed <= high
        if sequence.paced:
            return []
        speed = "faster" if elapsed < low else "slower"
        message = (
            f"audio sequence {sequence.req_id} (frames #{sequence.first_call} to #{sequence.last_call}): after the"
            f" {head}-packet head start {audio:.2f} s of audio went out in {elapsed:.2f} s, ratio"
            f" {sequence.ratio:.2f}, {speed} than the documented {rules.min_ratio:g} to {rules.max_ratio:g}"
        )
        return [Finding("audio-pacing", message, call, call.session_id, call.user_id)]

    def channel_down(self, channel: ChannelTrack, call: Call, body: Any, now: float) -> list[Finding]:
        """One message from the endpoint: a refused text, an AudioOver the endpoint had to end."""
        payload = body.get("Payload") if isinstance(body, dict) else None
        if not isinstance(payload, dict):
            return []
        with self._lock:
            track = channel.track
            status, req_id = payload.get("SpeakStatus"), payload.get("ReqId")
            header = body.get("Header") if isinstance(body.get("Header"), dict) else {}
            if track is not None and isinstance(status, str) and status != "Error":
                track.event(now, status)
            refused_text = header.get("Code") == Code.TOO_FREQUENT and req_id == channel.last_text_req_id
            if refused_text and req_id is not None and track is not None:  # the interval runs from the text before
                track.last_text_request = channel.text_before
            sequence = channel.audio
            final_by_server = self.channel_rules.final_by_server
            ended = status == "AudioOver" and payload.get("FinalType") == final_by_server
            if ended and sequence is not None and sequence.req_id == req_id and not sequence.final:
                sequence.final = True
                return self._audio_final(sequence, call, now, f"the endpoint ended it (FinalType {final_by_server})")
            return []

    def _audio_final(self, sequence: AudioSequence, call: Call, now: float, how: str) -> list[Finding]:
        message = (
            f"audio sequence {sequence.req_id} (frames #{sequence.first_call} to #{sequence.last_call}) had no empty"
            f" IsFinal packet: {how}"
        )
        return [
            Finding("audio-final", message, call, call.session_id, call.user_id),
            *self._end_audio(sequence, call, now),
        ]

    def channel_closed(self, channel: ChannelTrack, call: Call, now: float, who: str) -> list[Finding]:
        """The channel is over (``who`` closed it): a silence before it, an audio sequence left open."""
        with self._lock:
            if channel.closed is not None:
                return []
            channel.closed = now
            found = self._silence(channel, call, now)
            sequence = channel.audio
            if sequence is not None and not sequence.final:
                sequence.final = True
                found += self._audio_final(sequence, call, now, f"the channel was closed by {who} first")
            track = channel.track
            if track is not None and track.channel is channel:
                track.channel = None
                track.event(now, f"close ({who})")
            return found

    def _silence(self, channel: ChannelTrack, call: Call, now: float) -> list[Finding]:
        limit = self.policy.heartbeat_seconds or self.channel_rules.heartbeat_seconds[1]
        gap = now - channel.last_up
        if gap <= limit or channel.silent_reported:
            return []
        channel.silent_reported = True  # once a channel: the application's heartbeat is missing, not late once
        message = f"the channel was silent for {gap:.1f} s (a heartbeat at least every {limit:g} s)"
        return [Finding("heartbeat-interval", message, call, channel.session_id or None, call.user_id)]

    # --- the end -----------------------------------------------------------------

    def finish(self, now: float, why: str) -> list[Finding]:
        """Every session still live: a leak, with how long it ran. Ends them all in the timeline."""
        found = []
        with self._lock:
            for track in self.sessions.values():
                if not track.live:
                    continue
                idle_end = track.last_driven + self.policy.idle_seconds
                if now >= idle_end:
                    track.end(idle_end, "idle timeout")
                    message = (
                        f"never closed: the endpoint closes it after {self.policy.idle_seconds:g} s without driving,"
                        f" {track.ran():.1f} s after it was created"
                    )
                else:
                    track.end(now, "leaked")
                    message = (
                        f"still live when {why}: ran {track.ran():.1f} s and was never closed"
                        f" (a real stream is billed until the {self.policy.idle_seconds / 60:g}-minute idle timeout)"
                    )
                track.leaked = True
                found.append(self._finding("session-leaked", message, track.create_call, track))
        return found

    def tracks(self) -> list[Track]:
        with self._lock:
            return sorted(self.sessions.values(), key=lambda t: t.created)

    # --- helpers (lock held) -------------------------------------------------------

    def _alive(self, track: Track, now: float) -> bool:
        return track.live and now - track.last_driven < self.policy.idle_seconds

    @staticmethod
    def _finding(rule: str, message: str, call: Call, track: Track) -> Finding:
        return Finding(rule, message, call, track.session_id, track.user_id)

    def _forget_old(self) -> None:
        if len(self.sessions) <= MAX_SESSIONS_KEPT:
            return
        for session_id in [sid for sid, t in self.sessions.items() if not t.live][: len(self.sessions) // 10]:
            del self.sessions[session_id]


def _audio_packet(audio: Any, packet_bytes: int) -> tuple[int, str | None]:
    """The packet's PCM size, and why it is not raw 16-bit PCM of at most ``packet_bytes`` (None: it is)."""
    if not isinstance(audio, str):
        return 0, None  # the schema says it (request-schema)
    try:
        pcm = base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError):
        return 0, None
    for magic, name in AUDIO_HEADERS:
        if pcm.startswith(magic):
            return len(pcm), f"the packet starts with a {name} header: send raw PCM, not a file"
    if len(pcm) > packet_bytes:
        return len(pcm), f"the packet carries {len(pcm)} bytes of audio, over the documented {packet_bytes}"
    if len(pcm) % 2:
        return len(pcm), f"the packet carries {len(pcm)} bytes: 16-bit samples come in pairs of bytes"
    return len(pcm), None
