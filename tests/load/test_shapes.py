"""The load shapes as pure functions of elapsed time."""

from __future__ import annotations

import pytest

from ivhsuite.load.shapes import plan


def users_over(shape: str, duration: float = 100, peak: int = 10, **kw: int) -> list[int]:
    ticks = [plan(shape, t, peak=peak, rate=2, duration=duration, **kw) for t in range(0, int(duration), 5)]
    return [tick[0] for tick in ticks if tick]


def test_constant_is_locusts_default_and_ends_at_the_run_time() -> None:
    assert plan("constant", 0, peak=5, rate=2, duration=None) == (5, 2.0)
    assert plan("constant", 1e6, peak=5, rate=2, duration=None) == (5, 2.0)
    assert plan("constant", 30, peak=5, rate=2, duration=30) is None


def test_ramp_climbs_to_the_peak_over_half_the_run_then_holds() -> None:
    users = users_over("ramp")
    assert users[0] >= 1 and users == sorted(users)
    assert users[len(users) // 2 :] == [10] * (len(users) - len(users) // 2)


def test_step_rises_in_equal_steps() -> None:
    assert sorted(set(users_over("step", steps=4))) == [3, 5, 8, 10]


def test_spike_jumps_to_the_peak_in_the_middle_only() -> None:
    users = users_over("spike")
    assert users[0] == 1 and users[-1] == 1
    assert max(users) == 10 and users[len(users) // 2] == 10
    assert plan("spike", 50, peak=10, rate=1, duration=100)[1] == 10.0


@pytest.mark.parametrize("shape", ["ramp", "step", "spike"])
def test_shapes_need_a_duration_and_stop_after_it(shape: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        plan(shape, 0, peak=1, rate=1, duration=None)
    assert plan(shape, 60, peak=1, rate=1, duration=60) is None


def test_unknown_shape() -> None:
    with pytest.raises(ValueError, match="unknown"):
        plan("zigzag", 0, peak=1, rate=1, duration=10)
