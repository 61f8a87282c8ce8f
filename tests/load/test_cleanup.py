"""The end-of-run sweep against a real emulator: leftovers are closed, others' sessions untouched."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ivhsuite.client import IvhClient
from ivhsuite.config import Target
from ivhsuite.emulator import EmulatorSettings, serve_in_thread
from ivhsuite.load.cleanup import sweep

PREFIX = "ivhload-test-"


@pytest.fixture
def target() -> Iterator[Target]:
    with serve_in_thread(EmulatorSettings(prepare_seconds=0)) as running:
        yield Target(base_url=running.base_url)


def test_sweep_closes_this_runs_sessions_only(target: Target) -> None:
    ivh = IvhClient(target)
    ours = [ivh.create_session(PREFIX + f"u{i}")["SessionId"] for i in range(3)]
    theirs = ivh.create_session("someone-else")["SessionId"]
    ivh.created.clear()  # as if the users had lost track of them

    result = sweep(target, PREFIX)

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

    result = sweep(target, PREFIX, settle=60, sleep=owner_closes)
    assert result.clean and result.closed == [] and len(waits) == 1
    ivh.http.close()


def test_sweep_reports_when_it_cannot_list() -> None:
    result = sweep(Target(base_url="http://127.0.0.1:9"), PREFIX)
    assert result.left is None and not result.clean and "cannot reach" in result.error
