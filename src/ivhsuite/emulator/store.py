"""The emulator's sessions, in memory, with the documented lifecycle and no HTTP.

Every public method takes the lock, reads the clock once and never awaits, so a
preemption, a quota check and the creation that follows them happen as one step:
two concurrent creates can never both see a free slot or both keep a UserId.
Time-based changes (preparing → ready, idle expiry) are computed lazily from the
injected clock, which lets tests move time instead of sleeping.

Every operation costs the same whether ten sessions are live or a hundred thousand:
the live sessions of a project are kept in the order they were last driven, so idle
expiry pops from the front only the sessions that did expire (each is closed once);
the quota is the size of the project's live index; the UserId index finds the session
to preempt; the warm-start cache forgets its entries in the same front-popping way.

Sessions created by asset (createsessionbyasset) belong to no project: they live in one
pool of their own (:data:`ASSETS`), with its own quota of the same size. Whether a UserId
preempts across the two kinds is undocumented: the ``preempt-across`` choice decides.
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from typing import NamedTuple

from ivhsuite.emulator.choices import COLD_FAILURES, new_session_id
from ivhsuite.emulator.settings import EmulatorSettings
from ivhsuite.ids import new_hex_id
from ivhsuite.protocol import Code, SessionStatus

READY, CLOSED, PREPARING, FAILED = (
    SessionStatus.READY,
    SessionStatus.CLOSED,
    SessionStatus.PREPARING,
    SessionStatus.FAILED,
)
PLAY_URL = "rtmp://liveplay.ivh.qq.com/live/{session_id}"
PLAY_URL_PREFIX = PLAY_URL.removesuffix("{session_id}")
SPEAK_STATUS = "TextOver"  # the docs give no other value; the emulator never "speaks"
CLOSED_KEPT = 10_000  # closed sessions remembered for statsession, oldest forgotten first
CLOSED_LISTED = 100  # closed sessions listed per project under the list-closed=yes choice

# Messages name the request field, like the spec violations the app reports.
_INVALID_SESSION_ID = "Invalid Payload.SessionId"
_INVALID_PROJECT = "Invalid Payload.VirtualmanProjectId"
_INVALID_ASSET = "Invalid Payload.AssetVirtualmanKey"
ASSETS = ""  # the pool of the sessions created by asset; never a project id (those are non-empty)


class StoreError(Exception):
    """A business error: the request was understood and refused with ``code``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class SessionInfo(NamedTuple):
    """What the API may tell about a session at one instant (a tuple: built on every request)."""

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
    asset_key: str | None = None  # set for a session created by asset (project_id is then ASSETS)

    @property
    def live(self) -> bool:
        return self.status in (READY, PREPARING)


@dataclass(slots=True)  # slots: a hundred thousand live sessions must fit in a small process
class _Session:
    session_id: str
    project_id: str
    user_id: str
    driver_type: int
    play_stream_addr: str | None
    ready_at: float
    last_driven: float
    seq: int  # creation order: idle sessions are closed oldest-created first
    started: bool = False
    closed: bool = False
    last_command_at: float | None = None
    error_code: int | None = None
    error_message: str | None = None
    fails_with: int | None = None  # a cold start that ends in status 4 (cold-failure choice)
    asset_key: str | None = None  # created by asset; project_id is then ASSETS
    own_trtc: bool = False  # on the platform's own TRTC account: gettrtcsign answers for it
    stream_max_interval: int | None = None  # ms, as the create asked (the command channel reads it)

    def status(self, now: float) -> int:
        if self.closed:
            return FAILED if self.fails_with is not None and self.error_code == self.fails_with else CLOSED
        return READY if now >= self.ready_at else PREPARING

    def info(self, now: float) -> SessionInfo:
        status = self.status(now)
        return SessionInfo(
            self.session_id,
            self.project_id,
            self.user_id,
            status,
            self.driver_type,
            self.started,
            self.play_stream_addr,
            SPEAK_STATUS,
            self.error_code,
            self.error_message,
            self.asset_key,
        )


