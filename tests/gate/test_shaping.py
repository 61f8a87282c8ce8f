from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from ivhsuite.gate.context import RunContext
from ivhsuite.gate.shaping import REQ_ID, USER_ID_ALPHABET, Shaper, css_push_url
from ivhsuite.spec import default_spec_path, load_spec

SPEC = load_spec()
PREFIX = "ivhs-00abc123-"


def shaper(mode: str = "saas", known: frozenset[str] = frozenset()) -> Shaper:
    return Shaper(SPEC, "proj-1", PREFIX, mode=mode, user_id_max_length=32, is_known_session=known.__contains__)


def create(**payload: Any) -> dict[str, Any]:
    base = {"ReqId": "f" * 32, "VirtualmanProjectId": "x", "UserId": "\u0000€u", "Protocol": "rtmp", "DriverType": 1}
    return {"Header": "junk", "Payload": {**base, **payload}, "Extra": 1}


def test_positive_create_is_realistic_and_still_valid() -> None:
    body = create(
        SessionId="s",
        ExtraInfo=[1],
        Unknown=2,
        DriverType=3.0,
        ProtocolOption={
            "TrtcRoomId": 0,
            "TrtcUserSig": "\udc00",
            "CssCustomPushUrl": "rtmp://\u0000",
            "Odd": 1,
        },
    )
    shaped = shaper().shape("createsession", body, positive=True)
    p = shaped["Payload"]
    assert set(shaped) == {"Header", "Payload"} and shaped["Header"] == {}
    assert p["VirtualmanProjectId"] == "proj-1"
    assert p["UserId"].startswith(PREFIX) and not USER_ID_ALPHABET.search(p["UserId"]) and len(p["UserId"]) <= 32
    assert REQ_ID.match(p["ReqId"]) and p["ReqId"] != "f" * 32
    assert "SessionId" not in p and "ExtraInfo" not in p and "Unknown" not in p
    assert p["DriverType"] == 3 and isinstance(p["DriverType"], int)
    option = p["ProtocolOption"]
    assert option["TrtcRoomId"] == 1 and "Odd" not in option
    assert option["CssCustomPushUrl"].startswith("rtmp://push.example.com/live/")
    assert SPEC.operation("createsession").request.is_valid(shaped)
    assert body["Payload"]["UserId"] == "\u0000€u", "the generated body is left as it was"


def test_private_mode_keeps_a_fresh_session_id() -> None:
    shaped = shaper(mode="private").shape("createsession", create(SessionId="s"), positive=True)
    assert shaped["Payload"]["SessionId"] not in ("s", "")


def test_negative_case_keeps_its_violation() -> None:
    body = create(ReqId="not-hex", StreamMaxInterval=6001)
    shaped = shaper().shape("createsession", body, positive=False)
    assert shaped["Payload"]["ReqId"] == "not-hex"
    assert shaped["Payload"]["StreamMaxInterval"] == 6001
    assert shaped["Payload"]["UserId"].startswith(PREFIX)
    assert not SPEC.operation("createsession").request.is_valid(shaped)


def test_unknown_session_ids_become_plain_ids_known_ones_stay() -> None:
    s = shaper(known=frozenset({"real-1"}))
    body = {"Payload": {"ReqId": "a" * 32, "SessionId": "\u0000weird"}}
    assert s.shape("statsession", body, positive=True)["Payload"]["SessionId"].isalnum()
    body = {"Payload": {"ReqId": "a" * 32, "SessionId": "real-1"}}
    assert s.shape("statsession", body, positive=True)["Payload"]["SessionId"] == "real-1"


@pytest.mark.parametrize("positive", [True, False])
@pytest.mark.parametrize("operation", ["closesession", "startsession", "command", "statsession"])
def test_a_scenarios_session_is_never_sent_by_the_generated_half(operation: str, positive: bool) -> None:
    """schemathesis reuses SessionIds it read in listed sessions: a scenario's own must not be closed under it."""
    s = Shaper(
        SPEC, "proj-1", PREFIX, is_known_session={"own-1"}.__contains__, is_scenario_session={"sc-1"}.__contains__
    )
    body = {"Payload": {"ReqId": "a" * 32, "SessionId": "sc-1", "Extra": None}}
    sent = s.shape(operation, body, positive=positive)["Payload"]["SessionId"]
    assert sent != "sc-1" and sent.isalnum() and len(sent) == 32
    body = {"Payload": {"ReqId": "a" * 32, "SessionId": "own-1"}}
    assert s.shape(operation, body, positive=positive)["Payload"]["SessionId"] == "own-1"


def test_a_run_tells_the_shaper_which_sessions_are_the_scenarios(run: RunContext) -> None:
    run.created("gen-1", guarded=True)
    run.created("unbooked-1", unbooked=True)
    run.created("scenario-alone-1")
    run.created("scenario-beside-1", guarded=True, pinned=True)
    body = {"Payload": {"ReqId": "a" * 32, "SessionId": ""}}
    kept = set()
    for sid in ("gen-1", "unbooked-1", "scenario-alone-1", "scenario-beside-1"):
        body["Payload"]["SessionId"] = sid
        if run.shaper.shape("closesession", body, positive=True)["Payload"]["SessionId"] == sid:
            kept.add(sid)
    assert kept == {"gen-1", "unbooked-1"}


def test_text_keeps_its_length_in_ascii() -> None:
    text = "é" * 3999 + "\U0001f600"
    body = {"Payload": {"ReqId": "a" * 32, "SessionId": "s", "Command": "SEND_TEXT", "Data": {"Text": text}}}
    shaped = shaper().shape("command", body, positive=True)["Payload"]["Data"]["Text"]
    assert len(shaped) == 4000 and shaped.isascii()


def test_css_push_url_has_the_documented_form() -> None:
    url = css_push_url("seed")
    assert url.startswith("rtmp://") and "txSecret=" in url and "txTime=" in url


@pytest.mark.parametrize("operation", [op.operation_id for op in SPEC])
def test_positive_shaping_keeps_generated_valid_bodies_valid(operation: str) -> None:
    """Whatever schemathesis draws as valid stays valid once shaped (no shaping may break a case)."""
    path = SPEC.operation(operation).path
    strategy = schemathesis.openapi.from_path(default_spec_path())[path]["POST"].as_strategy()
    check = SPEC.operation(operation).request

    @settings(max_examples=30, suppress_health_check=list(HealthCheck), deadline=None, database=None)
    @given(case=strategy)
    def shaped_stays_valid(case: Any) -> None:
        if check.is_valid(case.body):
            assert check.is_valid(shaper().shape(operation, case.body, positive=True))

    shaped_stays_valid()
