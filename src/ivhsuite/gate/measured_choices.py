"""The choices a run measures over many answers and their times: model cache, cold failures, rate limit.

The other choices are read off one answer each (:mod:`ivhsuite.gate.endpoint_choices`). These three
are estimates, so a recording keeps, beside the value the emulator plays, what that value was
measured from (its ``[measured]`` table, which the emulator ignores). ``--expect-choices`` calls one
drift only when the two runs' measurements cannot both come from one endpoint:

- ``model-cache`` and ``model-cache-seconds``: a createsession of a UserId new to the run, for a project
  and Protocol created before, on an endpoint with cold starts. Ready at once is the Protocol's cache
  (``protocol``, which any such answer pins: a per-UserId cache never has one); preparing, the UserId's.
  Under ``protocol``, ready at once Δ seconds after the model's last create says the cache lasts more
  than Δ, preparing says at most Δ. Δ is bounded by the requests' send and answer times, so the bounds
  hold at any latency; drift is two runs' intervals that do not meet. (Another client creating on the
  project warms it too: a project shared with other traffic can look warmer than it is.)
- ``cold-failure``: k of n cold sessions (seen preparing, then polled to an end) failed with ErrorCode
  -111003, -111004 or -101001. Drift when Fisher's exact test puts the recorded and the new counts
  below :data:`SIGNIFICANCE`; against a value written without its counts, the binomial test.
- ``rate-limit``: a 100012 to an operation other than command (whose 100012 is also the text interval)
  says there is a limit. Its rate is the most requests a second accepted over a window of 2 to 4 s
  with a refusal at each end (a token bucket, empty at both ends, admitted just its rate in between;
  a run that eased off admits less, hence the most). Drift beyond a factor of :data:`RATE_TOLERANCE`;
  ``none`` drifts when refusals come at a rate well below the recording's busiest second, a rate when
  a second passed well over twice it (a full bucket admits at most twice its rate in a second).
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivhsuite.protocol import COLD_FAILURE_CODES, LIVE_STATUSES, Answer, Code, SessionStatus

MEASURED = ("model-cache-seconds", "cold-failure", "rate-limit")  # the values a recording keeps [measured] for
OBSERVED_HERE = ("model-cache", *MEASURED)  # every choice :meth:`Measures.observed` may give
MEASURES = ("cache-warm-after", "cache-cold-after", "cold-sessions", "cold-failures", "busiest-second")
SIGNIFICANCE = 0.001  # cold-failure: counts this unlikely under one probability are drift
RATE_TOLERANCE = 2.0  # rate-limit: estimates within this factor of each other are one rate
RATE_WINDOW = 2.0  # seconds at least between two refusals that bound a window of the rate
DEFAULT_CACHE_SECONDS = 30.0  # the emulator's: kept when the measured interval holds it
_SAYS_STATUS = ("createsession", "createsessionbyasset", "statsession")  # answers that give a session's status


@dataclass(frozen=True)
class _Create:
    """A createsession answered Code 0: when it was sent and answered, and what it said."""

    model: tuple[Any, str]  # (project, Protocol)
    sent: float
    answered: float
    fresh: bool  # its UserId is new to the run
    status: object  # the SessionStatus answered


class Measures:
    """Thread-safe: every readable answer of a run, with its ``(sent, answered)`` monotonic times."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._creates: list[_Create] = []
        self._users: set[str] = set()  # every UserId a create of the run made a session for
        self._cold: set[str] = set()  # SessionIds seen preparing, their end not seen yet
        self._cold_ready = 0
        self._cold_failed = 0
        self._requests: list[tuple[float, bool]] = []  # (sent, refused 100012) of each operation but command

    def see(self, operation: str, sent: dict[str, Any], answer: Answer, span: tuple[float, float]) -> None:
        if answer.status >= 500:
            return  # a gateway's page: environmental, no measure of the endpoint
        status = answer.payload.get("SessionStatus")
        session_id = (sent if operation == "statsession" else answer.payload).get("SessionId")
        with self._lock:
            if operation != "command":
                self._requests.append((span[0], answer.code == Code.TOO_FREQUENT))
            if operation in ("createsession", "createsessionbyasset") and answer.ok:
                self._created(operation, sent, status, span)
            if operation in _SAYS_STATUS and answer.ok and isinstance(session_id, str) and status is not None:
                self._cold_outcome(session_id, status, answer.payload.get("ErrorCode"))

    def _created(self, operation: str, sent: dict[str, Any], status: object, span: tuple[float, float]) -> None:
        user_id, protocol = sent.get("UserId"), sent.get("Protocol")
        if not isinstance(user_id, str):
            return
        fresh = user_id not in self._users
        self._users.add(user_id)
        if operation == "createsession" and isinstance(protocol, str):
            model = (sent.get("VirtualmanProjectId"), protocol)
            self._creates.append(_Create(model, span[0], span[1], fresh, status))

    def _cold_outcome(self, session_id: str, status: object, error_code: object) -> None:
        if status == SessionStatus.PREPARING:
            self._cold.add(session_id)
        elif session_id in self._cold:
            self._cold.discard(session_id)
            if status == SessionStatus.READY:
                self._cold_ready += 1
            elif status == SessionStatus.FAILED and error_code in COLD_FAILURE_CODES:
                self._cold_failed += 1

    # --- what was measured -----------------------------------------------------------

    def observed(self) -> dict[str, tuple[str, str]]:
        """Each choice measured, by the emulator's name: (value, what was seen)."""
        found: dict[str, tuple[str, str]] = {}
        cache = self._model_cache()
        if cache is not None:
            found["model-cache"] = cache
            low, high = self.cache_bounds()
            if cache[0] == "protocol" and low < high and (low > 0 or high < math.inf):
                found["model-cache-seconds"] = (_cache_value(low, high), _interval(low, high))
        failed, cold = self.cold_counts()
        if cold:
            found["cold-failure"] = (f"{round(failed / cold, 3):g}", f"{failed} of {cold} cold sessions failed")
        limited, rate, busiest = self.rate()
        if not limited and busiest:
            found["rate-limit"] = ("none", f"no 100012, {busiest} requests accepted in the busiest second")
        elif rate is not None:
            found["rate-limit"] = (f"{rate:.3g}", f"about {rate:.3g} requests a second accepted between refusals")
        return found

    def measured(self) -> dict[str, float | int]:
        """The recording's ``[measured]`` table: what the values above were measured from."""
        table: dict[str, float | int] = {}
        cache = self._model_cache()
        low, high = self.cache_bounds() if cache and cache[0] == "protocol" else (0.0, math.inf)
        if low > 0 and low < high:
            table["cache-warm-after"] = math.floor(low * 1000) / 1000  # rounded outward
        if high < math.inf and low < high:
            table["cache-cold-after"] = math.ceil(high * 1000) / 1000
        failed, cold = self.cold_counts()
        if cold:
            table["cold-sessions"], table["cold-failures"] = cold, failed
        busiest = self.rate()[2]
        if busiest:
            table["busiest-second"] = busiest
        return table

    def _model_cache(self) -> tuple[str, str] | None:
        """``protocol`` once a new UserId's create of a model created before was ready at once; else ``user``."""
        with self._lock:
            creates = list(self._creates)
        if not any(c.status == SessionStatus.PREPARING for c in creates):
            return None  # no cold start at all: either cache plays alike
        seen = {}
        for create in (c for c in creates if c.fresh and c.status in LIVE_STATUSES):
            if any(w.model == create.model and w.answered <= create.sent for w in creates if w is not create):
                value = "protocol" if create.status == SessionStatus.READY else "user"
                seen.setdefault(value, f"a new UserId's {create.model[1]} session: status {create.status}")
        for value in ("protocol", "user"):
            if value in seen:
                return value, seen[value]
        return None

    def cache_bounds(self) -> tuple[float, float]:
        """(low, high]: the model cache lasts more than low and at most high seconds, as far as this run shows."""
        with self._lock:
            creates = list(self._creates)
        low, high = 0.0, math.inf
        for create in (c for c in creates if c.fresh):
            before = [w for w in creates if w is not create and w.model == create.model]
            if create.status == SessionStatus.READY:  # warm: the last create that may have come first was lately
                maybe = [w.answered for w in before if w.sent <= create.answered]
                if maybe:
                    low = max(low, create.sent - max(maybe))
            elif create.status == SessionStatus.PREPARING:  # cold: the last create that surely came first was long ago
                surely = [w.sent for w in before if w.answered <= create.sent]
                if surely:
                    high = min(high, create.answered - max(surely))
        return low, high

    def cold_counts(self) -> tuple[int, int]:
        """(failed, cold): cold sessions that failed their start, of those whose end was seen."""
        with self._lock:
            return self._cold_failed, self._cold_failed + self._cold_ready

    def rate(self) -> tuple[bool, float | None, int]:
        """(refused at all, the rate accepted between refusals or None, requests accepted in the busiest second)."""
        with self._lock:
            requests = sorted(self._requests)
        accepted = [sent for sent, refused in requests if not refused]
        refusals = [sent for sent, refused in requests if refused]
        busiest = max((bisect_right(accepted, t + 1.0) - i for i, t in enumerate(accepted)), default=0)
        if not refusals:
            return False, None, busiest
        rates = []
        for i, start in enumerate(refusals):  # windows of 2 to 4 s, a refusal at each end: the bucket empty at both
            j = bisect_left(refusals, start + RATE_WINDOW, i + 1)
            if j < len(refusals) and refusals[j] - start <= 2 * RATE_WINDOW:
                admitted = bisect_right(accepted, refusals[j]) - bisect_left(accepted, start)
                rates.append(admitted / (refusals[j] - start))
        return True, max(rates, default=None), busiest

    # --- compared with a recording ----------------------------------------------------

    def compare(self, name: str, was: str, recorded: Mapping[str, float]) -> tuple[str | None, str]:
        """(now, what was seen) for a measured choice: ``was`` when consistent, None when not observed."""
        if name == "cold-failure":
            return self._compare_cold(was, recorded)
        if name == "rate-limit":
            return self._compare_rate(was, recorded)
        return self._compare_cache(was, recorded)

    def _compare_cache(self, was: str, recorded: Mapping[str, float]) -> tuple[str | None, str]:
        low, high = self.cache_bounds()
        if self._model_cache() is None or (low == 0 and high == math.inf) or low >= high:
            return None, ""
        if "cache-warm-after" in recorded or "cache-cold-after" in recorded:
            was_low, was_high = recorded.get("cache-warm-after", 0.0), recorded.get("cache-cold-after", math.inf)
        else:
            was_low = was_high = float(was)  # a value alone: exactly that long
            was_low = math.nextafter(was_low, -math.inf)
        seen = _interval(low, high)
        if low >= was_high:
            return f"over {low:.3g}", seen
        if high <= was_low:
            return f"at most {high:.3g}", seen
        return was, seen

    def _compare_cold(self, was: str, recorded: Mapping[str, float]) -> tuple[str | None, str]:
        failed, cold = self.cold_counts()
        if not cold:
            return None, ""
        seen = f"{failed} of {cold} cold sessions failed"
        if "cold-sessions" in recorded and "cold-failures" in recorded:
            was_cold, was_failed = int(recorded["cold-sessions"]), int(recorded["cold-failures"])
            chance = fisher(was_failed, was_cold, failed, cold)
            seen += f"; recorded {was_failed} of {was_cold}"
        else:
            chance = binomial(failed, cold, float(was))
        if chance < SIGNIFICANCE:
            return f"{round(failed / cold, 3):g}", seen
        return was, seen

    def _compare_rate(self, was: str, recorded: Mapping[str, float]) -> tuple[str | None, str]:
        limited, rate, busiest = self.rate()
        if not limited:
            if not busiest:
                return None, ""
            seen = f"no 100012, {busiest} requests accepted in the busiest second"
            over = was != "none" and busiest > 2 * float(was) * RATE_TOLERANCE
            return ("none" if over else was), seen
        refused_at = rate if rate is not None else float(busiest)  # the speed at which it refused, at most
        seen = f"100012 at about {refused_at:.3g} requests a second" if rate else "100012, too few to measure a rate"
        if was == "none":
            passed = recorded.get("busiest-second")  # what the recording's busiest second passed without a refusal
            slower = passed is None or refused_at * RATE_TOLERANCE < passed
            return (f"{rate:.3g}" if rate else "limited") if slower else was, seen
        if rate is not None and not float(was) / RATE_TOLERANCE <= rate <= float(was) * RATE_TOLERANCE:
            return f"{rate:.3g}", seen
        return was, seen


