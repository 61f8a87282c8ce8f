"""The sessions of a run: the end-of-run sweep against a real emulator (leftovers closed, others' untouched), close-ignoring-gone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ivhsuite.client import IvhClient
from ivhsuite.config import Target
from ivhsuite.emulator import EmulatorSettings, serve_in_thread
from ivhsuite.errors import ApiError, TransportError
from ivhsuite.protocol import Code
from ivhsuite.run_sessions import RunSessions, close_ignoring_gone, live_of_run, sweep

PREFIX = "ivhload-test-"


@pytest.fixture
def target() -> Iterator[Target]:
    with serve_in_thread(EmulatorSettings(prepare_seconds=0)) as running:
        yield Target(base_url=running.base_url)


def test_sweep_closes_this_runs_sessions_only(target: Target) -> None:
    ivh = IvhClient(target)
    ours = [ivh.create_session(PREFIX + f"u{i}")["SessionId"] for i in range(3)]
    theirs = ivh.create_session("someone-else")["SessionId"]
    ivh.sessions = RunSessions()  # as if the users had lost track of them

    result = sweep(ivh, PREFIX)

    assert result.clean and sorted(result.closed) == sorted(ours)
    live = {s["SessionId"] for s in ivh.list_sessions()}
    assert live == {theirs}
    ivh.close_session(theirs)
    ivh.http.close()


def test_sweep_waits_for_owners_before_closing(target: Target) -> None:
    ivh = IvhClient(target)
    session_id = ivh.create_session(PREFIX + "slow")["SessionId"]
    waits: list[float] = []

    def owner_closes(seconds: float) -> None:
        waits.append(seconds)
        ivh.close_session(session_id)

    result = sweep(ivh, PREFIX, settle=60, sleep=owner_closes)
    assert result.clean and result.closed == [] and len(waits) == 1
    ivh.http.close()


def test_sweep_reports_when_it_cannot_list() -> None:
    with IvhClient(Target(base_url="http://127.0.0.1:9")) as ivh:
        result = sweep(ivh, PREFIX)
    assert result.left is None and not result.clean and "cannot reach" in result.error


def test_close_ignoring_gone_accepts_gone_and_warns_on_anything_else(caplog: pytest.LogCaptureFixture) -> None:
    def gone(_: str) -> None:
        raise ApiError(Code.SESSION_NOT_FOUND, "no such session")

    def refused(_: str) -> None:
        raise ApiError(Code.BAD_PARAMETER, "bad")

    def unreachable(_: str) -> None:
        raise TransportError("cannot reach")

    closed: list[str] = []
    assert close_ignoring_gone(closed.append, "s1") and closed == ["s1"]
    assert close_ignoring_gone(gone, "s2") and "s2" not in caplog.text
    assert not close_ignoring_gone(refused, "s3") and "s3" in caplog.text
    assert not close_ignoring_gone(unreachable, "s4") and "s4" in caplog.text


def test_live_of_run_keeps_the_runs_ready_and_preparing_sessions() -> None:
    listed = [
        {"SessionId": "a", "UserId": PREFIX + "1", "SessionStatus": 1},
        {"SessionId": "b", "UserId": PREFIX + "2", "SessionStatus": 3},
        {"SessionId": "c", "UserId": PREFIX + "3", "SessionStatus": 2},
        {"SessionId": "d", "UserId": "other", "SessionStatus": 1},
    ]
    assert [s["SessionId"] for s in live_of_run(listed, PREFIX)] == ["a", "b"]


def test_run_sessions_remembers_what_it_ever_created() -> None:
    sessions = RunSessions()
    sessions.track("s1", "u1")
    sessions.forget("s1")
    assert sessions.created("s1") and not sessions.is_open("s1") and sessions.open_ids() == []
