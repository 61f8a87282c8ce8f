"""Operations on a SessionId: an unknown one is refused, a preparing one cannot be started (page 100390)."""

from __future__ import annotations

import uuid

import pytest

from ivhsuite.contract import broken
from ivhsuite.gate.scenarios.scenario_client import Probe

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
def test_start_refused_while_preparing(probe: Probe, protocol: str, request: pytest.FixtureRequest) -> None:
    """Needs a session still preparing (status 3). ``ivhsuite gate`` runs this before anything else creates, so
    its create is the run's first of the Protocol, the likeliest to be cold; any create meeting a cold session
    starts it at once (:mod:`ivhsuite.gate.cold_start`), and this reports the verdict of its Protocol."""
    verdict = probe.run.cold.claim(protocol)
    if verdict is None:
        created = probe.create(Protocol=protocol)  # a cold answer is seized inside, at once
        probe.expect(created.ok, "positive-accepted", f"createsession ({protocol}) got {created}")
        probe.close(str(created.payload.get("SessionId")))
        verdict = probe.run.cold.claim(protocol)
    if verdict is None:
        probe.run.cold.missed(protocol, request.node.nodeid)
        pytest.skip(f"no cold session observed: the {protocol} createsession was ready at once (status 1)")
    if not verdict.held:
        probe.run.coverage.note(verdict.promise, "startsession", held=False)
        reproduce = "".join(f"\nreproduce: {line}" for line in verdict.curl if line)
        raise AssertionError(broken(verdict.promise, verdict.detail) + reproduce)
    probe.run.coverage.note("start-after-ready", "startsession", held=True)


def test_closing_twice_is_answered_either_way(probe: Probe) -> None:
    """Whether closing a closed session is an error is undocumented: Code 0 or a refusal, never a 5xx.

    The answer (and whether the next listing shows the closed session) is the endpoint's choice,
    which ``--record-choices`` writes down and ``--expect-choices`` compares.
    """
    created = probe.create()
    probe.expect(created.ok, "positive-accepted", f"createsession got {created}")
    session_id = str(created.payload.get("SessionId"))
    first = probe.close(session_id)
    probe.expect(first.status < 500, "no-server-error", f"closesession of a new session got {first}")
    if not first.ok:  # it ended on its own first (a cold failure, status 4): test_lifecycle checks closing
        pytest.skip(f"the new session was no longer live to close ({first}): closing twice not observed")
    again = probe.close(session_id)
    probe.expect(again.status < 500, "no-server-error", f"closesession of a closed session got {again}")
    probe.sessions()
