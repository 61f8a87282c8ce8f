"""Every session the gate creates, kept within the quota and closed in the end.

Real sessions are paid streams and a project may have only 5 slots, so the gate never
holds more than ``limit`` of its own at once: before a createsession it closes its
oldest session until there is room (creates already on their way count too). Once
:meth:`SessionGuard.stop` is called (end of run, Ctrl-C), any session that still
arrives is closed at once.

>>> closed = []
>>> guard = SessionGuard(closed.append, limit=1)
>>> guard.before_create(); guard.created("s1")
>>> guard.before_create(); guard.created("s2")
>>> closed
['s1']
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

log = logging.getLogger("ivhsuite")

Closer = Callable[[str], None]
WAIT_FOR_ROOM = 30.0  # seconds a create waits for other workers' creates to land


class SessionGuard:
    """Thread-safe: schemathesis workers and the scenarios share one guard per run."""

    def __init__(self, close: Closer, limit: int) -> None:
        self._close = close
        self.limit = max(1, limit)
        self._open: OrderedDict[str, None] = OrderedDict()
        self._pending = 0
        self._cond = threading.Condition()
        self._local = threading.local()
        self.stopping = False
        self.peak = 0

    # --- around one createsession ---------------------------------------------------

    def before_create(self) -> None:
        """Make room for one more session; blocks while other workers' creates are in flight."""
        self._settle_local()
        deadline = time.monotonic() + WAIT_FOR_ROOM
        while True:
            with self._cond:
                if len(self._open) + self._pending < self.limit:
                    self._pending += 1
                    self._local.pending = True
                    return
                oldest = next(iter(self._open), None)
                if oldest is None:
                    if not self._cond.wait(timeout=max(0.0, deadline - time.monotonic())):
                        # A create lost on the way would block for ever; proceed past it.
                        self._pending = max(0, self._pending - 1)
                    continue
                del self._open[oldest]
            self._close_quietly(oldest)

    def created(self, session_id: str | None) -> None:
        """A createsession answered (with a SessionId on success, None otherwise)."""
        self._settle_local()
        if not session_id:
            return
        with self._cond:
            if self.stopping:
                late = True
            else:
                late = False
                self._open[session_id] = None
                self.peak = max(self.peak, len(self._open))
        if late:
            self._close_quietly(session_id)

    def request_lost(self) -> None:
        """A createsession never got an answer (network error)."""
        self._settle_local()

    def _settle_local(self) -> None:
        if getattr(self._local, "pending", False):
            self._local.pending = False
            with self._cond:
                self._pending = max(0, self._pending - 1)
                self._cond.notify_all()

    # --- bookkeeping ----------------------------------------------------------------

    def track(self, session_id: str) -> None:
        """Count a session created outside :meth:`before_create` (the scenarios' client)."""
        self.created(session_id)

    def forget(self, session_id: str) -> None:
        """The session was closed by someone else (a closesession that succeeded)."""
        with self._cond:
            self._open.pop(session_id, None)
            self._cond.notify_all()

    def open_sessions(self) -> list[str]:
        with self._cond:
            return list(self._open)

    def make_room(self) -> int:
        """Quota busy (:data:`~ivhsuite.protocol.QUOTA_BUSY_CODES`): close every session of ours; returns how many."""
        with self._cond:
            victims = list(self._open)
            self._open.clear()
            self._cond.notify_all()
        for session_id in victims:
            self._close_quietly(session_id)
        return len(victims)

    def stop(self) -> None:
        """From now on, any session that arrives is closed at once."""
        with self._cond:
            self.stopping = True

    def close_all(self) -> list[str]:
        """Close every session still open; returns their ids."""
        self.stop()
        closed: list[str] = []
        while True:
            with self._cond:
                if not self._open:
                    return closed
                session_id, _ = self._open.popitem(last=False)
            self._close_quietly(session_id)
            closed.append(session_id)

    def _close_quietly(self, session_id: str) -> None:
        try:
            self._close(session_id)
        except Exception as exc:  # noqa: BLE001 - clean-up must go on whatever one close does
            log.warning("could not close session %s: %s", session_id, exc)
