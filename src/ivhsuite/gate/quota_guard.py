"""Every session the gate creates, kept within the quota and closed in the end.

Real sessions are paid streams and a project may have only 5 slots, so the gate never
holds more than ``limit`` of its own at once: before a createsession it closes its
least recently used session until there is room (creates already on their way and
closes not yet answered count too). Once :meth:`SessionGuard.stop` is called (end of
run, Ctrl-C), any session that still arrives is closed at once.

Against a distant endpoint every close is a round trip, so a close in the path of the
next create doubles its time: when a guarded create fills the last slot, the guard
closes the least recently used session on a background thread at once, and the next
create usually finds its slot free. Sessions the scenarios create (:meth:`track`) are
never closed ahead: a scenario counts its own.

A create no endpoint keeping its contract can accept (the judge says which: a body that
breaks the spec beyond reading nulls as absent) takes no slot: on a plausible endpoint it
makes no session, and one that makes a session anyway (a broken promise the gate reports)
has it closed at once (:meth:`SessionGuard.arrived_unbooked`). The quota - 1 holds on
every plausible endpoint; a broken one may briefly hold a few more.

While the scenarios run beside the generated half, their creates reserve a slot too
(``before_create(pinned=True)``): the run's sessions together stay within ``limit``, and a
pinned session is never closed for room (:meth:`unpin` when its scenario is done); the
generated sessions make room for them.

>>> closed = []
>>> guard = SessionGuard(closed.append, limit=1)
>>> guard.before_create(); guard.created("s1")
>>> guard.before_create(); guard.created("s2")
>>> closed
['s1']
>>> guard = SessionGuard(closed.append, limit=2)
>>> guard.before_create(); guard.created("a"); guard.before_create(); guard.created("b")
>>> guard.settle()  # "a" was closed ahead, on a background thread
True
>>> closed
['s1', 'a']
>>> guard.before_create(pinned=True); guard.created("p", pinned=True)  # "b" makes room; "p" is never closed for it
>>> guard.settle(), closed, guard.open_sessions()
(True, ['s1', 'a', 'b'], ['p'])
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

log = logging.getLogger("ivhsuite")

Closer = Callable[[str], None]
WAIT_FOR_ROOM = 30.0  # seconds a create waits for other workers' creates (and closes) to land
SETTLE_TIMEOUT = 60.0  # seconds the clean-up waits for closes still on their way


class SessionGuard:
    """Thread-safe: schemathesis workers and the scenarios share one guard per run."""

    def __init__(self, close: Closer, limit: int) -> None:
        self._close = close
        self.limit = max(1, limit)
        self._open: OrderedDict[str, None] = OrderedDict()
        self._pinned: set[str] = set()  # open sessions a scenario still uses: never closed for room
        self._pending = 0
        self._closing = 0  # closes sent and not yet answered: their sessions may still hold a slot
        self._cond = threading.Condition()
        self._local = threading.local()
        self.stopping = False
        self.peak = 0

    # --- around one createsession ---------------------------------------------------

    def before_create(self, *, pinned: bool = False) -> None:
        """Make room for one more session; blocks while other workers' creates are in flight.

        ``pinned``: a scenario's create beside the generated half (booked with ``created(..., pinned=True)``).
        """
        self._settle_local()
        deadline = time.monotonic() + WAIT_FOR_ROOM
        while True:
            with self._cond:
                if self.stopping:  # winding down: no room will be made, and a session that still comes is closed
                    return
                if self._held() < self.limit:
                    self._pending += 1
                    self._local.pending = True
                    return
                if self._closing:  # a close on its way frees a slot soon: it answers or fails within its timeout
                    self._cond.wait(timeout=WAIT_FOR_ROOM)
                    continue
                oldest = self._least_recently_used()
                if oldest is None:  # every slot is a create on its way, or a scenario's session in use
                    if not self._cond.wait(timeout=max(0.0, deadline - time.monotonic())):
                        if not self._pending:
                            # Every slot is a scenario's session in use: waiting on could be for ever
                            # (a scenario waiting on itself); the endpoint says whether there is room.
                            self._pending = 1
                            self._local.pending = True
                            return
                        # A create lost on the way would block for ever; proceed past it, one per wait
                        # (without a new deadline every later pass would write off another create).
                        self._pending -= 1
                        deadline = time.monotonic() + WAIT_FOR_ROOM
                    continue
                del self._open[oldest]
                self._closing += 1
            self._close_counted(oldest)

    def created(self, session_id: str | None, *, pinned: bool = False) -> None:
        """A guarded createsession answered (with a SessionId on success, None otherwise).

        When it filled the last slot, the least recently used other session is closed
        ahead on a background thread (it still counts until its close answers).
        """
        self._settle_local()
        if self._add(session_id, pinned=pinned) and session_id:
            with self._cond:
                ahead = None
                if not self.stopping and self._held() >= self.limit and len(self._open) > 1:
                    ahead = self._least_recently_used(besides=session_id)
                if ahead is not None:
                    del self._open[ahead]
                    self._closing += 1
            if ahead is not None:
                threading.Thread(target=self._close_counted, args=(ahead,), name="ivhsuite-close", daemon=True).start()

    def arrived_unbooked(self, session_id: str) -> None:
        """A create that took no slot made a session anyway: closed at once, off the caller's path."""
        with self._cond:
            self._closing += 1
        threading.Thread(target=self._close_counted, args=(session_id,), name="ivhsuite-close", daemon=True).start()

    def expecting(self) -> bool:
        """Whether this thread's create went through :meth:`before_create` and still awaits its answer."""
        return bool(getattr(self._local, "pending", False))

    def _least_recently_used(self, besides: str | None = None) -> str | None:
        """The session to close for room (lock held): the least recently used one no scenario is using."""
        return next((sid for sid in self._open if sid not in self._pinned and sid != besides), None)

    def _add(self, session_id: str | None, *, pinned: bool = False) -> bool:
        """Book a session that arrived; after :meth:`stop` close it at once instead. True when booked."""
        if not session_id:
            return False
        with self._cond:
            late = self.stopping
            if not late:
                self._open[session_id] = None
                if pinned:
                    self._pinned.add(session_id)
                self.peak = max(self.peak, len(self._open))
        if late:
            self._close_quietly(session_id)
        return not late

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
        """Count a session created outside :meth:`before_create` (the scenarios' client); never closed ahead."""
        self._add(session_id)

    def touch(self, session_id: str) -> None:
        """A request used the session: it becomes the last to be closed for room."""
        with self._cond:
            if session_id in self._open:
                self._open.move_to_end(session_id)

    def forget(self, session_id: str) -> None:
        """The session was closed by someone else (a closesession that succeeded)."""
        with self._cond:
            self._open.pop(session_id, None)
            self._pinned.discard(session_id)
            self._cond.notify_all()

    def unpin(self, session_ids: list[str]) -> None:
        """The scenario that pinned these is done: any still booked (one preempted, say) may be closed for room."""
        with self._cond:
            self._pinned.difference_update(session_ids)
            self._cond.notify_all()

    def open_sessions(self) -> list[str]:
        with self._cond:
            return list(self._open)

    def make_room(self) -> int:
        """Quota busy (:data:`~ivhsuite.protocol.QUOTA_BUSY_CODES`): close every session of ours no scenario is using.

        Returns once the closes sent ahead have answered too, so every slot of ours is free.
        """
        with self._cond:
            victims = [sid for sid in self._open if sid not in self._pinned]
            for session_id in victims:
                del self._open[session_id]
            self._cond.notify_all()
        for session_id in victims:
            self._close_quietly(session_id)
        self.settle()
        return len(victims)

    def settle(self, timeout: float = SETTLE_TIMEOUT) -> bool:
        """Wait until no close sent ahead is still on its way; False if some still are after ``timeout`` s."""
        with self._cond:
            return self._cond.wait_for(lambda: self._closing == 0, timeout=timeout)

    def stop(self) -> None:
        """From now on, any session that arrives is closed at once, and no create waits for room."""
        with self._cond:
            self.stopping = True
            self._cond.notify_all()

    def close_all(self) -> list[str]:
        """Close every session still open, after the closes already on their way; returns their ids."""
        self.stop()
        if not self.settle():
            log.warning("closes sent during the run still unanswered after %g s", SETTLE_TIMEOUT)
        closed: list[str] = []
        while True:
            with self._cond:
                if not self._open:
                    return closed
                session_id, _ = self._open.popitem(last=False)
                self._pinned.discard(session_id)
            self._close_quietly(session_id)
            closed.append(session_id)

    def _held(self) -> int:
        """Slots ours now or soon (lock held): open sessions, creates on their way, closes not yet answered."""
        return len(self._open) + self._pending + self._closing

    def _close_counted(self, session_id: str) -> None:
        """Close a session already taken off the books and counted in ``_closing``; its slot frees when answered."""
        try:
            self._close_quietly(session_id)
        finally:
            with self._cond:
                self._closing -= 1
                self._cond.notify_all()

    def _close_quietly(self, session_id: str) -> None:
        try:
            self._close(session_id)
        except Exception as exc:  # noqa: BLE001 - clean-up must go on whatever one close does
            log.warning("could not close session %s: %s", session_id, exc)
