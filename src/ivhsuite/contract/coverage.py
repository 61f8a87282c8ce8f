"""How often each documented promise was checked, and failed, per operation: what a run actually covered.

Two counters keyed by (promise, operation), filled where a verdict is made (the judge, a
scenario's expectation), read once at the end. Thread-safe: schemathesis workers and the
scenarios share one per run.

>>> seen = Coverage()
>>> seen.note("reqid-echoed", "statsession", held=True)
>>> seen.note("reqid-echoed", "statsession", held=False)
>>> seen.counts()
[('reqid-echoed', 'statsession', 2, 1)]
"""

from __future__ import annotations

import threading
from collections import Counter

Key = tuple[str, str]  # (promise, operation)


class Coverage:
    """Checked and failed counts per (promise, operation)."""

    def __init__(self) -> None:
        self.checked: Counter[Key] = Counter()
        self.failed: Counter[Key] = Counter()
        self._lock = threading.Lock()

    def note(self, promise: str, operation: str, *, held: bool) -> None:
        with self._lock:
            self.checked[promise, operation] += 1
            if not held:
                self.failed[promise, operation] += 1

    def judged(self, operation: str, checked: list[str], broken: set[str]) -> None:
        """One judgement: every promise it checked, and which of them it found broken."""
        with self._lock:
            for promise in checked:
                self.checked[promise, operation] += 1
                if promise in broken:
                    self.failed[promise, operation] += 1

    def counts(self) -> list[tuple[str, str, int, int]]:
        """(promise, operation, checked, failed), sorted."""
        with self._lock:
            return [(p, o, n, self.failed[p, o]) for (p, o), n in sorted(self.checked.items())]
