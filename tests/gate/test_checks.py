"""The ivh_* checks on hand-made cases and answers: what counts as accepted, refused, echoed."""

from __future__ import annotations

import datetime
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.core.transport import Response

from ivhsuite.gate.context import RunContext
from ivhsuite.gate.spec_cases import checks
from ivhsuite.gate.spec_cases.checks import BrokenPromise, expectation
from ivhsuite.spec import default_spec_path, load_spec

SPEC = load_spec()
SCHEMA = schemathesis.openapi.from_path(default_spec_path())
REQ_ID = "0123456789abcdef0123456789abcdef"
CREATE = {"ReqId": REQ_ID, "VirtualmanProjectId": "p", "UserId": "u1", "Protocol": "rtmp", "DriverType": 1}
BY_ASSET = {"ReqId": REQ_ID, "AssetVirtualmanKey": "a", "UserId": "u1", "Protocol": "trtc", "DriverType": 3}
TRTC_SIGN = {"ReqId": REQ_ID, "SessionId": "s1", "RoomId": 7, "UserId": "viewer"}


def case_of(operation: str, payload: Any) -> Any:
    op = SCHEMA[SPEC.operation(operation).path]["POST"]
    return op.Case(body={"Header": {}, "Payload": payload}, media_type="application/json")


def answer(status: int = 200, code: int = 0, payload: Any = None, content_type: str = "application/json") -> Response:
    header = {"Code": code, "Message": "m", "RequestID": "r"}
    body = {"Header": header, "Payload": {"ReqId": REQ_ID} if payload is None else payload}
    request = httpx.Request("POST", "http://h/x")
    raw = httpx.Response(status, json=body, request=request, headers={"content-type": content_type})
    raw.elapsed = datetime.timedelta(milliseconds=1)
    return Response.from_any(raw)


def raw_answer(body: bytes, content_type: str) -> Response:
    """An HTTP 200 whose body is exactly ``body``."""
    request = httpx.Request("POST", "http://h/x")
    raw = httpx.Response(200, content=body, request=request, headers={"content-type": content_type})
    raw.elapsed = datetime.timedelta(milliseconds=1)
    return Response.from_any(raw)


def promise_of(check: Any, response: Response, case: Any) -> str | None:
    try:
        check(None, response, case)
    except BrokenPromise as exc:
        return exc.promise
    return None


@pytest.fixture(autouse=True)
def _run(run: RunContext) -> None:
    """Every check reads the spec of the active run."""


def test_expectations_follow_the_body_actually_sent() -> None:
    assert expectation(case_of("createsession", CREATE)) == "accept"
    assert expectation(case_of("createsession", {**CREATE, "StreamMaxInterval": 6001})) == "reject"
    case = case_of("createsession", CREATE)
    case.method = "GET"
    assert expectation(case) == "any"


@pytest.mark.parametrize(
    ("operation", "payload", "status", "code", "broken"),
    [
        ("createsession", CREATE, 200, 0, None),
        ("createsession", CREATE, 200, 100008, None),  # quota busy is environmental
        ("createsession", CREATE, 200, 100001, "positive-accepted"),
        ("createsession", CREATE, 422, 100001, "positive-accepted"),
        ("statsession", {"ReqId": REQ_ID, "SessionId": "s"}, 200, 110018, None),  # unknown: session state
        ("statsession", {"ReqId": REQ_ID, "SessionId": "s"}, 404, 110018, None),  # as a 4xx: still fine
        ("listsessionofprojectid", {"ReqId": REQ_ID, "VirtualmanProjectId": "p"}, 200, 110018, "positive-accepted"),
        ("createsession", CREATE, 400, 0, "positive-accepted"),  # an error dressed as a success
        ("createsession", CREATE, 429, 100008, None),  # busy, whatever the status
        ("gettrtcsign", TRTC_SIGN, 200, 100001, None),  # a session not on the platform's TRTC account
        ("gettrtcsign", TRTC_SIGN, 409, 100001, None),
        ("createsessionbyasset", BY_ASSET, 200, 100001, "positive-accepted"),
    ],
    ids=[
        "ok",
        "busy",
        "refused",
        "refused-4xx",
        "unknown-session",
        "unknown-session-4xx",
        "session-code-on-list",
        "4xx-with-code-0",
        "busy-4xx",
        "trtc-sign-refused",
        "trtc-sign-refused-4xx",
        "by-asset-refused",
    ],
)
def test_positive_accepted(operation: str, payload: Any, status: int, code: int, broken: str | None) -> None:
    assert promise_of(checks.ivh_positive_accepted, answer(status, code), case_of(operation, payload)) == broken


@pytest.mark.parametrize(
    ("status", "code", "broken"),
    [(200, 0, "negative-rejected"), (200, 100001, None), (400, 0, None), (500, 0, None)],
    ids=["accepted", "code", "http-400", "5xx-is-another-check"],
)
def test_negative_rejected(status: int, code: int, broken: str | None) -> None:
    case = case_of("createsession", {**CREATE, "Protocol": "RTMP"})
    assert promise_of(checks.ivh_negative_rejected, answer(status, code), case) == broken


def test_reqid_must_be_echoed_on_success_only() -> None:
    case = case_of("closesession", {"ReqId": REQ_ID, "SessionId": "s"})
    assert promise_of(checks.ivh_reqid_echoed, answer(payload={"ReqId": REQ_ID}), case) is None
    assert promise_of(checks.ivh_reqid_echoed, answer(payload={"ReqId": "f" * 32}), case) == "reqid-echoed"
    assert promise_of(checks.ivh_reqid_echoed, answer(payload={}), case) == "reqid-echoed"
    assert promise_of(checks.ivh_reqid_echoed, answer(code=110018, payload={}), case) is None


