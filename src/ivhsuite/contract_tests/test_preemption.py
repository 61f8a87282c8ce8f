"""A new stream with the same UserId closes the previous one (page 100388); that session reports 110022."""

from __future__ import annotations

import time

import pytest

from ivhsuite.gate.probe import Probe
from ivhsuite.protocol import GONE_CODES, LIVE_STATUSES, SessionStatus

PREEMPTED_CODES = GONE_CODES
GRACE = 10.0  # seconds the first session may take to report closed


def test_same_user_id_closes_the_previous_session(probe: Probe) -> None:
    user_id = probe.user_id("pre")
    first = probe.create(user_id)
    probe.expect(first.ok, "positive-accepted", f"createsession got {first}")
    second = probe.create(user_id, retry_busy=False)
    if second.busy:
        pytest.skip(
            f"the project's quota ({probe.run.options.quota or 'unknown'}) was full: the endpoint counts the first"
            f" session before preempting it ({second}), so preemption cannot be checked at this quota"
        )
    probe.expect(second.ok, "preemption", f"a second createsession with the same UserId got {second}")
    first_id, second_id = str(first.payload.get("SessionId")), str(second.payload.get("SessionId"))
    probe.expect(first_id != second_id, "preemption", f"both createsessions returned SessionId {first_id}")

    deadline = time.monotonic() + GRACE
    while True:
        state = probe.stat(first_id)
        if (state.ok and state.payload.get("SessionStatus") == SessionStatus.CLOSED) or state.code in PREEMPTED_CODES:
            break
        probe.expect(
            time.monotonic() < deadline,
            "preemption",
            f"the first session still answers {state}, status {state.payload.get('SessionStatus')},"
            f" {GRACE:g} s after a new session with the same UserId",
        )
        time.sleep(1.0)

    live = [s for s in probe.sessions() if s.get("UserId") == user_id and s.get("SessionStatus") in LIVE_STATUSES]
    ids = [s.get("SessionId") for s in live]
    probe.expect(len(live) <= 1, "preemption", f"{len(live)} live sessions listed for one UserId: {ids}")
    probe.expect(live, "listed", f"the live session {second_id} of UserId {user_id} is missing from the list")
    probe.expect(ids == [second_id], "preemption", f"the live session listed is {ids[0]}, not the new {second_id}")
