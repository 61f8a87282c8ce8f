from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from ivhsuite.gate import quota_guard
from ivhsuite.gate.quota_guard import SessionGuard


def test_closes_the_oldest_to_stay_within_the_limit() -> None:
    closed: list[str] = []
    guard = SessionGuard(closed.append, limit=2)
    for sid in ("a", "b", "c", "d"):
        guard.before_create()
        guard.created(sid)
    assert guard.settle()
    assert closed == ["a", "b", "c"]  # each create that filled the last slot closed the oldest ahead
    assert guard.open_sessions() == ["d"]
    assert guard.peak == 2


def test_one_session_is_never_closed_ahead_of_the_next_create() -> None:
    """With room for one session only, the one just created stays open until the next create needs its slot."""
    closed: list[str] = []
    guard = SessionGuard(closed.append, limit=1)
    guard.before_create()
    guard.created("a")
    assert guard.settle() and closed == [] and guard.open_sessions() == ["a"]
    guard.before_create()
    assert closed == ["a"]


def test_the_scenarios_sessions_are_never_closed_ahead() -> None:
    closed: list[str] = []
    guard = SessionGuard(closed.append, limit=2)
    for sid in ("a", "b", "c"):
        guard.track(sid)
    assert guard.settle()
    assert closed == [] and guard.open_sessions() == ["a", "b", "c"]


def test_a_session_in_use_is_the_last_to_be_closed() -> None:
    closed: list[str] = []
    guard = SessionGuard(closed.append, limit=3)
    for sid in ("a", "b"):
        guard.before_create()
        guard.created(sid)
    guard.touch("a")  # a stateful step just used "a": "b" is now the least recently used
    guard.touch("unknown")
    guard.before_create()
    guard.created("c")
    assert guard.settle()
    assert closed == ["b"]
    assert guard.open_sessions() == ["a", "c"]


def test_a_slot_counts_until_its_close_answers() -> None:
    """A close sent ahead still holds its slot: the next create waits for its answer, then goes."""
    answer = threading.Event()
    closed: list[str] = []

    def slow_close(sid: str) -> None:
        answer.wait(5)
        closed.append(sid)

    guard = SessionGuard(slow_close, limit=2)
    for sid in ("a", "b"):
        guard.before_create()
        guard.created(sid)
    waiting = threading.Thread(target=guard.before_create)
    waiting.start()
    waiting.join(0.2)
    assert waiting.is_alive() and closed == []  # "a" may still be live at the endpoint: no room yet
    answer.set()
    waiting.join(5)
    assert not waiting.is_alive() and closed == ["a"]


def test_make_room_and_close_all_wait_for_closes_on_their_way() -> None:
    closed: list[str] = []

    def slow_close(sid: str) -> None:
        time.sleep(0.05)
        closed.append(sid)

    guard = SessionGuard(slow_close, limit=2)
    for sid in ("a", "b"):
        guard.before_create()
        guard.created(sid)
    assert guard.make_room() == 1  # "b"; "a" was on its way already
    assert sorted(closed) == ["a", "b"]
    guard.before_create()
    guard.created("c")
    guard.before_create()
    guard.created("d")
    assert guard.close_all() == ["d"]
    assert sorted(closed) == ["a", "b", "c", "d"]


def test_a_failed_create_frees_its_reservation() -> None:
    guard = SessionGuard(lambda _: None, limit=1)
    guard.before_create()
    guard.created(None)
    guard.before_create()  # would block if the first reservation were still held
    guard.request_lost()
    assert guard.open_sessions() == []


