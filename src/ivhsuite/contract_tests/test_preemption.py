"""A new stream with the same UserId closes the previous one (pages 100388, 106612); that session reports 110022.

The rule holds for createsession and for createsessionbyasset alike, each checked within its
own kind. Whether one kind preempts the other is undocumented (the emulator's
``preempt-across`` choice), so nothing here asserts it: a run that records or compares the
endpoint's choices learns it, at the cost of one more session.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from ivhsuite.gate.scenarios.scenario_client import Probe
from ivhsuite.protocol import COLD_FAILURE_CODES, GONE_CODES, LIVE_STATUSES, Answer, SessionStatus

PREEMPTED_CODES = GONE_CODES
GRACE = 10.0  # seconds the first session may take to report closed


def _second_closes_first(probe: Probe, *, by_asset: bool) -> tuple[str, str, str]:
    """Create twice with one UserId; the first must end. Returns (UserId, first, second SessionId).

    A first session that failed its cold start on its own (status 4, a documented cold-start
    ErrorCode) ended before the second could preempt it: that pair shows nothing, another is tried.
    """
    return probe.retry_cold(lambda: _one_pair(probe, by_asset=by_asset), "preemption not observable")


def _one_pair(probe: Probe, *, by_asset: bool) -> tuple[str, str, str]:
    operation = "createsessionbyasset" if by_asset else "createsession"
    user_id = probe.user_id("pra" if by_asset else "pre")
    first = probe.create(user_id, by_asset=by_asset)
    probe.expect(first.ok, "positive-accepted", f"{operation} got {first}")
    second = probe.create(user_id, retry_busy=False, by_asset=by_asset)
    if second.busy:
        pytest.skip(
            f"the quota ({probe.run.options.quota or 'unknown'}) was full: the endpoint counts the first"
            f" session before preempting it ({second}), so preemption cannot be checked at this quota"
        )
    probe.expect(second.ok, "preemption", f"a second {operation} with the same UserId got {second}")
    first_id, second_id = str(first.payload.get("SessionId")), str(second.payload.get("SessionId"))
    probe.expect(first_id != second_id, "preemption", f"both {operation}s returned SessionId {first_id}")

    still = _still_live_after_grace(probe, first_id, second_id)
    probe.expect(
        still is None,
        "preemption",
        f"the first session ({operation}) still answers {still}, status {still and still.payload.get('SessionStatus')},"
        f" {GRACE:g} s after a new session with the same UserId",
    )
    return user_id, first_id, second_id


def _still_live_after_grace(probe: Probe, first_id: str, second_id: str) -> Answer | None:
    """None once the first session reports closed (or preempted); its last answer when it still does not after GRACE.

    A first session that failed its cold start on its own raises ColdFailure (the second is closed).
    """
    deadline = time.monotonic() + GRACE
    while True:
        state = probe.stat(first_id)
        status = state.payload.get("SessionStatus")
        if (state.ok and status == SessionStatus.CLOSED) or state.code in PREEMPTED_CODES:
            return None
        if state.ok and status == SessionStatus.FAILED and state.payload.get("ErrorCode") in COLD_FAILURE_CODES:
            probe.close(second_id)  # the pair shows nothing; its second session's slot is freed for the next
            raise probe.cold_failure(first_id, state.payload.get("ErrorCode"))
        if time.monotonic() >= deadline:
            return state
        time.sleep(min(1.0, GRACE / 10))


def _one_live(probe: Probe, listed: list[dict[str, Any]], user_id: str, second_id: str) -> list[Any]:
    live = [s for s in listed if s.get("UserId") == user_id and s.get("SessionStatus") in LIVE_STATUSES]
    ids = [s.get("SessionId") for s in live]
    probe.expect(len(live) <= 1, "preemption", f"{len(live)} live sessions listed for one UserId: {ids}")
    probe.expect(not ids or ids == [second_id], "preemption", f"the live session listed is {ids}, not {second_id}")
    return ids


def test_same_user_id_closes_the_previous_session(probe: Probe) -> None:
    user_id, _, second_id = _second_closes_first(probe, by_asset=False)
    ids = _one_live(probe, probe.sessions(), user_id, second_id)
    probe.expect(ids, "listed", f"the live session {second_id} of UserId {user_id} is missing from the list")


def test_same_user_id_by_asset_closes_the_previous_session(probe: Probe) -> None:
    user_id, _, second_id = _second_closes_first(probe, by_asset=True)
    _one_live(probe, probe.asset_sessions("preemption"), user_id, second_id)


@pytest.mark.learns_choices
def test_whether_a_create_by_asset_closes_a_session_created_by_project(probe: Probe) -> None:
    """preempt-across (undocumented): learned, never judged, and only when the run learns the endpoint's choices.

    It costs one more paid session and, on an endpoint whose two kinds do not preempt each other,
    the whole grace: "no" cannot be told from a slow "yes" sooner.
    """
    if not probe.run.learns_choices:
        pytest.skip("learned only by a run with --record-choices or --expect-choices")

    def across() -> Answer | None:
        user_id = probe.user_id("pax")
        first = probe.create(user_id)
        probe.expect(first.ok, "positive-accepted", f"createsession got {first}")
        second = probe.create(user_id, retry_busy=False, by_asset=True)
        if second.busy:
            pytest.skip(f"the quota was full ({second}): the two kinds' preemption cannot be learned at this quota")
        probe.expect(second.ok, "positive-accepted", f"createsessionbyasset got {second}")
        return _still_live_after_grace(probe, str(first.payload.get("SessionId")), str(second.payload.get("SessionId")))

    still = probe.retry_cold(across, "preempt-across not learned")
    seen = "closed" if still is None else f"still status {still.payload.get('SessionStatus')} {GRACE:g} s"
    detail = f"a createsession's session: {seen} after a createsessionbyasset with its UserId"
    probe.run.spotter.preempt_across(closed=still is None, detail=detail)
