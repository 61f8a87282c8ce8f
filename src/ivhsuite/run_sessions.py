"""The sessions one run created: tracked, closed (already gone is fine), and swept by the run's UserId tag.

Every real session is a paid stream holding a concurrency slot, so whatever a run
creates it must close. The client, the gate and the load users all keep their sessions
in a :class:`RunSessions`; :func:`close_ignoring_gone` is the one rule for a close that
finds the session already gone; :func:`sweep` is the safety net at the end of a run: it
lists the project and closes every live session whose UserId carries the run's tag.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ivhsuite.errors import ApiError, IvhsuiteError
from ivhsuite.protocol import GONE_CODES, LIVE_STATUSES

if TYPE_CHECKING:
    from ivhsuite.client import IvhClient

log = logging.getLogger("ivhsuite")

SWEEP_TIMEOUT = 20.0
SWEEP_POLL = 0.5


class RunSessions:
    """Thread-safe: SessionId → UserId of the sessions still open, and every SessionId ever created."""

    def __init__(self) -> None:
        self._open: dict[str, str] = {}
        self._ever: set[str] = set()
        self._lock = threading.Lock()

    def track(self, session_id: str, user_id: str = "") -> None:
        with self._lock:
            self._open[session_id] = user_id
            self._ever.add(session_id)

    def forget(self, session_id: str) -> None:
        """The session was closed (or is gone): nothing left to close."""
        with self._lock:
            self._open.pop(session_id, None)

    def open_ids(self) -> list[str]:
        with self._lock:
            return list(self._open)

    def is_open(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._open

    def created(self, session_id: str) -> bool:
        """Whether this run ever created ``session_id`` (open or closed since)."""
        with self._lock:
            return session_id in self._ever

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)


def is_live(session: Mapping[str, Any]) -> bool:
    return session.get("SessionStatus") in LIVE_STATUSES


def live_of_run(listed: Iterable[Mapping[str, Any]], prefix: str) -> list[Mapping[str, Any]]:
    """The listed sessions of a run (UserId starts with ``prefix``) that are ready or preparing."""
    return [s for s in listed if str(s.get("UserId", "")).startswith(prefix) and is_live(s)]


def close_failed(session_id: str, exc: BaseException) -> bool:
    """Judge a close that raised: True when the session is gone anyway, else False with a warning."""
    if isinstance(exc, ApiError) and exc.code in GONE_CODES:
        return True
    log.warning("could not close session %s: %s", session_id, exc)
    return False


def close_ignoring_gone(close: Callable[[str], Any], session_id: str) -> bool:
    """Close one session; True when it is closed or already gone, False (with a warning) otherwise."""
    try:
        close(session_id)
    except IvhsuiteError as exc:
        return close_failed(session_id, exc)
    return True


@dataclass
class SweepResult:
    closed: list[str] = field(default_factory=list)  # live sessions of the run the sweep closed itself
    left: list[str] | None = None  # still live at the end; None when the listing failed
    error: str = ""

    @property
    def clean(self) -> bool:
        return self.left == []


def sweep(
    client: IvhClient,
    prefix: str,
    *,
    settle: float = 0.0,
    timeout: float = SWEEP_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
) -> SweepResult:
    """List the run's live sessions until there are none, closing them once ``settle`` seconds have passed.

    ``settle`` gives owners still closing their own sessions time to do so first.
    """
    result = SweepResult()
    start = time.monotonic()
    while True:
        try:
            live = live_of_run(client.list_sessions(), prefix)
        except IvhsuiteError as exc:
            result.error = str(exc)
            return result
        ids = [str(s.get("SessionId")) for s in live if s.get("SessionId")]
        elapsed = time.monotonic() - start
        if not ids or elapsed >= timeout:
            result.left = ids
            return result
        if elapsed >= settle:
            for session_id in ids:
                close_ignoring_gone(client.close_session, session_id)
                if session_id not in result.closed:
                    result.closed.append(session_id)
        sleep(SWEEP_POLL)
