"""The emulator's sessions, in memory, with the documented lifecycle and no HTTP.

Every public method takes the lock, reads the clock once and never awaits, so a
preemption, a quota check and the creation that follows them happen as one step:
two concurrent creates can never both see a free slot or both keep a UserId.
Time-based changes (preparing → ready, idle expiry) are computed lazily from the
injected clock, which lets tests move time instead of sleeping.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ivhsuite.emulator.choices import COLD_FAILURES, new_session_id
from ivhsuite.emulator.settings import EmulatorSettings
from ivhsuite.protocol import Code, SessionStatus

READY, CLOSED, PREPARING, FAILED = (
    SessionStatus.READY,
    SessionStatus.CLOSED,
    SessionStatus.PREPARING,
    SessionStatus.FAILED,
)
PLAY_URL = "rtmp://liveplay.ivh.qq.com/live/{session_id}"
SPEAK_STATUS = "TextOver"  # the docs give no other value; the emulator never "speaks"
CLOSED_KEPT = 10_000  # closed sessions remembered for statsession, oldest forgotten first
CLOSED_LISTED = 100  # closed sessions listed per project under the list-closed=yes choice

BAD_PARAMETER = Code.BAD_PARAMETER
OVER_QUOTA = Code.OVER_CONCURRENCY_LIMIT
TOO_FREQUENT = Code.TOO_FREQUENT
SESSION_CLOSED = Code.SESSION_CLOSED
NOT_READY = Code.SESSION_NOT_READY
NOT_STARTED = Code.SESSION_NOT_STARTED
NO_SUCH_SESSION = Code.SESSION_NOT_FOUND
PREEMPTED = Code.PREEMPTED

# Messages name the request field, like the spec violations the app reports.
_INVALID_SESSION_ID = "Invalid Payload.SessionId"
_INVALID_PROJECT = "Invalid Payload.VirtualmanProjectId"


class StoreError(Exception):
    """A business error: the request was understood and refused with ``code``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SessionInfo:
    """What the API may tell about a session at one instant."""

    session_id: str
    project_id: str
    user_id: str
    status: int
    driver_type: int
    started: bool
    play_stream_addr: str | None
    speak_status: str
    error_code: int | None
    error_message: str | None

    @property
    def live(self) -> bool:
        return self.status in (READY, PREPARING)


@dataclass
class _Session:
    session_id: str
    project_id: str
    user_id: str
    driver_type: int
    play_stream_addr: str | None
    ready_at: float
    last_driven: float
    started: bool = False
    closed: bool = False
    last_command_at: float | None = None
    error_code: int | None = None
    error_message: str | None = None
    fails_with: int | None = None  # a cold start that ends in status 4 (cold-failure choice)

    def status(self, now: float) -> int:
        if self.closed:
            return FAILED if self.fails_with is not None and self.error_code == self.fails_with else CLOSED
        return READY if now >= self.ready_at else PREPARING

    def info(self, now: float) -> SessionInfo:
        return SessionInfo(
            self.session_id,
            self.project_id,
            self.user_id,
            self.status(now),
            self.driver_type,
            self.started,
            self.play_stream_addr,
            SPEAK_STATUS,
            self.error_code,
            self.error_message,
        )


