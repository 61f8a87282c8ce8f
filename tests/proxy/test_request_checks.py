"""The application's request alone: spec, documented bounds, signature form, secrets in the URL."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ivhsuite.proxy.request_checks import UNREADABLE, check_request, check_signature, parse_body
from ivhsuite.signing import signed_query
from ivhsuite.spec import load_spec

SPEC = load_spec()
CREATE = SPEC.operation("createsession").path
COMMAND = SPEC.operation("command").path
REQ_ID = "f2612aa810014e8997f95bda97917268"
NOW = 1_717_639_699


def rules(issues: list[tuple[str, str]]) -> list[str]:
    return [rule for rule, _ in issues]


def create_body(**payload: Any) -> dict[str, Any]:
    base = {"ReqId": REQ_ID, "VirtualmanProjectId": "p", "UserId": "u", "Protocol": "rtmp", "DriverType": 1}
    return {"Header": {}, "Payload": {**base, **payload}}


def test_a_signed_valid_request_has_no_issue() -> None:
    query = signed_query("appkey", "token", NOW, "r1").encode()
    assert check_request(SPEC, "POST", CREATE, query, create_body(), NOW + 10, signature_required=True) == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"StreamMaxInterval": 6001}, "Payload.StreamMaxInterval"),
        ({"StreamMaxInterval": 1999}, "Payload.StreamMaxInterval"),
        ({"Protocol": "RTMP"}, "Payload.Protocol"),
        ({"DriverType": 2}, "Payload.DriverType"),
        ({"ReqId": "not-a-uuid"}, "Payload.ReqId"),
        ({"ProtocolOption": {"TrtcRoomId": 4294967295}}, "Payload.ProtocolOption.TrtcRoomId"),
    ],
    ids=["interval-above", "interval-below", "protocol-case", "driver-type", "reqid", "room-id"],
)
def test_documented_bounds_and_enums(payload: dict[str, Any], field: str) -> None:
    issues = check_request(SPEC, "POST", CREATE, b"", create_body(**payload), NOW, signature_required=False)
    assert rules(issues) == ["request-schema"]
    assert issues[0][1].startswith(field)


def test_values_on_a_bound_are_fine() -> None:
    body = create_body(StreamMaxInterval=6000)
    assert check_request(SPEC, "POST", CREATE, b"", body, NOW, signature_required=False) == []
    text = {"Payload": {"ReqId": REQ_ID, "SessionId": "s", "Command": "SEND_TEXT", "Data": {"Text": "x" * 4000}}}
    assert check_request(SPEC, "POST", COMMAND, b"", text, NOW, signature_required=False) == []
    text["Payload"]["Data"]["Text"] += "x"
    assert rules(check_request(SPEC, "POST", COMMAND, b"", text, NOW, signature_required=False)) == ["request-schema"]


def test_secret_values_never_appear_in_a_violation() -> None:
    option = {"TrtcUseExternalApp": True, "TrtcAppId": "1", "TrtcUserSig": 12345678, "TrtcPrivateMapKey": "k"}
    issues = check_request(SPEC, "POST", CREATE, b"", create_body(ProtocolOption=option), NOW, False)
    assert rules(issues) == ["request-schema"]
    assert "12345678" not in issues[0][1] and "not shown" in issues[0][1]


def test_unknown_path_wrong_method_and_unreadable_body() -> None:
    assert rules(check_request(SPEC, "POST", "/v2/nothing", b"", {}, NOW, False)) == ["unknown-path"]
    issues = check_request(SPEC, "GET", CREATE, b"", create_body(), NOW, False)
    assert issues == [("request-schema", "createsession called with GET; every call is POST")]
    assert parse_body(b"{not json") is UNREADABLE
    assert check_request(SPEC, "POST", CREATE, b"", UNREADABLE, NOW, False) == [
        ("request-schema", "the body is not JSON")
    ]


def test_unsigned_calls_count_only_when_the_signature_is_required() -> None:
    assert check_signature(b"", NOW, required=False) == []
    assert rules(check_signature(b"", NOW, required=True)) == ["signature-malformed"]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda q: q.replace("%2B", "+"), "'+' is not URL-encoded"),
        (lambda q: q.replace("%2B", "%252B"), "URL-encoded twice"),
        (lambda q: q.split("&signature=")[0] + "&signature=abcd", "not the base64 of a 32-byte"),
        (lambda q: q.split("&signature=")[0], "missing signature"),
        (lambda q: q.replace("appkey=example_appkey&", ""), "missing appkey"),
        (lambda q: q.replace(f"timestamp={NOW}", "timestamp=soon"), "not a whole number"),
    ],
    ids=["raw-plus", "double-encoded", "too-short", "no-signature", "no-appkey", "bad-timestamp"],
)
def test_malformed_signatures(mutate: Any, expected: str) -> None:
    good = signed_query("example_appkey", "example_accesstoken", NOW)
    assert "%2B" in good  # the documented vector has a '+' in its signature
    issues = check_signature(mutate(good).encode(), NOW, required=True)
    assert rules(issues) == ["signature-malformed"]
    assert expected in issues[0][1]


def test_a_signature_with_unencoded_slash_is_accepted_like_the_real_service_does() -> None:
    query = signed_query("appkey", "token", NOW)
    assert check_signature(query.replace("%2F", "/").encode(), NOW, required=True) == []


@pytest.mark.parametrize("skew", [301, -301])
def test_timestamp_outside_five_minutes(skew: int) -> None:
    query = signed_query("appkey", "token", NOW + skew).encode()
    issues = check_signature(query, NOW, required=True)
    assert rules(issues) == ["timestamp-window"]
    assert ("ahead of" if skew > 0 else "behind") in issues[0][1]
    assert check_signature(signed_query("appkey", "token", NOW + 299).encode(), NOW, required=True) == []


def test_secrets_in_the_query_string_are_named_never_shown() -> None:
    query = signed_query("appkey", "token", int(time.time())) + "&accesstoken=hunter2-secret&TrtcUserSig=eJw&name=x"
    issues = check_request(SPEC, "POST", CREATE, query.encode(), create_body(), time.time(), True)
    assert rules(issues) == ["secret-in-query", "secret-in-query"]
    assert {message for _, message in issues} == {
        "the query string carries 'TrtcUserSig'",
        "the query string carries 'accesstoken'",
    }
    assert not any("hunter2" in message for _, message in issues)
