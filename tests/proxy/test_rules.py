"""The session state machine alone: each rule, fed with calls and answers at given times."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from ivhsuite.proxy.findings import Call, Finding
from ivhsuite.proxy.rules import Policy, Tracker

PROJECT = "p1"


class Feed:
    """Drives a Tracker like the proxy would: request at ``at``, answer ``latency`` later."""

    def __init__(self, **policy: Any) -> None:
        self.tracker = Tracker(Policy(**policy))
        self.found: list[Finding] = []
        self._seq = itertools.count(1)

    def call(
        self, op: str, at: float, code: int | None = 0, answer: dict[str, Any] | None = None, latency: float = 0.01,
        **payload: Any,
    ) -> list[str]:  # fmt: skip
        call = Call(next(self._seq), at, "POST", f"/{op}", op, "127.0.0.1:1")
        found = self.tracker.request(call, payload, at)
        found += self.tracker.answer(call, code, answer or {}, at + latency)
        self.found += found
        return [f.rule for f in found]

    def create(self, at: float, user: str = "u1", session: str = "s1", status: int = 1, **kw: Any) -> list[str]:
        answer = {"SessionId": session, "SessionStatus": status}
        return self.call("createsession", at, answer=answer, VirtualmanProjectId=PROJECT, UserId=user, **kw)

    def stat(self, at: float, session: str = "s1", status: int = 1, code: int = 0, **extra: Any) -> list[str]:
        return self.call("statsession", at, code=code, answer={"SessionStatus": status, **extra}, SessionId=session)

    def start(self, at: float, session: str = "s1", code: int = 0) -> list[str]:
        return self.call("startsession", at, code=code, SessionId=session)

    def text(self, at: float, session: str = "s1", code: int = 0, latency: float = 0.01) -> list[str]:
        return self.call("command", at, code=code, latency=latency, SessionId=session, Command="SEND_TEXT")

    def close(self, at: float, session: str = "s1") -> list[str]:
        return self.call("closesession", at, SessionId=session)

    def finish(self, at: float) -> list[str]:
        found = self.tracker.finish(at, "the application stopped")
        self.found += found
        return [f.rule for f in found]


def test_a_well_behaved_session_breaks_no_rule() -> None:
    feed = Feed()
    assert feed.create(0.0, status=3) == []
    assert feed.stat(2.0, status=3) == []
    assert feed.stat(4.0, status=1) == []
    assert feed.start(4.1) == []
    assert feed.text(4.2) == []
    assert feed.text(5.3) == []
    assert feed.close(6.0) == []
    assert feed.finish(7.0) == []
    (track,) = feed.tracker.tracks()
    assert (track.created, track.ready, track.started, track.ended) == pytest.approx((0.01, 4.01, 4.11, 6.01))
    assert track.end_reason == "closed" and track.text_count == 2 and not track.leaked


def test_command_before_start_is_named_with_why() -> None:
    feed = Feed()
    feed.create(0.0)
    assert feed.text(1.0, code=110016) == ["command-before-start"]
    assert "startsession was never called" in feed.found[-1].message
    feed.start(2.0, code=110014)
    assert feed.text(3.0, code=110016) == ["command-before-start"]
    assert "no startsession has succeeded" in feed.found[-1].message


def test_start_before_ready_says_whether_it_polled() -> None:
    feed = Feed()
    feed.create(0.0, status=3)
    assert feed.start(0.5, code=110014) == ["start-before-ready"]
    assert "statsession never called" in feed.found[-1].message
    feed.stat(2.0, status=3)
    assert feed.start(2.5, code=110014) == ["start-before-ready"]
    assert "1 statsession answer(s), none with status 1" in feed.found[-1].message
    feed.stat(4.0, status=1)
    assert feed.start(4.5) == []


def test_a_session_created_ready_may_start_at_once() -> None:
    feed = Feed()
    feed.create(0.0, status=1)
    assert feed.start(0.1) == []


def test_texts_closer_than_the_interval() -> None:
    feed = Feed()
    feed.create(0.0)
    feed.start(0.1)
    assert feed.text(1.0) == []
    assert feed.text(1.4, code=100012) == ["text-interval"]
    assert "0.40 s after the previous one" in feed.found[-1].message
    # the refused text does not restart the interval: 1.1 s after the last accepted one is fine
    assert feed.text(2.1) == []
    assert feed.text(3.2) == []


def test_reusing_a_live_user_id_is_self_preemption() -> None:
    feed = Feed()
    feed.create(0.0, user="alice", session="s1")
    assert feed.create(5.0, user="alice", session="s2") == ["userid-reuse"]
    assert "'alice' already has live session s1" in feed.found[-1].message
    first, second = feed.tracker.tracks()
    assert first.end_reason == "preempted (same UserId)" and second.live
    # a closed session's UserId is free again
    feed.close(6.0, session="s2")
    assert feed.create(7.0, user="alice", session="s3") == []
    # another UserId is never a reuse
    assert feed.create(8.0, user="bob", session="s4") == []


def test_a_user_id_idle_past_the_timeout_is_free_again() -> None:
    feed = Feed(idle_seconds=600)
    feed.create(0.0, user="alice", session="s1")
    assert feed.create(700.0, user="alice", session="s2") == []


@pytest.mark.parametrize(
    ("code", "answer", "reason"),
    [
        (110022, {}, "reported preempted (110022)"),
        (110013, {}, "reported closed (110013)"),
        (0, {"SessionStatus": 2, "ErrorCode": 110022}, "reported preempted (110022)"),
        (0, {"SessionStatus": 2}, "reported closed (status 2)"),
        (0, {"SessionStatus": 4}, "reported failed (status 4)"),
    ],
    ids=["code-110022", "code-110013", "stat-error-110022", "stat-closed", "stat-failed"],
)
def test_calls_after_the_session_reported_its_end(code: int, answer: dict[str, Any], reason: str) -> None:
    feed = Feed()
    feed.create(0.0)
    feed.call("statsession", 1.0, code=code, answer=answer, SessionId="s1")
    assert feed.start(3.0, code=110013) == ["call-after-end"]
    assert reason in feed.found[-1].message
    assert feed.close(4.0) == [], "closing is always allowed: it is cleanup"


def test_calls_after_the_application_closed_the_session() -> None:
    feed = Feed()
    feed.create(0.0)
    feed.close(1.0)
    assert feed.text(2.0, code=110013) == ["call-after-end"]
    assert "after it was closed" in feed.found[-1].message


def test_statsession_polled_faster_than_the_policy() -> None:
    feed = Feed(stat_interval=2.0)
    feed.create(0.0, status=3)
    assert feed.stat(1.0, status=3) == []
    assert feed.stat(2.5, status=3) == ["stat-poll-rate"]
    assert "at most one per 2 s" in feed.found[-1].message
    assert feed.stat(5.0, status=1) == []


def test_quota_counts_live_and_in_flight_creates() -> None:
    feed = Feed(quota=2)
    assert feed.create(0.0, user="a", session="s1") == []
    assert feed.create(1.0, user="b", session="s2") == []
    over = feed.call("createsession", 2.0, code=100008, VirtualmanProjectId=PROJECT, UserId="c")
    assert over == ["quota-exceeded"]
    assert "asks for 3 live sessions of project 'p1'; the quota is 2" in feed.found[-1].message
    # replacing a UserId's own session does not grow the count (it is a reuse, though)
    assert feed.create(3.0, user="a", session="s4") == ["userid-reuse"]
    feed.close(4.0, session="s2")
    assert feed.create(5.0, user="d", session="s5") == []


def test_quota_sees_concurrent_creates_before_their_answers() -> None:
    tracker = Tracker(Policy(quota=1))
    first = Call(1, 0.0, "POST", "/c", "createsession", "peer")
    second = Call(2, 0.0, "POST", "/c", "createsession", "peer")
    assert tracker.request(first, {"VirtualmanProjectId": PROJECT, "UserId": "a"}, 0.0) == []
    found = tracker.request(second, {"VirtualmanProjectId": PROJECT, "UserId": "b"}, 0.0)
    assert [f.rule for f in found] == ["quota-exceeded"]


def test_leaks_say_how_long_each_session_ran() -> None:
    feed = Feed()
    feed.create(0.0, user="a", session="s1")
    feed.create(1.0, user="b", session="s2")
    feed.close(2.0, session="s2")
    assert feed.finish(10.0) == ["session-leaked"]
    leak = feed.found[-1]
    assert leak.session_id == "s1" and leak.user_id == "a" and leak.call is not None
    assert leak.call.operation == "createsession"
    assert "ran 9.99 s" in leak.message or "ran 10.0 s" in leak.message
    track = feed.tracker.sessions["s1"]
    assert track.leaked and track.end_reason == "leaked"


def test_a_session_left_idle_past_the_timeout_is_still_a_leak() -> None:
    feed = Feed(idle_seconds=600)
    feed.create(0.0)
    assert feed.finish(900.0) == ["session-leaked"]
    assert "after 600 s without driving" in feed.found[-1].message
    assert feed.tracker.sessions["s1"].ended == pytest.approx(600.01)


def test_sessions_never_seen_created_are_not_judged() -> None:
    feed = Feed()
    assert feed.text(0.0, session="someone-elses") == []
    assert feed.stat(0.1, session="someone-elses") == []
    assert feed.finish(1.0) == []


# --- endpoint promises that need state ---------------------------------------------


def test_endpoint_accepting_a_text_on_a_never_started_session() -> None:
    feed = Feed()
    feed.create(0.0)
    assert feed.text(1.0, code=0) == ["command-before-start", "command-after-start"]
    assert feed.found[-1].side == "endpoint"


def test_endpoint_accepting_texts_surely_closer_than_the_interval() -> None:
    feed = Feed()
    feed.create(0.0)
    feed.start(0.1)
    feed.text(1.0, latency=0.05)
    # sent 0.3 s after the first was sent, answered 0.05 s later: the endpoint saw them < 1 s apart
    assert feed.text(1.3, latency=0.05) == ["text-interval", "command-rate"]
    assert feed.found[-1].side == "endpoint"


def test_slow_answers_do_not_make_the_endpoint_look_lenient() -> None:
    feed = Feed()
    feed.create(0.0)
    feed.start(0.1)
    feed.text(1.0, latency=0.9)
    # 1.05 s between this text's answer and the first's sending: the endpoint may have seen >= 1 s
    assert feed.text(1.0 + 0.9 + 0.15, latency=0.01) == []


def test_endpoint_keeping_a_preempted_session_ready_past_the_grace() -> None:
    feed = Feed(preemption_grace=10.0)
    feed.create(0.0, user="a", session="s1")
    feed.create(1.0, user="a", session="s2")
    assert feed.stat(5.0, session="s1", status=1) == []  # within the grace: not judged yet
    assert feed.stat(20.0, session="s1", status=1) == ["preemption"]
    assert "status 1" in feed.found[-1].message and feed.found[-1].side == "endpoint"


def test_endpoint_starting_a_session_still_preparing() -> None:
    feed = Feed()
    feed.create(0.0, status=3)
    feed.start(0.5)  # the client broke start-before-ready, and the endpoint accepted it
    assert feed.stat(2.0, status=3) == ["start-after-ready"]
    assert feed.found[-1].side == "endpoint"
