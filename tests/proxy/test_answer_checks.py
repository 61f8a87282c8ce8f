"""The endpoint's answer alone: the gate's promises, with the gate's policy on what the docs leave open."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ivhsuite.proxy.answer_checks import check_answer
from ivhsuite.proxy.request_checks import UNREADABLE
from ivhsuite.spec import load_spec

SPEC = load_spec()
REQ_ID = "f2612aa810014e8997f95bda97917268"
JSON = "application/json"


def create_request(**payload: Any) -> dict[str, Any]:
    base = {"ReqId": REQ_ID, "VirtualmanProjectId": "p", "UserId": "u", "Protocol": "rtmp", "DriverType": 1}
    return {"Payload": {**base, **payload}}


def answer(code: int = 0, **payload: Any) -> bytes:
    header = {"Code": code, "Message": "success" if code == 0 else "no", "RequestID": "r"}
    return json.dumps({"Header": header, "Payload": payload}).encode()


def judge(op: str, sent: Any, status: int, content: bytes, content_type: str = JSON, method: str = "POST") -> Any:
    return check_answer(SPEC, SPEC.operation(op), method, sent, status, content_type, content)


def rules(verdict: Any) -> list[str]:
    return [rule for rule, _ in verdict.issues]


GOOD_CREATE = answer(ReqId=REQ_ID, SessionId="s1", SessionStatus=1, PlayStreamAddr="rtmp://x/live/s1")


def test_a_faithful_success_has_no_issue() -> None:
    verdict = judge("createsession", create_request(), 200, GOOD_CREATE)
    assert verdict.issues == [] and verdict.code == 0 and verdict.payload["SessionId"] == "s1"


@pytest.mark.parametrize(
    ("sent", "status", "content", "content_type", "expected"),
    [
        (create_request(), 500, answer(-101000), JSON, "no-server-error"),
        (create_request(), 302, b"", "text/html", "status-documented"),
        (create_request(), 200, GOOD_CREATE, "text/plain", "json-content-type"),
        (create_request(), 200, b"<html>ok</html>", "text/html", "json-content-type"),
        (create_request(), 200, answer(ReqId=REQ_ID, SessionId="s1"), JSON, "response-schema"),
        (create_request(), 200, answer(ReqId="0" * 32, SessionId="s", SessionStatus=1), JSON, "reqid-echoed"),
        (create_request(Protocol="RTMP"), 200, GOOD_CREATE, JSON, "negative-rejected"),
        (create_request(), 200, answer(-101000), JSON, "positive-accepted"),
        (create_request(), 400, b"", "text/plain", "positive-accepted"),
        (
            create_request(ProtocolOption={"CssCustomPushUrl": "rtmp://push/x?txSecret=abc&txTime=1"}),
            200,
            GOOD_CREATE,
            JSON,
            "css-withholds-play-addr",
        ),
    ],
    ids=[
        "server-error",
        "redirect",
        "content-type",
        "not-json",
        "schema",
        "reqid",
        "accepted-invalid",
        "refused-valid",
        "refused-valid-4xx",
        "css",
    ],
)
def test_each_broken_promise_is_named(sent: Any, status: int, content: bytes, content_type: str, expected: str) -> None:
    assert expected in rules(judge("createsession", sent, status, content, content_type))


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_gateway_page_is_the_network_not_the_contract(status: int) -> None:
    verdict = judge("statsession", {"Payload": {"ReqId": REQ_ID, "SessionId": "s"}}, status, b"<h1>Bad gateway</h1>")
    assert verdict.issues == [] and verdict.environmental == f"gateway {status}"


def test_a_5xx_carrying_the_api_envelope_is_a_server_error() -> None:
    verdict = judge("statsession", {"Payload": {"ReqId": REQ_ID, "SessionId": "s"}}, 503, answer(-101000))
    assert rules(verdict) == ["no-server-error"]


@pytest.mark.parametrize("code", [100008, 100014, 100012, -101001])
def test_busy_codes_are_environmental(code: int) -> None:
    verdict = judge("createsession", create_request(), 200, answer(code, ReqId=REQ_ID))
    assert verdict.issues == [] and verdict.environmental == f"code {code}"


@pytest.mark.parametrize("code", [100001, 100005])
def test_codes_the_proxy_cannot_vouch_against(code: int) -> None:
    """An unknown project, a SessionId the cloud refuses, a wrong signature: the request looks valid."""
    assert judge("createsession", create_request(), 200, answer(code, ReqId=REQ_ID)).issues == []


def test_session_state_codes_only_on_operations_naming_a_session() -> None:
    stat = {"Payload": {"ReqId": REQ_ID, "SessionId": "s"}}
    assert judge("statsession", stat, 200, answer(110018, ReqId=REQ_ID)).issues == []
    assert rules(judge("createsession", create_request(), 200, answer(110018, ReqId=REQ_ID))) == ["positive-accepted"]


def test_refusing_an_invalid_request_any_way_is_fine() -> None:
    sent = create_request(DriverType=2)
    assert judge("createsession", sent, 200, answer(100001, ReqId=REQ_ID)).issues == []
    assert judge("createsession", sent, 400, b"nope", "text/plain").issues == []
    assert rules(judge("createsession", UNREADABLE, 200, GOOD_CREATE)) == ["negative-rejected"]


def test_undocumented_methods_and_paths_only_get_the_5xx_rule() -> None:
    assert judge("createsession", create_request(), 302, b"", method="GET").issues == []
    unknown = check_answer(SPEC, None, "POST", {}, 404, "text/plain", b"")
    assert unknown.issues == []
