"""The store's indexes (live per project, by UserId, by last drive, warm cache) with many sessions.

Each test drives the store through thousands of steps and compares it with a plain model
that recomputes everything by scanning, as the store did before it kept indexes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from ivhsuite.emulator import EmulatorSettings, Store, StoreError
from ivhsuite.emulator import store as store_module

from .conftest import PROJECT, FakeClock

OTHER = "other-project"


@dataclass
class _Known:
    project: str
    user: str
    last_driven: float
    started: bool = False
    closed: bool = False
    preempted: bool = False


class Model:
    """The documented rules, by brute force: every check scans every session."""

    def __init__(self, quota: int, idle: float) -> None:
        self.quota, self.idle = quota, idle
        self.sessions: dict[str, _Known] = {}  # insertion order is creation order

    def expire(self, now: float, project: str | None = None, session_id: str | None = None) -> None:
        for sid, s in self.sessions.items():
            if not s.closed and (sid == session_id or s.project == project) and now - s.last_driven >= self.idle:
                s.closed = True

    def live(self, project: str) -> list[str]:
        return [sid for sid, s in self.sessions.items() if s.project == project and not s.closed]

    def create(self, sid: str, project: str, user: str, now: float) -> None:
        for s in self.sessions.values():
            if s.project == project and s.user == user and not s.closed:
                s.closed = s.preempted = True
        self.sessions[sid] = _Known(project, user, now)


def _store(clock: FakeClock, quota: int, idle: float) -> Store:
    settings = EmulatorSettings(project_ids=(PROJECT, OTHER), quota=quota, prepare_seconds=0.0, idle_seconds=idle)
    return Store(settings, clock)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_store_matches_the_scanning_model_over_thousands_of_steps(clock: FakeClock, seed: int) -> None:
    rng = random.Random(seed)
    quota, idle = 60, 50.0
    store, model = _store(clock, quota, idle), Model(quota, idle)
    ids: list[str] = []
    for _ in range(4000):
        step = rng.random()
        project = rng.choice((PROJECT, OTHER))
        if step < 0.4:
            user = f"u{rng.randrange(80)}"
            model.expire(clock.now, project)
            expect_refused = len([s for s in model.live(project) if model.sessions[s].user != user]) >= quota
            try:
                sid = store.create(project, user, 1).session_id
            except StoreError as exc:
                assert exc.code == 100008 and expect_refused
                for s in model.sessions.values():  # the preemption happened before the quota check
                    if s.project == project and s.user == user and not s.closed:
                        s.closed = s.preempted = True
            else:
                assert not expect_refused
                model.create(sid, project, user, clock.now)
                ids.append(sid)
        elif step < 0.7 and ids:
            sid = rng.choice(ids)
            known = model.sessions[sid]
            model.expire(clock.now, session_id=sid)
            try:
                store.start(sid)
            except StoreError as exc:
                assert known.closed and exc.code == (110022 if known.preempted else 110013)
            else:
                assert not known.closed
                known.started, known.last_driven = True, clock.now
        elif step < 0.8 and ids:
            sid = rng.choice(ids)
            model.expire(clock.now, session_id=sid)
            store.close(sid)
            model.sessions[sid].closed = True
        elif step < 0.9:
            clock.advance(rng.choice((0.5, 3.0, 20.0)))
        else:
            model.expire(clock.now, project)
            assert [s.session_id for s in store.sessions(project)] == model.live(project)
    for project in (PROJECT, OTHER):
        model.expire(clock.now, project)
        assert [s.session_id for s in store.sessions(project)] == model.live(project)
    for sid in ids:
        model.expire(clock.now, session_id=sid)
        assert (store.stat(sid).status == 2) == model.sessions[sid].closed


def test_quota_holds_at_ten_thousand_live_sessions(clock: FakeClock) -> None:
    store = _store(clock, quota=10_000, idle=600)
    ids = [store.create(PROJECT, f"user-{i}", 1).session_id for i in range(10_000)]
    with pytest.raises(StoreError) as refused:
        store.create(PROJECT, "one-too-many", 1)
    assert refused.value.code == 100008
    assert store.create(PROJECT, "user-42", 1).status == 1  # preemption frees the slot first
    assert store.stat(ids[42]).error_code == 110022
    store.close(ids[7])
    store.create(PROJECT, "fits-now", 1)
    assert len(store.sessions(PROJECT)) == 10_000
    assert store.sessions(OTHER) == []


def test_idle_expiry_closes_exactly_the_undriven_ones_among_many(clock: FakeClock) -> None:
    store = _store(clock, quota=5000, idle=100)
    ids = []
    for i in range(5000):
        ids.append(store.create(PROJECT, f"user-{i}", 1).session_id)
        if i % 1000 == 999:
            clock.advance(10)  # five waves, 10 s apart
    driven = set(ids[::3])
    for sid in driven:
        store.start(sid)
    clock.advance(65)  # waves now 115, 105, 95, 85, 75 s old: the first two are idle unless driven 65 s ago
    expected = [sid for i, sid in enumerate(ids) if sid in driven or i >= 2000]
    assert [s.session_id for s in store.sessions(PROJECT)] == expected
    assert {store.stat(sid).status for sid in ids if sid not in expected} == {2}


def test_idle_sessions_are_closed_and_forgotten_oldest_created_first(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "CLOSED_KEPT", 2)
    store = _store(clock, quota=10, idle=100)
    first, second, third = (store.create(PROJECT, f"u{i}", 1).session_id for i in range(3))
    clock.advance(50)
    store.start(first)  # driven last, so it comes first in neither order
    clock.advance(150)
    assert store.sessions(PROJECT) == []  # all three idle: closed in creation order
    with pytest.raises(StoreError):
        store.stat(first)  # the oldest created is forgotten first
    assert store.stat(second).status == store.stat(third).status == 2


def test_warm_cache_forgets_only_what_has_gone_cold(clock: FakeClock) -> None:
    settings = EmulatorSettings(quota=3000, prepare_seconds=5.0, idle_seconds=100)
    store = Store(settings, clock)
    for i in range(2000):
        store.create(PROJECT, f"user-{i}", 1)
        if i == 999:
            clock.advance(60)
    clock.advance(50)  # users 0..999 created 110 s ago (cold again), 1000..1999 50 s ago (warm)
    assert store.create(PROJECT, "user-10", 1).status == 3
    assert store.create(PROJECT, "user-1500", 1).status == 1
    assert store.create(PROJECT, "user-10", 1).status == 1  # warm again after its new create
    assert len(store._warm) == 1001  # the 999 that went cold are forgotten
