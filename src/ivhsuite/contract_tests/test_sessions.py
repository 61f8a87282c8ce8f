"""Operations on a SessionId: an unknown one is refused, a preparing one cannot be started (page 100390)."""

from __future__ import annotations

import uuid

import pytest

from ivhsuite.gate.scenarios.scenario_client import Probe
from ivhsuite.protocol import SessionStatus

PROTOCOLS = ("rtmp", "trtc", "webrtc")


@pytest.mark.parametrize("operation", ["statsession", "startsession", "command"])
def test_unknown_session_id_refused(probe: Probe, operation: str) -> None:
    session_id = uuid.uuid4().hex  # well-formed, never created
    payload: dict[str, object] = {"SessionId": session_id}
    if operation == "command":
        payload = probe.client.text_payload(session_id, "Hello.")
    answer = probe.send(operation, payload)
    probe.expect_rejected(answer, "unknown-session", f"{operation} on SessionId {session_id}, which no one created")


@pytest.mark.cold_first
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_start_refused_while_preparing(probe: Probe, protocol: str) -> None:
    """Needs a session still preparing (status 3): the run's first creates, one per Protocol, are the likeliest
    to be cold, so this runs before every other scenario and starts the session the moment the create says 3."""
    created = probe.create(Protocol=protocol)
    probe.expect(created.ok, "positive-accepted", f"createsession ({protocol}) got {created}")
    session_id = str(created.payload.get("SessionId"))
    if created.payload.get("SessionStatus") != SessionStatus.PREPARING:
        probe.close(session_id)
        pytest.skip(f"no cold session observed: the {protocol} createsession was ready at once (status 1)")
    started = probe.start(session_id)
    if started.rejected:
        probe.held("start-after-ready")
        probe.close(session_id)
        return
    probe.expect(started.status < 500, "no-server-error", f"startsession on a preparing session got {started}")
    after = probe.stat(session_id)
    probe.close(session_id)
    if after.payload.get("SessionStatus") == SessionStatus.PREPARING:
        probe.expect(
            False, "start-after-ready", f"startsession was accepted ({started}) while the session was preparing"
        )
    pytest.skip(f"the {protocol} session became ready between create and start: no verdict")
