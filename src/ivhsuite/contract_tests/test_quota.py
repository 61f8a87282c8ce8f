"""The concurrency quota (page 100406): refused past it with 100008/100014, and closing frees a slot.

The quota is the customer's purchase, not a documented number: it is checked only against
the quota the user states (``--quota``, ``IVH_QUOTA``, the config file) or the one the gate
gave the emulator it started. Without one, no session is opened to look for it. Every
session it opened is closed before the test ends.
"""

from __future__ import annotations

import time

import pytest

from ivhsuite.gate.scenarios.scenario_client import Probe
from ivhsuite.protocol import GONE_CODES, LIVE_STATUSES

FREED_WITHIN = 10.0


@pytest.mark.alone  # ivhsuite gate runs it after the generated half and every other scenario
def test_quota_refuses_one_more_and_close_frees_a_slot(probe: Probe) -> None:
    options = probe.run.options
    if not options.quota:
        pytest.skip("quota not checked: pass --quota (the project's quota is not a documented number)")
    quota = options.quota
    live_before = sum(1 for s in probe.sessions() if s.get("SessionStatus") in LIVE_STATUSES)
    ours: list[str] = []
    refused = None
    for _ in range(max(1, quota - live_before + 1)):
        answer = probe.create(retry_busy=False)
        if answer.busy:
            refused = answer
            probe.held("quota")  # refused beyond the quota
            break
        probe.expect(answer.ok, "positive-accepted", f"createsession got {answer}")
        ours.append(str(answer.payload.get("SessionId")))
    live = {str(s.get("SessionId")) for s in probe.sessions() if s.get("SessionStatus") in LIVE_STATUSES}
    if refused is None:
        # A cold session may have ended (status 4) and freed its slot while the quota was filled:
        # only sessions live together beyond the quota break the promise.
        live_ours = [session_id for session_id in ours if session_id in live]
        if len(live_ours) + live_before <= quota:
            pytest.skip(f"{len(ours) - len(live_ours)} of the sessions opened to fill the quota ended on their own (status 4)")
        probe.expect(
            False,
            "quota",
            f"{len(live_ours)} sessions live together on top of {live_before} live ones, with a stated quota of {quota}",
        )
    if not ours:
        probe.expect_no_zombies(f"the first createsession answered {refused.code if refused else None}")
        pytest.skip("the quota was already full with other callers' sessions: cannot check that closing frees one")
    still = [session_id for session_id in ours if session_id in live]  # one that ended cannot be closed
    if not still:
        pytest.skip("every session it opened ended during the check (status 4): cannot check that closing frees one")

    closed = probe.close(still[-1])
    if closed.code in GONE_CODES:  # listed live a moment ago, gone now: it ended on its own (a cold failure, status 4)
        pytest.skip(f"a session it opened ended on its own ({closed}), freeing a slot: cannot check that closing frees one")
    probe.expect(closed.ok, "lifecycle", f"closesession of a live session got {closed}")
    deadline = time.monotonic() + FREED_WITHIN
    while True:
        again = probe.create(retry_busy=False)
        if again.ok:
            probe.held("close-frees-slot")
            return
        probe.expect(again.busy, "positive-accepted", f"createsession got {again}")
        probe.expect(
            time.monotonic() < deadline,
            "close-frees-slot",
            f"createsession still answers {again.code} {FREED_WITHIN:g} s after one of the sessions was closed",
        )
        time.sleep(1.0)
