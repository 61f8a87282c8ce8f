"""The client's answer parsing and error translation, against a scripted transport."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import httpx
import pytest

from ivhsuite.client import IvhClient, new_reqid
from ivhsuite.config import Target
from ivhsuite.errors import ApiError, ConfigError, RequestTimeout, TransportError
from ivhsuite.signing import verify_signature


def scripted(handler) -> IvhClient:  # type: ignore[no-untyped-def]
    return IvhClient(Target(base_url="http://ivh.test", project_id="p"), transport=httpx.MockTransport(handler))


def test_reqids_are_32_hex() -> None:
    reqid = new_reqid()
    assert len(reqid) == 32 and int(reqid, 16) >= 0 and reqid != new_reqid()


def test_non_zero_code_raises_api_error_with_code_message_and_request_id() -> None:
    answer = {"Header": {"Code": 110018, "Message": "session does not exist", "RequestID": "rid-1"}, "Payload": {}}
    client = scripted(lambda request: httpx.Response(200, json=answer))
    with pytest.raises(ApiError) as caught:
        client.stat_session("nope")
    assert (caught.value.code, caught.value.message, caught.value.request_id) == (
        110018,
        "session does not exist",
        "rid-1",
    )
    assert caught.value.operation == "statsession"


def test_body_that_is_not_json_is_an_api_error_not_a_crash() -> None:
    client = scripted(lambda request: httpx.Response(502, text="<html>bad gateway</html>"))
    with pytest.raises(ApiError, match="HTTP 502, body is not JSON"):
        client.list_sessions()


def test_request_is_an_envelope_with_a_fresh_reqid() -> None:
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        reqid = bodies[-1]["Payload"]["ReqId"]
        return httpx.Response(200, json={"Header": {"Code": 0}, "Payload": {"ReqId": reqid, "Sessions": []}})

    assert scripted(handler).list_sessions() == []
    assert bodies[0]["Header"] == {} and bodies[0]["Payload"]["VirtualmanProjectId"] == "p"
    assert len(bodies[0]["Payload"]["ReqId"]) == 32


def test_every_call_is_signed_when_credentials_are_set() -> None:
    queries: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        queries.append(dict(parse_qsl(request.url.query.decode())))
        return httpx.Response(200, json={"Header": {"Code": 0}, "Payload": {}})

    target = Target(base_url="http://ivh.test", appkey="ak", access_token="tok")
    with IvhClient(target, transport=httpx.MockTransport(handler)) as client:
        client.start_session("s1")
    assert verify_signature(queries[0], "ak", "tok") is None


def test_timeouts_and_refused_connections_are_transport_errors() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(RequestTimeout, match="no answer from http://ivh.test"):
        scripted(timeout).stat_session("s")
    with pytest.raises(TransportError, match="cannot reach http://ivh.test"):
        scripted(refused).stat_session("s")


def test_no_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="IVH_BASE_URL"):
        IvhClient(Target())


def test_wait_until_ready_raises_when_the_session_closes_meanwhile() -> None:
    answer = {"Header": {"Code": 0}, "Payload": {"SessionStatus": 2, "ErrorCode": 110022}}
    client = scripted(lambda request: httpx.Response(200, json=answer))
    with pytest.raises(ApiError) as caught:
        client.wait_until_ready("s", timeout=1, interval=0.01)
    assert caught.value.code == 110022


def test_wait_until_ready_gives_up_at_the_deadline() -> None:
    answer = {"Header": {"Code": 0}, "Payload": {"SessionStatus": 3}}
    client = scripted(lambda request: httpx.Response(200, json=answer))
    with pytest.raises(TimeoutError, match="not ready within 0.05 s"):
        client.wait_until_ready("s", timeout=0.05, interval=0.01)
