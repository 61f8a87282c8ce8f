"""Preemption bookkeeping: which session a create supersedes, and which duplicates are new breaches."""

from __future__ import annotations

import pytest

from ivhsuite.load.preemption import PreemptionTracker, duplicates, is_gone, persisting
from ivhsuite.run_sessions import live_of_run

PREFIX = "ivhload-run1-"


def session(user: str, sid: str, status: int = 1) -> dict:
    return {"UserId": PREFIX + user, "SessionId": sid, "SessionStatus": status}


def test_supersede_returns_the_previous_live_session_of_the_user_id() -> None:
    tracker = PreemptionTracker()
    assert tracker.supersede("u", "s1") is None
    assert tracker.supersede("u", "s2") == "s1"
    assert tracker.supersede("v", "t1") is None
    assert tracker.latest("u") == "s2"


def test_a_session_its_owner_closed_supersedes_nothing() -> None:
    tracker = PreemptionTracker()
    tracker.supersede("u", "s1")
    tracker.closed("u", "s1")
    assert tracker.supersede("u", "s2") is None
    tracker.closed("u", "s1")  # an older one: the newest stays
    assert tracker.latest("u") == "s2"


def test_creating_serialises_one_user_id() -> None:
    tracker = PreemptionTracker()
    with tracker.creating("u"):
        lock = tracker._locks["u"]
        assert not lock.acquire(blocking=False)
    assert lock.acquire(blocking=False)


@pytest.mark.parametrize(
    "code, payload, gone",
    [
        (110022, None, True),
        (110013, None, True),
        (110018, None, True),
        (0, {"SessionStatus": 2, "ErrorCode": 110022}, True),
        (0, {"SessionStatus": 4}, True),
        (0, {"SessionStatus": 1}, False),
        (0, {"SessionStatus": 3}, False),
        (100012, None, False),
        (None, None, False),
    ],
    ids=["preempted", "closed", "unknown", "status-2", "status-4", "ready", "preparing", "busy", "no-answer"],
)
def test_is_gone(code: int | None, payload: dict | None, gone: bool) -> None:
    assert is_gone(code, payload) is gone


def test_duplicates_only_count_live_sessions_of_this_run() -> None:
    listed = [
        session("p1", "a"),
        session("p1", "b", status=3),
        session("p1", "c", status=2),
        session("p2", "d"),
        {"UserId": "someone-else", "SessionId": "x", "SessionStatus": 1},
        {"UserId": "someone-else", "SessionId": "y", "SessionStatus": 1},
    ]
    assert len(live_of_run(listed, PREFIX)) == 3
    assert duplicates(listed, PREFIX) == {PREFIX + "p1": {"a", "b"}}


def test_persisting_keeps_duplicates_seen_twice_with_the_same_sessions() -> None:
    first = {"u": {"a", "b"}, "v": {"c", "d"}}
    second = {"u": {"a", "b", "e"}, "v": {"d", "f"}}
    assert persisting(first, second) == {"u": {"a", "b"}}


def test_a_breach_is_counted_once_across_both_checks() -> None:
    tracker = PreemptionTracker()
    tracker.supersede("u", "s2")
    tracker.flag(["s1"])  # the superseded-session check already reported s1
    assert tracker.new_breaches({"u": {"s1", "s2"}}) == {}
    assert tracker.new_breaches({"v": {"t1", "t2"}}) == {"v": {"t1", "t2"}}
    assert tracker.new_breaches({"v": {"t1", "t2"}}) == {}
    assert tracker.new_breaches({"u": {"s1", "s2", "s3"}}) == {"u": {"s1", "s2", "s3"}}


def test_list_check_is_due_once_per_interval() -> None:
    now = [100.0]
    tracker = PreemptionTracker(clock=lambda: now[0])
    assert tracker.list_check_due(5)
    assert not tracker.list_check_due(5)
    now[0] += 5
    assert tracker.list_check_due(5)
