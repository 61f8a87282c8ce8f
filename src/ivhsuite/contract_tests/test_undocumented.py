"""Requests the docs say nothing about: a path no operation has, a SessionId outside ``[A-Za-z0-9_-]``,
a long UserId.

Any plausible answer passes (404, 405, 501 or a gateway's page for the path; a refusal or a
lookup for the id), never another 5xx, and an id no one created is never accepted. What came is
the endpoint's choice (``undocumented-method``, ``unusual-ids``), noted for ``--record-choices``.
Two requests, no session; the UserId's length limit (``user-id-max``) is learned only by a run that
records or compares choices, at the cost of a few sessions closed at once.
"""

from __future__ import annotations

import secrets

import pytest

from ivhsuite.contract import policy
from ivhsuite.gate.scenarios.scenario_client import Probe
from ivhsuite.protocol import Code

UNKNOWN_OPERATION = "ivhsuitenosuchoperation"
USER_ID_CEILING = 256  # a UserId this long accepted: no limit worth playing ("none")


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


@pytest.mark.learns_choices
def test_how_long_a_user_id_may_be(probe: Probe) -> None:
    """user-id-max (undocumented): learned, never judged, and only when the run learns the endpoint's choices.

    Creates that differ from an accepted one only by the length of a plain UserId: a 100001 is then the
    length. A UserId of :data:`USER_ID_CEILING` accepted is ``none``; otherwise the longest accepted
    length is found by halving, each accepted session closed at once (at most 9 of them).
    """
    if not probe.run.learns_choices:
        pytest.skip("learned only by a run with --record-choices or --expect-choices")
    shortest = probe.run.options.user_id_max_length  # the run's own UserIds are this long at most
    if not _accepts_user_id(probe, USER_ID_CEILING):
        low, high = shortest, USER_ID_CEILING  # low accepted (the run's own), high refused
        if not _accepts_user_id(probe, low):
            pytest.skip(f"a UserId of {low} characters was refused: the limit is below the run's own UserIds")
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if _accepts_user_id(probe, middle) else (low, middle)
        probe.run.spotter.user_id_limit(low, f"a {low}-character UserId accepted, {high} refused (100001)")
        return
    probe.run.spotter.user_id_limit(None, f"a {USER_ID_CEILING}-character UserId accepted")


def _accepts_user_id(probe: Probe, length: int) -> bool:
    """Create with a plain UserId of ``length`` characters (the run's prefix first): accepted and closed, or 100001."""
    user_id = (probe.user_id("len") + "x" * length)[:length]
    answer = probe.create(user_id)
    session_id = answer.payload.get("SessionId")
    if answer.ok and isinstance(session_id, str):
        probe.close(session_id)
        return True
    if answer.code != Code.BAD_PARAMETER:
        pytest.skip(f"user-id-max not learned: a create with a {length}-character UserId got {answer}")
    return False