def test_concurrent_creates_never_exceed_the_limit() -> None:
    lock = threading.Lock()
    live: set[str] = set()
    peak = 0

    def close(sid: str) -> None:
        time.sleep(0.002)  # a round trip: the session holds its slot until the close answers
        with lock:
            live.discard(sid)

    guard = SessionGuard(close, limit=3)

    def worker(n: int) -> None:
        nonlocal peak
        for i in range(20):
            guard.before_create()
            with lock:
                live.add(f"{n}-{i}")
                peak = max(peak, len(live))
            time.sleep(0.001)
            guard.created(f"{n}-{i}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak <= 3
    guard.close_all()
    assert not live


def test_after_stop_late_sessions_are_closed_at_once() -> None:
    closed: list[str] = []
    guard = SessionGuard(closed.append, limit=5)
    guard.created("early")
    assert guard.close_all() == ["early"]
    guard.created("late")
    assert closed == ["early", "late"]
    assert guard.open_sessions() == []


def test_make_room_closes_everything_but_keeps_accepting() -> None:
    closed: list[str] = []
    guard = SessionGuard(closed.append, limit=5)
    guard.track("x")
    guard.track("y")
    assert guard.make_room() == 2
    guard.track("z")
    assert guard.open_sessions() == ["z"]
    assert closed == ["x", "y"]


def test_a_failing_close_does_not_stop_the_clean_up() -> None:
    closed: list[str] = []

    def close(sid: str) -> None:
        if sid == "bad":
            raise RuntimeError("boom")
        closed.append(sid)

    guard = SessionGuard(close, limit=5)
    for sid in ("bad", "good"):
        guard.track(sid)
    guard.close_all()
    assert closed == ["good"]


def test_ast_parse_is_serialized_across_threads() -> None:
    import ast

    from ivhsuite.gate.spec_cases import astlock

    astlock.install()
    locked = ast.parse
    astlock.install()
    assert ast.parse is locked and getattr(locked, "_ivhsuite_locked", False)
    errors: list[BaseException] = []

    def parse_many() -> None:
        try:
            for _ in range(200):
                ast.parse("lambda x: [y for y in range(x) if y % 2]")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=parse_many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_ast_parse_lets_one_thread_in_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the lock is for: while one thread is inside ``ast.parse``, no other enters it."""
    import ast

    from ivhsuite.gate.spec_cases import astlock

    inside, most = 0, 0
    count = threading.Lock()  # guards the counters only, never the parse
    real_parse = ast.parse

    def slow_parse(*args: Any, **kwargs: Any) -> Any:
        nonlocal inside, most
        with count:
            inside += 1
            most = max(most, inside)
        time.sleep(0.002)  # long enough for the other threads to try to get in
        with count:
            inside -= 1
        return real_parse(*args, **kwargs)  # a real tree: pytest parses source too when it reports

    monkeypatch.setattr(ast, "parse", slow_parse)  # unlocked, so install() wraps it
    astlock.install()
    barrier = threading.Barrier(4)

    def parse_many() -> None:
        barrier.wait()
        for _ in range(10):
            ast.parse("x")

    threads = [threading.Thread(target=parse_many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 1


def test_a_close_refused_as_too_frequent_is_tried_again(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A guard close given up on 100012 would leave a live session holding a slot nobody counts."""
    from ivhsuite.errors import ApiError
    from ivhsuite.gate import context
    from ivhsuite.protocol import Code

    answers = [ApiError(Code.TOO_FREQUENT), ApiError(Code.TOO_FREQUENT), None]
    sent: list[str] = []

    def close_session(session_id: str) -> None:
        sent.append(session_id)
        answer = answers.pop(0)
        if answer is not None:
            raise answer

    monkeypatch.setattr(run.closer, "close_session", close_session)
    monkeypatch.setattr(context.time, "sleep", lambda seconds: None)
    run.created("s1", guarded=False)
    run.guard.make_room()
    assert sent == ["s1", "s1", "s1"]
    assert not run.sessions.is_open("s1")
    assert run.counters.too_frequent == 2


def test_a_close_refused_otherwise_is_not_repeated(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from ivhsuite.errors import ApiError
    from ivhsuite.protocol import Code

    sent: list[str] = []

    def close_session(session_id: str) -> None:
        sent.append(session_id)
        raise ApiError(Code.BAD_PARAMETER)

    monkeypatch.setattr(run.closer, "close_session", close_session)
    run.created("s1", guarded=False)
    run.guard.make_room()
    assert sent == ["s1"]


def test_a_scenarios_pinned_session_is_never_closed_for_room_until_unpinned() -> None:
    """Beside the generated half, the scenarios' sessions count within the limit, and only generated ones make room."""
    closed: list[str] = []
    guard = SessionGuard(closed.append, limit=2)
    guard.before_create(pinned=True)
    guard.created("p", pinned=True)
    for sid in ("g1", "g2"):
        guard.before_create()
        guard.created(sid)
    assert guard.settle()
    assert closed == ["g1"] and guard.open_sessions() == ["p", "g2"]  # g1 made room, p stayed
    assert guard.make_room() == 1 and closed == ["g1", "g2"]  # a busy quota closes no pinned session
    guard.before_create()
    guard.created("g3")
    guard.unpin(["p"])  # its scenario is done (p was preempted, say): now it may make room
    guard.before_create()
    assert closed == ["g1", "g2", "p"]


def test_a_generated_create_waits_while_pinned_sessions_hold_every_slot() -> None:
    closed: list[str] = []
    guard = SessionGuard(closed.append, limit=1)
    guard.before_create(pinned=True)
    guard.created("p", pinned=True)
    went = threading.Event()

    def generated() -> None:
        guard.before_create()
        went.set()

    thread = threading.Thread(target=generated, daemon=True)
    thread.start()
    assert not went.wait(0.3)  # no room, and nothing it may close
    guard.forget("p")  # the scenario closed its session
    assert went.wait(5.0)
    thread.join(5.0)
    assert closed == []


@pytest.mark.timeout(60)
def test_a_create_waits_a_while_not_for_ever_when_scenarios_hold_every_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    """Room only a scenario can free may never come (the scenario waiting is the one holding it): CI's gate hung."""
    monkeypatch.setattr(quota_guard, "WAIT_FOR_ROOM", 0.2)
    closed: list[str] = []
    guard = SessionGuard(closed.append, limit=2)
    for sid in ("p1", "p2"):
        guard.before_create(pinned=True)
        guard.created(sid, pinned=True)
    guard.before_create(pinned=True)  # no room and nothing to close: after the wait the endpoint decides
    assert guard.expecting()
    guard.created("p3", pinned=True)
    assert guard.open_sessions() == ["p1", "p2", "p3"] and closed == []


def test_a_session_that_failed_its_cold_start_frees_its_slot(run: Any) -> None:
    """Status 4 is not live: a scenario retrying cold failures must not hold slots with sessions that are gone."""
    run.guard.before_create(pinned=True)
    run.created("cold", guarded=True, pinned=True)
    run.failed("cold")
    assert run.guard.open_sessions() == [] and not run.sessions.is_open("cold")


def test_a_session_no_slot_was_booked_for_is_closed_at_once_and_holds_a_slot_until_then() -> None:
    """A create the judge says no plausible endpoint accepts takes no slot; a broken endpoint's session of it is closed at once."""
    answer = threading.Event()
    closed: list[str] = []

    def slow_close(sid: str) -> None:
        answer.wait(5)
        closed.append(sid)

    guard = SessionGuard(slow_close, limit=1)
    assert not guard.expecting()
    guard.arrived_unbooked("broken")
    assert guard.open_sessions() == []  # never booked, never closed for room
    waiting = threading.Thread(target=guard.before_create)
    waiting.start()
    waiting.join(0.2)
    assert waiting.is_alive()  # its close has not answered: the endpoint may still count it
    answer.set()
    waiting.join(5)
    assert not waiting.is_alive() and closed == ["broken"]
    assert not guard.expecting()  # the booking was the waiting thread's


def test_expecting_is_this_threads_booked_create() -> None:
    guard = SessionGuard(lambda sid: None, limit=2)
    guard.before_create()
    assert guard.expecting()
    guard.created(None)
    assert not guard.expecting()


@pytest.mark.timeout(60)
def test_a_create_waiting_for_room_goes_at_once_when_the_run_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI's interrupted gate printed its summary, then did not exit for 120 s: a worker waited for room that a
    create interrupted between its booking and its request would never give back (one slot per 30 s wait)."""
    monkeypatch.setattr(quota_guard, "WAIT_FOR_ROOM", 1000.0)
    closed: list[str] = []
    guard = SessionGuard(closed.append, limit=1)
    interrupted = threading.Thread(target=guard.before_create)  # booked, then its thread ended: never answered
    interrupted.start()
    interrupted.join()
    went = threading.Event()
    booked: list[bool] = []

    def worker() -> None:
        guard.before_create()
        booked.append(guard.expecting())
        guard.created("late" if not booked[0] else None)  # its create still went out and made a session
        went.set()

    waiting = threading.Thread(target=worker, daemon=True)
    waiting.start()
    assert not went.wait(0.3)  # no room: it waits
    guard.close_all()  # Ctrl-C: the run closes what it opened
    assert went.wait(30.0), "the waiting create was not let go when the run stopped"
    assert booked == [False] and closed == ["late"]  # it booked no slot, and what it made was closed at once