def test_response_schema_and_content_type() -> None:
    case = case_of("createsession", CREATE)
    no_status = answer(payload={"ReqId": REQ_ID, "SessionId": "s"})
    assert promise_of(checks.ivh_response_schema, no_status, case) == "response-schema"
    good = answer(payload={"ReqId": REQ_ID, "SessionId": "s", "SessionStatus": 3})
    assert promise_of(checks.ivh_response_schema, good, case) is None
    html = answer(payload={}, content_type="text/html")
    assert promise_of(checks.ivh_json_content_type, html, case) == "json-content-type"


@pytest.mark.parametrize(
    ("content_type", "body", "broken"),
    [
        ("application/json", None, None),
        ("application/json; charset=utf-8", None, None),
        ("application/vnd.ivh+json", None, None),
        ("text/html", None, "json-content-type"),
        ("", None, "json-content-type"),
        ("application/json", b"<html>not json</html>", "json-content-type"),
        ("application/json", b"[1, 2]", "json-content-type"),
    ],
    ids=["json", "json-charset", "plus-json", "html", "none", "html-body", "not-an-object"],
)
def test_json_content_type(content_type: str, body: bytes | None, broken: str | None) -> None:
    case = case_of("createsession", CREATE)
    response = answer(content_type=content_type) if body is None else raw_answer(body, content_type)
    assert promise_of(checks.ivh_json_content_type, response, case) == broken


@pytest.mark.parametrize(("operation", "payload"), [("createsession", CREATE), ("createsessionbyasset", BY_ASSET)])
def test_css_push_withholds_play_addr(operation: str, payload: dict[str, Any]) -> None:
    css = case_of(operation, {**payload, "ProtocolOption": {"CssCustomPushUrl": "rtmp://a/b"}})
    without_addr = answer(payload={"ReqId": REQ_ID, "SessionId": "s", "SessionStatus": 1})
    with_addr = answer(payload={"ReqId": REQ_ID, "SessionId": "s", "SessionStatus": 1, "PlayStreamAddr": "rtmp://x"})
    assert promise_of(checks.ivh_css_withholds_play_addr, without_addr, css) is None
    assert promise_of(checks.ivh_css_withholds_play_addr, with_addr, css) == "css-withholds-play-addr"
    plain = case_of(operation, payload)  # no CSS push: the play address is the point
    assert promise_of(checks.ivh_css_withholds_play_addr, with_addr, plain) is None


def test_undocumented_methods_are_held_to_no_promise_but_no_5xx() -> None:
    case = case_of("statsession", {"ReqId": REQ_ID, "SessionId": "s"})
    case.method = "OPTIONS"
    cors = answer(status=204, payload={}, content_type="text/plain")
    for check in (checks.ivh_status_documented, checks.ivh_json_content_type, checks.ivh_response_schema):
        assert promise_of(check, cors, case) is None
    case.method = "POST"
    assert promise_of(checks.ivh_status_documented, answer(status=201), case) == "status-documented"
    assert promise_of(checks.ivh_status_documented, answer(status=404, code=110018), case) is None


@pytest.mark.parametrize(
    ("method", "status", "broken", "observed"),
    [
        ("POST", 500, "no-server-error", None),
        ("OPTIONS", 500, "no-server-error", None),
        ("POST", 501, "no-server-error", None),
        ("OPTIONS", 501, None, None),  # a method no one documented: not implemented is a fair answer
        ("POST", 502, None, "gateway-502"),
        ("POST", 504, None, "gateway-504"),
        ("POST", 404, None, None),
    ],
    ids=["500", "500-other-method", "501", "501-other-method", "gateway-502", "gateway-504", "4xx"],
)
def test_no_server_error(run: RunContext, method: str, status: int, broken: str | None, observed: str | None) -> None:
    case = case_of("createsession", CREATE)
    case.method = method
    assert promise_of(checks.ivh_no_server_error, answer(status, -101000), case) == broken
    assert list(run.observations) == ([observed] if observed else [])


@pytest.mark.parametrize(
    ("code", "broken"),
    [(100001, None), (-101000, "positive-accepted"), (100005, "positive-accepted")],
    ids=["bad-parameter-tolerated", "internal-error", "not-authorized"],
)
def test_a_refusal_at_an_open_edge(run: RunContext, code: int, broken: str | None) -> None:
    """An empty UserId is valid (no minLength is written): refusing it with 100001 is allowed, and noted."""
    case = case_of("createsession", {**CREATE, "UserId": ""})
    assert promise_of(checks.ivh_positive_accepted, answer(200, code), case) == broken
    assert ("refused-open-edge:createsession" in run.observations) == (broken is None)
    ordinary = case_of("createsession", CREATE)  # nothing open was touched: 100001 is a broken promise
    assert promise_of(checks.ivh_positive_accepted, answer(200, 100001), ordinary) == "positive-accepted"


def test_null_for_an_optional_field_may_be_read_as_absent(run: RunContext) -> None:
    optional_null = case_of("createsession", {**CREATE, "ProtocolOption": None})
    assert promise_of(checks.ivh_negative_rejected, answer(200, 0), optional_null) is None
    assert "null-as-absent:createsession" in run.observations
    required_null = case_of("createsession", {**CREATE, "UserId": None})  # absent would break the spec too
    assert promise_of(checks.ivh_negative_rejected, answer(200, 0), required_null) == "negative-rejected"
