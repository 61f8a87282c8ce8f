"""How many sessions a gate run may create (``--max-sessions``): each is a paid stream with a cold start.

The scenarios check promises nothing else checks, so they get first call on the budget: the
generated half may create only what their estimated need leaves (:data:`SCENARIO_SESSIONS`
plus the quota scenario's). A positive create of the generated half beyond that is not sent
(:func:`ivhsuite.gate.network.send` answers it with a stand-in no check judges); a scenario
that would go past the budget is skipped. What the budget cut is an observation. The
scenarios' share shrinks only by the sessions they created: a create they send to be
refused takes nothing from it (beside the generated half, it would hand that half a
session a later scenario needs).

>>> budget = SessionBudget(limit=3, scenario_need=2)
>>> budget.take(generated=True), budget.take(generated=True)  # the second would eat the scenarios' share
(True, False)
>>> budget.count("g1"); budget.release()  # its create answered with a session
>>> budget.take(generated=False), budget.take(generated=False), budget.take(generated=False)
(True, True, False)
>>> budget.words(), budget.cut
('sessions created: 1 of 3 allowed, longest held 0 s', {'generated': 1, 'scenarios': 1})
"""

from __future__ import annotations

import threading
import time

from ivhsuite.config import DEFAULT_MAX_SESSIONS
from ivhsuite.summaries import SessionUse

# Sessions the scenarios create besides the quota scenario's quota + 1: 26 measured against the emulator
# with the command channel's scenarios (32 with quota 5), plus a margin for creates retried after a cold failure.
SCENARIO_SESSIONS = 30
# The scenarios only a run learning the endpoint's choices runs: preempt-across (2), user-id-max (at most 9).
LEARNING_SESSIONS = 11
__all__ = ["DEFAULT_MAX_SESSIONS", "SCENARIO_SESSIONS", "SessionBudget", "scenario_need"]


def scenario_need(quota: int | None, *, scenarios: bool = True, learning: bool = False) -> int:
    """Sessions the scenarios are expected to create: their own, and quota + 1 to fill a stated quota.

    ``learning``: the run records or compares the endpoint's choices, which costs a few more.
    """
    if not scenarios:
        return 0
    return SCENARIO_SESSIONS + (LEARNING_SESSIONS if learning else 0) + (quota + 1 if quota else 0)


class SessionBudget:
    """Thread-safe: creates in flight hold a place until their answer says whether a session came of it."""

    def __init__(self, limit: int, scenario_need: int = 0) -> None:
        self.limit = limit
        self.scenario_need = scenario_need
        self.created = 0  # sessions the run created (answers with a SessionId)
        self.cut: dict[str, int] = {"generated": 0, "scenarios": 0}  # creates the budget did not send
        self._in_flight = 0
        self._scenario_taken = 0  # sessions the scenarios created: their share shrinks by these
        self._opened: dict[str, float] = {}  # SessionId -> when its create answered
        self.longest_held = 0.0  # seconds, create to a close answering Code 0
        self._lock = threading.Lock()
        self._local = threading.local()

    def take(self, *, generated: bool) -> bool:
        """A place for one create about to be sent; False: over the budget, do not send it."""
        with self._lock:
            used = self.created + self._in_flight
            reserved = max(0, self.scenario_need - self._scenario_taken) if generated else 0
            if used + reserved >= self.limit:
                self.cut["generated" if generated else "scenarios"] += 1
                return False
            self._in_flight += 1
            return True

    def release(self) -> None:
        """The create holding a place answered (its session, if any, is counted by :meth:`count`)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    def count(self, session_id: str, *, scenario: bool = False) -> None:
        """A create of the run answered with a session (any create: a negative one a lenient endpoint took too)."""
        with self._lock:
            self.created += 1
            if scenario:
                self._scenario_taken += 1
            self._opened[session_id] = time.monotonic()

    def closed(self, session_id: str) -> None:
        with self._lock:
            opened = self._opened.pop(session_id, None)
            if opened is not None:
                self.longest_held = max(self.longest_held, time.monotonic() - opened)

    def hold(self, taken: bool) -> None:
        """Remember on this thread whether its create about to be sent holds a place (else it is cut)."""
        self._local.taken = taken

    def held(self) -> bool | None:
        """This thread's create: True holding a place, False cut, None not a budgeted create; cleared."""
        taken = getattr(self._local, "taken", None)
        self._local.taken = None
        return taken

    def peek(self) -> bool | None:
        return getattr(self._local, "taken", None)

    def use(self) -> SessionUse:
        with self._lock:
            return SessionUse(self.created, self.limit, round(self.longest_held, 1), sum(self.cut.values()))

    def words(self) -> str:
        return self.use().words()

    def cut_words(self) -> str | None:
        """The observation of what the budget cut, or None."""
        parts = [
            f"{n} {'positive creates of the generated half not sent' if half == 'generated' else 'scenario create(s) skipped'}"
            for half, n in self.cut.items()
            if n
        ]
        return f"session budget ({self.limit}, --max-sessions): {' and '.join(parts)}" if parts else None
