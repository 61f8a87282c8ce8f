"""Operations on a SessionId: an unknown one is refused, a preparing one cannot be started (page 100390)."""

from __future__ import annotations

import uuid

import pytest

from ivhsuite.gate.probe import Probe
from ivhsuite.protocol import SessionStatus

ATTEMPTS = 3


@pytest.mark.parametrize("operation", ["statsession", "startsession", "command"])
def test_unknown_session_id_refused(probe: Probe, operation: str) -> None:
    session_id = uuid.uuid4().hex  # well-formed, never created
    payload: dict[str, object] = {"SessionId": session_id}
    if operation == "command":
        payload = probe.client.text_payload(session_id, "Hello.")
    answer = probe.send(operation, payload)
    probe.expect_rejected(answer, "unknown-session", f"{operation} on SessionId {session_id}, which no one created")


def test_start_refused_while_preparing(probe: Probe) -> None:
    """Needs a session in status 3; a cache hit gives status 1 at once, so this may skip."""
    for _ in range(ATTEMPTS):
        created = probe.create()
        probe.expect(created.ok, "positive-accepted", f"createsession got {created}")
        session_id = str(created.payload.get("SessionId"))
        before = probe.stat(session_id)
        if before.payload.get("SessionStatus") != SessionStatus.PREPARING:
            probe.close(session_id)
            continue
        started = probe.start(session_id)
        if started.rejected:
            return
        probe.expect(started.status < 500, "no-server-error", f"startsession on a preparing session got {started}")
        after = probe.stat(session_id)
        probe.expect(
            after.payload.get("SessionStatus") != SessionStatus.PREPARING,
            "start-after-ready",
            f"startsession was accepted ({started}) while statsession said status 3 before and after",
        )
        probe.close(session_id)  # it became ready in between: no verdict, try again
    pytest.skip(f"no session stayed in status 3 (preparing) long enough to be started, in {ATTEMPTS} tries")