class Store:
    """Sessions per project, a live index per (project, UserId), a quota per project.

    >>> store = Store(EmulatorSettings(prepare_seconds=0))
    >>> store.create("ivhsuite-demo-project", "u1", 1).status
    1
    """

    def __init__(self, settings: EmulatorSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self._faults = settings.faults
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        self._live: dict[str, dict[str, _Session]] = {p: {} for p in settings.project_ids}
        self._by_user: dict[tuple[str, str], _Session] = {}
        self._warm: dict[tuple[str, str], float] = {}
        self._closed: deque[_Session] = deque()
        self._choices = settings.choices
        self._rng = random.Random(settings.seed)
        listed = self._choices.list_closed == "yes"
        self._listed_closed = {p: deque(maxlen=CLOSED_LISTED) for p in settings.project_ids} if listed else None

    # --- operations -------------------------------------------------------------

    def create(
        self,
        project_id: str,
        user_id: str,
        driver_type: int,
        *,
        session_id: str | None = None,
        custom_push: bool = False,
        prepare_seconds: float | None = None,
    ) -> SessionInfo:
        """Open a session: preempt the UserId's live one, then check the quota, then add.

        ``prepare_seconds`` makes this one session cold for that long (a slow-start fault).
        """
        with self._lock:
            now = self.clock()
            live = self._project(project_id, now)
            if session_id is not None:
                if self.settings.mode == "saas":
                    raise StoreError(BAD_PARAMETER, f"{_INVALID_SESSION_ID}: refused by the public cloud")
                if session_id in self._sessions and not self._sessions[session_id].closed:
                    raise StoreError(BAD_PARAMETER, f"{_INVALID_SESSION_ID}: {session_id!r} is already live")
            key = (project_id, user_id)
            previous = self._by_user.get(key)
            if previous is not None and "no-preemption" not in self._faults:
                self._close(previous, PREEMPTED, "closed because the same UserId created a new stream")
            if len(live) >= self.settings.quota and "no-quota" not in self._faults:
                raise StoreError(OVER_QUOTA, f"over the concurrency limit of {self.settings.quota} sessions")
            session_id = session_id or self._new_id()
            hide_addr = custom_push and "play-addr-with-css" not in self._faults
            if prepare_seconds is None:
                prepare_seconds = self.settings.prepare_seconds if self._is_cold(key, now) else 0.0
            session = _Session(
                session_id=session_id,
                project_id=project_id,
                user_id=user_id,
                driver_type=driver_type,
                play_stream_addr=None if hide_addr else PLAY_URL.format(session_id=session_id),
                ready_at=now + prepare_seconds,
                last_driven=now,
                fails_with=self._cold_failure() if prepare_seconds > 0 else None,
            )
            self._warm[key] = now
            self._sessions[session_id] = session
            live[session_id] = session
            self._by_user[key] = session
            return session.info(now)

    def stat(self, session_id: str) -> SessionInfo:
        with self._lock:
            now = self.clock()
            return self._get(session_id, now).info(now)

    def start(self, session_id: str) -> SessionInfo:
        """Mark a ready session started; starting it again is harmless."""
        with self._lock:
            now = self.clock()
            session = self._usable(session_id, now)
            if session.status(now) == PREPARING and "start-before-ready" not in self._faults:
                raise StoreError(NOT_READY, f"session {session_id} is not ready yet")
            session.started = True
            session.last_driven = now
            return session.info(now)

    def command(self, session_id: str) -> SessionInfo:
        """Accept one drive command on a started session, at most one per command_interval."""
        with self._lock:
            now = self.clock()
            session = self._usable(session_id, now)
            if not session.started and "command-before-start" not in self._faults:
                raise StoreError(NOT_STARTED, f"session {session_id} has not been started")
            interval = self.settings.command_interval
            too_soon = session.last_command_at is not None and now - session.last_command_at < interval
            if too_soon and "no-rate-limit" not in self._faults:
                raise StoreError(TOO_FREQUENT, f"commands must be at least {interval:g} s apart")
            session.last_command_at = now
            session.last_driven = now
            return session.info(now)

    def close(self, session_id: str) -> SessionInfo:
        """Close a session and free its slot; closing a closed session is not an error."""
        with self._lock:
            now = self.clock()
            session = self._get(session_id, now)
            if session.closed and self._choices.close_twice == "error":
                raise StoreError(SESSION_CLOSED, f"session {session_id} is already closed")
            if not session.closed and "close-keeps-slot" not in self._faults:
                self._close(session, None, None)
            return session.info(now)

    def sessions(self, project_id: str) -> list[SessionInfo]:
        """The live sessions (ready or preparing) of a project, oldest first.

        Under the list-closed=yes choice, followed by its last closed or failed ones.
        """
        with self._lock:
            now = self.clock()
            listed = [s.info(now) for s in self._project(project_id, now).values()]
            if self._listed_closed is not None:
                listed += [s.info(now) for s in self._listed_closed[project_id]]
            return listed

    # --- helpers (lock held) ----------------------------------------------------

    def _project(self, project_id: str, now: float) -> dict[str, _Session]:
        """The project's live sessions, after closing the idle ones."""
        live = self._live.get(project_id)
        if live is None:
            raise StoreError(BAD_PARAMETER, f"{_INVALID_PROJECT}: unknown project {project_id!r}")
        for session in [s for s in live.values() if self._idle(s, now) or self._failing(s, now)]:
            self._end(session, now)
        return live

    def _get(self, session_id: str, now: float) -> _Session:
        session = self._sessions.get(session_id)
        if session is None:
            raise StoreError(NO_SUCH_SESSION, f"session {session_id} does not exist")
        if not session.closed and (self._idle(session, now) or self._failing(session, now)):
            self._end(session, now)
        return session

    def _usable(self, session_id: str, now: float) -> _Session:
        """A session that may be started or driven: known and not closed."""
        session = self._get(session_id, now)
        if session.closed:
            if session.error_code == PREEMPTED:
                raise StoreError(PREEMPTED, session.error_message or "preempted")
            raise StoreError(SESSION_CLOSED, f"session {session_id} is closed")
        return session

    def _idle(self, session: _Session, now: float) -> bool:
        return now - session.last_driven >= self.settings.idle_seconds

    def _failing(self, session: _Session, now: float) -> bool:
        return session.fails_with is not None and now >= session.ready_at

    def _end(self, session: _Session, now: float) -> None:
        """Close a session whose cold start failed (status 4) or that sat idle too long."""
        if self._failing(session, now):
            code = session.fails_with
            self._close(session, code, COLD_FAILURES.get(code or 0, "creation failed"))
        else:
            self._close(session, None, None)

    def _cold_failure(self) -> int | None:
        """The ErrorCode a new cold session will fail with, drawn per the cold-failure choice."""
        chance = self._choices.cold_failure
        if chance and self._rng.random() < chance:
            return self._rng.choice(sorted(COLD_FAILURES))
        return None

    def _new_id(self) -> str:
        """A SessionId in the chosen format, unused so far (short ones can collide)."""
        for _ in range(100):
            candidate = new_session_id(self._choices.session_id)
            if candidate not in self._sessions:
                return candidate
        return uuid.uuid4().hex

    def _is_cold(self, key: tuple[str, str], now: float) -> bool:
        """Cold unless the same project and UserId created a session within idle_seconds."""
        if not self.settings.cold_start or self.settings.prepare_seconds <= 0:
            return False
        last = self._warm.get(key)
        if len(self._warm) > 4 * CLOSED_KEPT:  # keep the warm-cache index bounded under load
            self._warm = {k: t for k, t in self._warm.items() if now - t < self.settings.idle_seconds}
        return last is None or now - last >= self.settings.idle_seconds

    def _close(self, session: _Session, code: int | None, message: str | None) -> None:
        session.closed = True
        session.error_code, session.error_message = code, message
        self._live[session.project_id].pop(session.session_id, None)
        key = (session.project_id, session.user_id)
        if self._by_user.get(key) is session:
            del self._by_user[key]
        self._closed.append(session)
        if self._listed_closed is not None:
            self._listed_closed[session.project_id].append(session)
        if len(self._closed) > CLOSED_KEPT:
            old = self._closed.popleft()
            if self._sessions.get(old.session_id) is old:
                del self._sessions[old.session_id]
