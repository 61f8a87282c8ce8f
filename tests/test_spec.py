"""The spec lints clean, and the validators built from it enforce what the docs promise."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from ivhsuite.spec import default_spec_path, load_spec

REQID = "f2612aa810014e8997f95bda97917268"
OPERATIONS = ["createsession", "statsession", "startsession", "closesession", "listsessionofprojectid", "command"]


def create(**overrides: Any) -> dict[str, Any]:
    payload = {"ReqId": REQID, "VirtualmanProjectId": "p", "UserId": "u", "Protocol": "rtmp", "DriverType": 1}
    payload.update(overrides)
    return {"Header": {}, "Payload": payload}


def text(length: int) -> dict[str, Any]:
    data = {"Text": "x" * length}
    return {"Payload": {"ReqId": REQID, "SessionId": "s", "Command": "SEND_TEXT", "Data": data}}


def test_spec_is_valid_openapi_3_1() -> None:
    document = yaml.safe_load(default_spec_path().read_text())
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_all_six_operations_are_posts() -> None:
    spec = load_spec()
    assert sorted(spec.operation_ids) == sorted(OPERATIONS)
    for operation_id in OPERATIONS:
        assert set(spec.document["paths"][spec.operation(operation_id).path]) == {"post"}


def test_createsession_links_session_id_to_the_session_operations() -> None:
    links = load_spec().document["paths"][load_spec().operation("createsession").path]["post"]["responses"]["200"]
    targets = {link["operationId"] for link in links["links"].values()}
    assert {"statsession", "startsession", "closesession"} <= targets


def test_documented_example_request_is_valid() -> None:
    assert load_spec().operation("createsession").request.first_violation(create()) is None


def test_a_body_without_header_is_valid() -> None:
    body = create()
    del body["Header"]
    assert load_spec().operation("createsession").request.is_valid(body)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ReqId": "not-a-uuid"}, "Payload.ReqId"),
        ({"Protocol": "RTMP"}, "Payload.Protocol"),
        ({"DriverType": 2}, "Payload.DriverType"),
        ({"StreamMaxInterval": 1999}, "Payload.StreamMaxInterval"),
        ({"StreamMaxInterval": 6001}, "Payload.StreamMaxInterval"),
        ({"ProtocolOption": {"TrtcRoomId": 4294967295}}, "Payload.ProtocolOption.TrtcRoomId"),
        ({"ProtocolOption": {"CssCustomPushUrl": "http://x/y"}}, "Payload.ProtocolOption.CssCustomPushUrl"),
        ({"ProtocolOption": {"TrtcUseExternalApp": True, "TrtcAppId": "1"}}, "Payload.ProtocolOption.TrtcUserSig"),
        ({"UserId": None}, "Payload.UserId"),
    ],
    ids=lambda value: str(value) if isinstance(value, str) else None,
)
def test_violations_name_the_field(overrides: dict[str, Any], field: str) -> None:
    violation = load_spec().operation("createsession").request.first_violation(create(**overrides))
    assert violation is not None and violation.field == field


@pytest.mark.parametrize(
    "overrides",
    [
        {"StreamMaxInterval": 2000},
        {"StreamMaxInterval": 6000},
        {"Protocol": "webrtc", "DriverType": 3},
        {"ProtocolOption": {"TrtcRoomId": 4294967294}},
        {
            "ProtocolOption": {
                "TrtcUseExternalApp": True,
                "TrtcAppId": "1",
                "TrtcUserSig": "s",
                "TrtcPrivateMapKey": "k",
            }
        },
        {"ExtraInfo": {"anything": [1, 2]}, "Unknown": "extra fields are not forbidden by the docs"},
    ],
)
def test_values_just_inside_the_documented_bounds_are_valid(overrides: dict[str, Any]) -> None:
    assert load_spec().operation("createsession").request.first_violation(create(**overrides)) is None


def test_missing_required_field_is_named() -> None:
    body = create()
    del body["Payload"]["UserId"]
    violation = load_spec().operation("createsession").request.first_violation(body)
    assert violation is not None and violation.field == "Payload.UserId"


def test_text_length_bound() -> None:
    command = load_spec().operation("command").request
    assert command.is_valid(text(4000))
    assert command.first_violation(text(4001)).field == "Payload.Data.Text"


def test_response_schema_follows_the_code() -> None:
    response = load_spec().operation("createsession").response
    ok = {"Header": {"Code": 0, "Message": "", "RequestID": "1"}, "Payload": {"ReqId": REQID, "SessionId": "m"}}
    assert response.first_violation(ok).field == "Payload.SessionStatus"
    ok["Payload"]["SessionStatus"] = 3
    assert response.is_valid(ok)
    for payload in ({}, None):
        error = {"Header": {"Code": 100001, "Message": "Invalid ReqId", "RequestID": "1"}, "Payload": payload}
        assert response.is_valid(error)
    assert not response.is_valid({"Header": {"Code": 0, "Message": "", "RequestID": "1"}})


def test_documented_codes_come_from_the_spec() -> None:
    spec = load_spec()
    assert spec.error_codes[110022].startswith("closed because the same UserId")
    assert spec.environmental_codes == {100008, 100012, 100014, -101001}
    assert spec.operation("statsession").takes_session and not spec.operation("createsession").takes_session
