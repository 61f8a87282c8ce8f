"""Load shapes as pure functions of elapsed time: ``(users, spawn_rate)``, or None when the run is over.

``constant`` is locust's own behaviour (-u users at -r per second, for -t); ``ramp``,
``step`` and ``spike`` reach -u users over the run's duration. The locust
``LoadTestShape`` that calls these lives in :mod:`ivhsuite.load.locust_events`.

>>> plan("step", 0, peak=8, rate=4, duration=40, steps=4)
(2, 4.0)
>>> plan("spike", 20, peak=10, rate=1, duration=40)
(10, 10.0)
"""

from __future__ import annotations

import math

RAMP_UP_SHARE = 0.5  # ramp: up over the first half, then hold
SPIKE_START, SPIKE_END = 0.4, 0.6  # spike: the middle fifth of the run at full load
SPIKE_BASELINE_SHARE = 0.1

Tick = tuple[int, float] | None


def plan(shape: str, elapsed: float, *, peak: int, rate: float, duration: float | None, steps: int = 4) -> Tick:
    """Users and spawn rate at ``elapsed`` seconds; None once ``duration`` has passed."""
    peak = max(0, int(peak))
    rate = max(float(rate), 0.1)
    if duration is not None and elapsed >= duration:
        return None
    if shape == "constant":
        return peak, rate
    if duration is None or duration <= 0:
        raise ValueError(f"the {shape} shape needs a duration")
    share = elapsed / duration
    if shape == "ramp":
        users = peak if share >= RAMP_UP_SHARE else math.ceil(peak * share / RAMP_UP_SHARE)
        # spawn as fast as the line climbs, so the runner keeps up with it
        return max(users, 1 if peak else 0), max(rate, peak / (duration * RAMP_UP_SHARE))
    if shape == "step":
        steps = max(1, int(steps))
        index = min(steps - 1, int(share * steps))
        return math.ceil(peak * (index + 1) / steps), rate
    if shape == "spike":
        baseline = max(1, math.ceil(peak * SPIKE_BASELINE_SHARE)) if peak else 0
        if SPIKE_START <= share < SPIKE_END:
            return peak, max(rate, float(peak))
        return baseline, max(rate, float(peak))
    raise ValueError(f"unknown load shape {shape!r}")