def _interval(low: float, high: float) -> str:
    warm = f"ready at once {low:.3g} s after the last create" if low > 0 else ""
    cold = f"preparing {high:.3g} s after it" if high < math.inf else ""
    return ", ".join(part for part in (warm, cold) if part)


def _cache_value(low: float, high: float) -> str:
    """A model-cache-seconds in (low, high]: the emulator's default when it is, else the middle (or just past low)."""
    if low < DEFAULT_CACHE_SECONDS <= high:
        return f"{DEFAULT_CACHE_SECONDS:g}"
    if high == math.inf:
        return f"{math.floor(low) + 1:g}"
    middle = round((low + high) / 2, 3)
    return f"{middle if low < middle <= high else high:g}"


def fisher(k1: int, n1: int, k2: int, n2: int) -> float:
    """Fisher's exact test, two-sided: how likely counts this far apart are when k1 of n1 and k2 of n2 share one rate.

    >>> round(fisher(0, 20, 10, 20), 5)
    0.00044
    """
    k, n = k1 + k2, n1 + n2
    low, high = max(0, k - n2), min(k, n1)

    def chance(x: int) -> float:
        return math.comb(n1, x) * math.comb(n2, k - x) / math.comb(n, k)

    observed = chance(k1) * (1 + 1e-7)
    return min(1.0, sum(p for p in map(chance, range(low, high + 1)) if p <= observed))


def binomial(k: int, n: int, p: float) -> float:
    """The binomial test, two-sided: how likely k of n or anything as rare is at probability p.

    >>> binomial(1, 20, 0.0)
    0.0
    """

    def chance(x: int) -> float:
        return math.comb(n, x) * p**x * (1 - p) ** (n - x)

    observed = chance(k) * (1 + 1e-7)
    return min(1.0, sum(q for q in map(chance, range(n + 1)) if q <= observed))
