"""Bookkeeping for the preemption checks: which session a create supersedes, and which breaches are new.

"A new stream with the same UserId closes the previous stream with that UserId": to
know which session a create superseded, the creates of one UserId are serialised
within a process (a lock per UserId), so the previous session is known to be older
in the server's order too. Sessions of other processes are only seen through
``listsessionofprojectid``, where :func:`duplicates` finds a UserId with two live ones.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from ivhsuite.protocol import ENDED_STATUSES, GONE_CODES, Code
from ivhsuite.run_sessions import live_of_run


def is_gone(code: int | None, payload: Mapping[str, Any] | None) -> bool:
    """Whether a statsession answer says the session no longer streams."""
    if code in GONE_CODES:
        return True
    return code == Code.OK and payload is not None and payload.get("SessionStatus") in ENDED_STATUSES


def duplicates(sessions: Iterable[Mapping[str, Any]], prefix: str) -> dict[str, set[str]]:
    """UserIds of this run with two or more live sessions, and those sessions' ids."""
    by_user: dict[str, set[str]] = {}
    for s in live_of_run(sessions, prefix):
        by_user.setdefault(str(s["UserId"]), set()).add(str(s["SessionId"]))
    return {user: ids for user, ids in by_user.items() if len(ids) > 1}


def persisting(first: Mapping[str, set[str]], second: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Duplicates seen in both listings with at least two of the same sessions: not a passing race."""
    kept = {user: first[user] & ids for user, ids in second.items() if user in first}
    return {user: ids for user, ids in kept.items() if len(ids) > 1}


class PreemptionTracker:
    """Per-process state of the preemption scenario; safe to share between users (greenlets)."""

    def __init__(
        self,
        lock_factory: Callable[[], AbstractContextManager[Any]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Looked up now, not at import: under locust, gevent has patched threading by then.
        self._lock_factory = lock_factory or threading.Lock
        self._clock = clock
        self._guard = threading.Lock()
        self._locks: dict[str, AbstractContextManager[Any]] = {}
        self._latest: dict[str, str] = {}
        self._flagged: set[str] = set()
        self._last_list: float | None = None
        self._preempted: dict[str, float] = {}  # SessionId -> when a create superseded it (held channels)

    @contextmanager
    def creating(self, user_id: str) -> Iterator[None]:
        """Hold while creating for ``user_id`` and recording the result with :meth:`supersede`."""
        with self._guard:
            lock = self._locks.setdefault(user_id, self._lock_factory())
        with lock:
            yield

    def supersede(self, user_id: str, session_id: str) -> str | None:
        """Record ``session_id`` as the UserId's newest; return the session it should have closed."""
        with self._guard:
            previous = self._latest.get(user_id)
            self._latest[user_id] = session_id
            return previous

    def closed(self, user_id: str, session_id: str) -> None:
        """Its owner closed the session: a later create supersedes nothing of ours."""
        with self._guard:
            if self._latest.get(user_id) == session_id:
                del self._latest[user_id]
            self._preempted.pop(session_id, None)

    # --- held channels (PreemptionUser --hold-channels) ---------------------------------

    def mark_preempted(self, session_id: str) -> None:
        """A create for the same UserId was answered: from now, the session's channel must close."""
        with self._guard:
            self._preempted.setdefault(session_id, self._clock())

    def preempted_at(self, session_id: str) -> float | None:
        with self._guard:
            return self._preempted.get(session_id)

    def latest(self, user_id: str) -> str | None:
        with self._guard:
            return self._latest.get(user_id)

    def flag(self, session_ids: Iterable[str]) -> None:
        """Remember sessions already reported as live past their preemption."""
        with self._guard:
            self._flagged.update(session_ids)

    def new_breaches(self, found: Mapping[str, set[str]]) -> dict[str, set[str]]:
        """The duplicates not yet reported; all but the newest known session get flagged.

        A duplicate whose sessions are all flagged except one is the breach already
        reported by the superseded-session check, and is not counted twice.
        """
        fresh: dict[str, set[str]] = {}
        with self._guard:
            for user, ids in found.items():
                unflagged = ids - self._flagged
                if len(unflagged) <= 1 and len(ids) - len(unflagged) >= 1:
                    continue
                fresh[user] = set(ids)
                newest = self._latest.get(user)
                self._flagged.update(i for i in ids if i != newest)
        return fresh

    def list_check_due(self, interval: float) -> bool:
        """True at most once per ``interval`` per process: the caller then runs the list check."""
        with self._guard:
            now = self._clock()
            if self._last_list is not None and now - self._last_list < interval:
                return False
            self._last_list = now
            return True