class Store:
    """Sessions per project, a live index per (project, UserId), a quota per project.

    >>> store = Store(EmulatorSettings(prepare_seconds=0))
    >>> int(store.create("ivhsuite-demo-project", "u1", 1).status)
    1
    """

    def __init__(self, settings: EmulatorSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        # Told (SessionId, ErrorCode or None) when a session ends, closed, preempted or expired, with the
        # lock held: the command channel closes the session's channel. It must only schedule, never block.
        self.on_end: Callable[[str, int | None], None] | None = None
        self.clock = clock
        self._faults = settings.faults
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        # Per project, the live sessions by id in creation order (the listing, the quota)...
        pools = (*settings.project_ids, ASSETS)
        self._live: dict[str, dict[str, _Session]] = {p: {} for p in pools}
        # ...and the same sessions least recently driven first (idle expiry from the front).
        self._by_drive: dict[str, OrderedDict[str, _Session]] = {p: OrderedDict() for p in pools}
        self._by_user: dict[tuple[str, str], _Session] = {}
        self._warm: OrderedDict[tuple[str, str], float] = OrderedDict()  # last create, oldest first
        self._closed: deque[_Session] = deque()
        self._choices = settings.choices
        self._rng = random.Random(settings.seed)
        listed = self._choices.list_closed == "yes"
        self._listed_closed = {p: deque(maxlen=CLOSED_LISTED) for p in pools} if listed else None
        # Under preempt-across=yes (UserId per account) a create also closes the UserId's session of the other kind.
        self._across = self._choices.preempt_across == "yes"
        self._assets = frozenset(settings.assets)
        self._seq = count()
        # The settings and faults the hot paths ask about, read once.
        # Whether a create preempts, by project [False] and by asset [True]: each broken variant breaks one.
        self._preempts = ("no-preemption" not in self._faults, "no-preemption-by-asset" not in self._faults)
        self._quota = settings.quota if "no-quota" not in self._faults else float("inf")
        self._css_hides_addr = "play-addr-with-css" not in self._faults
        self._idle_seconds = settings.idle_seconds
        cold_starts = settings.cold_start and settings.prepare_seconds > 0
        self._prepare_seconds = settings.prepare_seconds if cold_starts else 0.0
        # What a create warms (the model-cache choice): the project's UserId for the idle timeout, or its Protocol.
        self._cache_by_protocol = self._choices.model_cache == "protocol"
        self._warm_seconds = self._choices.model_cache_seconds if self._cache_by_protocol else self._idle_seconds

    # --- operations -------------------------------------------------------------

    def create(
        self,
        project_id: str,
        user_id: str,
        driver_type: int,
        *,
        session_id: str | None = None,
        custom_push: bool = False,
        own_trtc: bool = False,
        prepare_seconds: float | None = None,
        stream_max_interval: int | None = None,
        protocol: str = "rtmp",
    ) -> SessionInfo:
        """Open a session: preempt the UserId's live one, then check the quota, then add.

        ``prepare_seconds`` makes this one session cold for that long (a slow-start fault).
        """
        with self._lock:
            now = self.clock()
            self._project(project_id, now)
            return self._open(
                project_id,
                user_id,
                driver_type,
                now,
                session_id=session_id,
                custom_push=custom_push,
                own_trtc=own_trtc,
                prepare_seconds=prepare_seconds,
                stream_max_interval=stream_max_interval,
                protocol=protocol,
            )

    def create_by_asset(
        self,
        asset_key: str,
        user_id: str,
        driver_type: int,
        *,
        session_id: str | None = None,
        custom_push: bool = False,
        own_trtc: bool = False,
        prepare_seconds: float | None = None,
        stream_max_interval: int | None = None,
        protocol: str = "rtmp",
    ) -> SessionInfo:
        """Open a session from an avatar asset: the same rules as :meth:`create`, in the asset pool."""
        with self._lock:
            now = self.clock()
            self._check_asset(asset_key)
            self._pool(ASSETS, now)
            return self._open(
                ASSETS,
                user_id,
                driver_type,
                now,
                session_id=session_id,
                custom_push=custom_push,
                own_trtc=own_trtc,
                prepare_seconds=prepare_seconds,
                stream_max_interval=stream_max_interval,
                asset_key=asset_key,
                protocol=protocol,
            )

    def _open(
        self,
        pool: str,
        user_id: str,
        driver_type: int,
        now: float,
        *,
        session_id: str | None,
        custom_push: bool,
        own_trtc: bool,
        prepare_seconds: float | None,
        stream_max_interval: int | None,
        asset_key: str | None = None,
        protocol: str = "rtmp",
    ) -> SessionInfo:
        """Preempt, check the quota, add (lock held, the pool's idle sessions already closed)."""
        project_id = pool
        live = self._live[pool]
        if session_id is not None:
            if self.settings.mode == "saas":
                raise StoreError(Code.BAD_PARAMETER, f"{_INVALID_SESSION_ID}: refused by the public cloud")
            if session_id in self._sessions and not self._sessions[session_id].closed:
                raise StoreError(Code.BAD_PARAMETER, f"{_INVALID_SESSION_ID}: {session_id!r} is already live")
        key = (project_id, user_id)
        if self._preempts[pool == ASSETS]:
            for other in self._preempted_by(key):
                self._close(other, Code.PREEMPTED, "closed because the same UserId created a new stream")
        if len(live) >= self._quota:
            raise StoreError(Code.OVER_CONCURRENCY_LIMIT, f"over the concurrency limit of {self.settings.quota} sessions")
        session_id = session_id or self._new_id()
        hide_addr = custom_push and self._css_hides_addr
        cache_key = (project_id, f"protocol:{protocol}") if self._cache_by_protocol else key
        if prepare_seconds is None:
            prepare_seconds = self._prepare_seconds if self._is_cold(cache_key, now) else 0.0
        session = _Session(
            session_id,
            project_id,
            user_id,
            driver_type,
            None if hide_addr else f"{PLAY_URL_PREFIX}{session_id}",
            now + prepare_seconds,
            now,
            next(self._seq),
            fails_with=self._cold_failure() if prepare_seconds > 0 else None,
            asset_key=asset_key,
            own_trtc=own_trtc,
            stream_max_interval=stream_max_interval,
        )
        warm = self._warm
        warm[cache_key] = now
        warm.move_to_end(cache_key)
        self._sessions[session_id] = session
        live[session_id] = session
        self._by_drive[project_id][session_id] = session
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
                raise StoreError(Code.SESSION_NOT_READY, f"session {session_id} is not ready yet")
            session.started = True
            self._drive(session, now)
            return session.info(now)

    def command(self, session_id: str) -> SessionInfo:
        """Accept one drive command on a started session, at most one per command_interval."""
        with self._lock:
            now = self.clock()
            session = self._usable(session_id, now)
            if not session.started and "command-before-start" not in self._faults:
                raise StoreError(Code.SESSION_NOT_STARTED, f"session {session_id} has not been started")
            interval = self.settings.command_interval
            too_soon = session.last_command_at is not None and now - session.last_command_at < interval
            if too_soon and "no-rate-limit" not in self._faults:
                raise StoreError(Code.TOO_FREQUENT, f"commands must be at least {interval:g} s apart")
            session.last_command_at = now
            self._drive(session, now)
            return session.info(now)

    def renew(self, session_id: str) -> SessionInfo:
        """Traffic on the command channel (a heartbeat included) renews a started session's idle clock."""
        with self._lock:
            now = self.clock()
            session = self._usable(session_id, now)
            self._drive(session, now)
            return session.info(now)

    def idle_left(self, session_id: str) -> float | None:
        """Seconds until the session ends for want of driving; None once it has ended (its end hook ran)."""
        with self._lock:
            now = self.clock()
            try:
                session = self._get(session_id, now)
            except StoreError:
                return None
            return None if session.closed else session.last_driven + self._idle_seconds - now

    def stream_max_interval(self, session_id: str) -> int | None:
        """The StreamMaxInterval (ms) the session was created with, None when it asked for none."""
        with self._lock:
            session = self._sessions.get(session_id)
            return session.stream_max_interval if session is not None else None

    def close(self, session_id: str) -> SessionInfo:
        """Close a session and free its slot; closing a closed session is not an error."""
        with self._lock:
            now = self.clock()
            session = self._get(session_id, now)
            if session.closed and self._choices.close_twice == "error":
                raise StoreError(Code.SESSION_CLOSED, f"session {session_id} is already closed")
            if not session.closed and "close-keeps-slot" not in self._faults:
                self._close(session, None, None)
            return session.info(now)

    def trtc_sign(self, session_id: str) -> SessionInfo:
        """A live session on the platform's own TRTC account, for gettrtcsign; else a StoreError."""
        with self._lock:
            now = self.clock()
            session = self._usable(session_id, now)
            if not session.own_trtc:
                raise StoreError(Code.BAD_PARAMETER, f"{_INVALID_SESSION_ID}: not a session on the platform's TRTC account")
            return session.info(now)

    def account_sessions(self) -> list[SessionInfo]:
        """Every live session of the account, by project then by asset (listsessionofuin)."""
        with self._lock:
            now = self.clock()
            return [info for pool in self._live for info in self._listing(pool, now)]

    def asset_sessions(self, asset_key: str) -> list[SessionInfo]:
        """The live sessions created from one asset (listsessionofassetvk)."""
        with self._lock:
            now = self.clock()
            self._check_asset(asset_key)
            return [info for info in self._listing(ASSETS, now) if info.asset_key == asset_key]

    def sessions(self, project_id: str) -> list[SessionInfo]:
        """The live sessions (ready or preparing) of a project, oldest first.

        Under the list-closed=yes choice, followed by its last closed or failed ones.
        """
        with self._lock:
            now = self.clock()
            self._project(project_id, now)
            return self._listing(project_id, now)

    # --- helpers (lock held) ----------------------------------------------------

    def _listing(self, pool: str, now: float) -> list[SessionInfo]:
        """A pool's live sessions, oldest first; under list-closed=yes then its last closed ones."""
        listed = [s.info(now) for s in self._pool(pool, now).values()]
        if self._listed_closed is not None:
            listed += [s.info(now) for s in self._listed_closed[pool]]
        return listed

    def _check_asset(self, asset_key: str) -> None:
        """An empty key, or one outside ``--asset`` when given, is unknown: the unknown-asset choice's code."""
        if not asset_key or (self._assets and asset_key not in self._assets):
            code = Code.ASSET_EXPIRED if self._choices.unknown_asset == "100015" else Code.BAD_PARAMETER
            raise StoreError(code, f"{_INVALID_ASSET}: unknown asset {asset_key!r}")

    def _preempted_by(self, key: tuple[str, str]) -> list[_Session]:
        """The live sessions a new one for ``key`` (pool, UserId) closes."""
        pool, user_id = key
        pools = [pool]
        if self._across:
            pools += [p for p in self._live if p != pool and (pool == ASSETS or p == ASSETS)]
        return [s for s in (self._by_user.get((p, user_id)) for p in pools) if s is not None]

    def _project(self, project_id: str, now: float) -> dict[str, _Session]:
        """The project's live sessions, after closing the idle ones."""
        if project_id == ASSETS or project_id not in self._live:
            raise StoreError(Code.BAD_PARAMETER, f"{_INVALID_PROJECT}: unknown project {project_id!r}")
        return self._pool(project_id, now)

    def _pool(self, project_id: str, now: float) -> dict[str, _Session]:
        """A pool's live sessions (a project's, or ASSETS), after closing the idle ones."""
        live = self._live[project_id]
        if self._choices.cold_failure:  # only under that choice can a session fail on its own
            for session in [s for s in live.values() if self._failing(s, now)]:
                self._end(session, now)
        by_drive = self._by_drive[project_id]
        if not by_drive or now - next(iter(by_drive.values())).last_driven < self._idle_seconds:
            return live  # the least recently driven session is still alive, so are all the others
        expired: list[_Session] = []
        for session in by_drive.values():  # least recently driven first: stop at the first one still alive
            if not self._idle(session, now):
                break
            expired.append(session)
        for session in sorted(expired, key=lambda s: s.seq):  # closed in creation order, as listed
            self._close(session, None, None)
        return live

    def _drive(self, session: _Session, now: float) -> None:
        session.last_driven = now
        self._by_drive[session.project_id].move_to_end(session.session_id)

    def _get(self, session_id: str, now: float) -> _Session:
        session = self._sessions.get(session_id)
        if session is None:
            raise StoreError(Code.SESSION_NOT_FOUND, f"session {session_id} does not exist")
        if not session.closed and (self._idle(session, now) or self._failing(session, now)):
            self._end(session, now)
        return session

    def _usable(self, session_id: str, now: float) -> _Session:
        """A session that may be started or driven: known and not closed."""
        session = self._get(session_id, now)
        if session.closed:
            if session.error_code == Code.PREEMPTED:
                raise StoreError(Code.PREEMPTED, session.error_message or "preempted")
            raise StoreError(Code.SESSION_CLOSED, f"session {session_id} is closed")
        return session

    def _idle(self, session: _Session, now: float) -> bool:
        return now - session.last_driven >= self._idle_seconds

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
        if self._choices.session_id == "hex":
            return new_hex_id()
        for _ in range(100):
            candidate = new_session_id(self._choices.session_id)
            if candidate not in self._sessions:
                return candidate
        return new_hex_id()

    def _is_cold(self, key: tuple[str, str], now: float) -> bool:
        """Cold unless ``key`` (project and UserId, or project and Protocol) was warmed by a create lately."""
        self._forget_cold(now)
        return self._prepare_seconds > 0 and key not in self._warm

    def _forget_cold(self, now: float) -> None:
        """Drop warm entries older than the cache keeps them: the idle timeout, or model-cache-seconds."""
        warm = self._warm
        while warm:
            oldest, last = next(iter(warm.items()))
            if now - last < self._warm_seconds:
                return
            del warm[oldest]

    def _close(self, session: _Session, code: int | None, message: str | None) -> None:
        if self.on_end is not None:
            self.on_end(session.session_id, code)
        session.closed = True
        session.error_code, session.error_message = code, message
        self._live[session.project_id].pop(session.session_id, None)
        self._by_drive[session.project_id].pop(session.session_id, None)
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
