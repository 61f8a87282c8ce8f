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

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

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
        self._lock = threading.Lock()

    # --- the application's request ---------------------------------------------

    def request(self, call: Call, payload: Any, now: float) -> list[Finding]:
        """Findings on a call as it arrives; remembers what the answer will need."""
        payload = payload if isinstance(payload, dict) else {}
        with self._lock:
            if call.operation == "createsession":
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
        project, user = _text(payload, "VirtualmanProjectId"), _text(payload, "UserId")
        call.project_id, call.user_id = project, user
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
        if quota is not None:
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
            if call.operation == "createsession":
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
        track = Track(session_id, user, project, now, call, status, last_driven=now)
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
