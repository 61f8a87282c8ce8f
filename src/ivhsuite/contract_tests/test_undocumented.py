"""Requests the docs say nothing about: a path no operation has, a SessionId outside ``[A-Za-z0-9_-]``.

Any plausible answer passes (404, 405, 501 or a gateway's page for the path; a refusal or a
lookup for the id), never another 5xx, and an id no one created is never accepted. What came is
the endpoint's choice (``undocumented-method``, ``unusual-ids``), noted for ``--record-choices``.
Two requests, no session.
"""

from __future__ import annotations

import secrets

from ivhsuite.contract import policy
from ivhsuite.gate.scenarios.scenario_client import Probe

UNKNOWN_OPERATION = "ivhsuitenosuchoperation"


def test_a_path_no_operation_has_gets_no_server_error(probe: Probe) -> None:
    known = probe.run.spec.operation("statsession").path
    path = f"{known.rsplit('/', 1)[0]}/{UNKNOWN_OPERATION}"
    answer = probe.post_path(path, {"SessionId": secrets.token_hex(16)})
    failed = policy.is_server_failure(answer.status, documented_method=False)
    probe.expect(not failed, "no-server-error", f"POST {path}, a path no operation has, got {answer}")


def test_an_unusual_session_id_is_refused_or_looked_up(probe: Probe) -> None:
    session_id = f"ivhs.{secrets.token_hex(6)}~unknown"  # valid for the spec: any string; never created
    answer = probe.stat(session_id)
    probe.expect_rejected(answer, "unknown-session", f"statsession on SessionId {session_id!r}, which no one created")
