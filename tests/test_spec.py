"""The spec lints clean, and the validators built from it enforce what the docs promise."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from ivhsuite.spec import default_spec_path, load_spec

REQID = "f2612aa810014e8997f95bda97917268"
OPERATIONS = [
    "createsession",
    "statsession",
    "startsession",
    "closesession",
    "listsessionofprojectid",
    "createsessionbyasset",
    "listsessionofuin",
    "listsessionofassetvk",
    "gettrtcsign",
    "command",
]


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


def test_every_operation_is_a_post() -> None:
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


# --- the fast validator (jsonschema_rs) never says "valid" where jsonschema says "invalid" ----

HEX = "0123456789abcdef0123456789abcdef"
SEEDS: dict[str, list[Any]] = {
    "request": [
        create(),
        create(
            ProtocolOption={"TrtcUseExternalApp": True, "TrtcAppId": "1", "TrtcUserSig": "s", "TrtcPrivateMapKey": "k"}
        ),
        create(StreamMaxInterval=6000, ProtocolOption={"CssCustomPushUrl": "rtmp://x/y", "TrtcRoomId": 0}),
        text(4000),
        {"Payload": {"ReqId": REQID, "SessionId": "s"}},
        {"Payload": {"ReqId": REQID, "VirtualmanProjectId": "p"}},
    ],
    "response": [
        {
            "Header": {"Code": 0, "Message": "", "RequestID": "1"},
            "Payload": {"ReqId": REQID, "SessionId": "m", "SessionStatus": 3, "PlayStreamAddr": "rtmp://a"},
        },
        {
            "Header": {"Code": 0, "Message": "", "RequestID": "1"},
            "Payload": {
                "ReqId": REQID,
                "SessionStatus": 2,
                "SpeakStatus": "TextOver",
                "IsSessionStarted": True,
                "ErrorCode": 110022,
                "ErrorMessage": "m",
            },
        },
        {
            "Header": {"Code": 0, "Message": "", "RequestID": "1"},
            "Payload": {
                "ReqId": REQID,
                "Sessions": [
                    {"UserId": "u", "SessionId": "s", "SessionStatus": 1, "DriverType": 1, "IsSessionStarted": False}
                ],
            },
        },
        {"Header": {"Code": 100001, "Message": "Invalid ReqId", "RequestID": "1"}, "Payload": {}},
    ],
}
TRICKY = st.one_of(
    st.sampled_from([HEX + "\n", HEX.upper(), HEX[:-1], "rtmp://", "RTMP://x", "", "SEND_TEXT", "x" * 4001]),
    st.sampled_from([0, 0.0, -0.0, 1, 1.0, 2, 3, 3.0, True, False, None, 2000.5, 4294967294.0, 4294967295, 10**30]),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), "\ud800", "😀" * 4000, [], {}, [1], {"a": None}]),
    st.integers(),
    st.floats(),
    st.text(max_size=40),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=6,
    ),
)
KEYS = st.sampled_from(
    [
        "Header",
        "Payload",
        "Code",
        "Message",
        "ReqId",
        "SessionId",
        "UserId",
        "Protocol",
        "DriverType",
        "ProtocolOption",
        "TrtcUseExternalApp",
        "TrtcRoomId",
        "CssCustomPushUrl",
        "StreamMaxInterval",
        "Data",
        "Text",
        "Command",
        "Sessions",
        "SessionStatus",
        "IsSessionStarted",
        "Other",
    ]
)


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> Any:
    """A seed with a few values replaced, removed or added, anywhere in the document."""
    body = copy.deepcopy(draw(st.sampled_from(SEEDS[kind])))
    for _ in range(draw(st.integers(1, 3))):
        node = body
        while isinstance(node, dict | list) and node and draw(st.booleans()):
            child = node[draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))]
            if not isinstance(child, dict | list):
                break
            node = child
        if isinstance(node, dict):
            action = draw(st.sampled_from(["set", "delete"]))
            if action == "delete" and node:
                del node[draw(st.sampled_from(list(node)))]
            else:
                node[draw((st.sampled_from(list(node)) | KEYS) if node else KEYS)] = copy.deepcopy(draw(TRICKY))
        elif isinstance(node, list) and node:
            node[draw(st.integers(0, len(node) - 1))] = copy.deepcopy(draw(TRICKY))
    return body


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_seeds_take_the_fast_path(kind: str) -> None:
    checks = [getattr(op, kind) for op in load_spec()]
    for body in SEEDS[kind]:
        verdicts = [(check._fast.is_valid(body), check._validator.is_valid(body)) for check in checks]
        assert (True, True) in verdicts and all(fast == slow for fast, slow in verdicts), body


@pytest.mark.parametrize("kind", sorted(SEEDS))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_valid_implies_valid(kind: str, data: st.DataObject) -> None:
    body = data.draw(mutated(kind))
    for op in load_spec():
        check = getattr(op, kind)
        if check._fast_says_valid(body):
            assert check._validator.is_valid(body), (op.operation_id, body)
        assert check.is_valid(body) == check._validator.is_valid(body)
        assert (check.first_violation(body) is None) == check._validator.is_valid(body)


def by_asset(**overrides: Any) -> dict[str, Any]:
    payload = {"ReqId": REQID, "AssetVirtualmanKey": "a", "UserId": "u", "Protocol": "trtc", "DriverType": 3}
    payload.update(overrides)
    return {"Header": {}, "Payload": payload}


def test_createsessionbyasset_takes_an_asset_key_instead_of_a_project() -> None:
    request = load_spec().operation("createsessionbyasset").request
    assert request.is_valid(by_asset())
    assert request.is_valid(by_asset(SpeechParam={"TimbreKey": "female_1"}, Backgrounds=[{}] * 5))
    assert not request.is_valid(by_asset(AssetVirtualmanKey=None))
    assert not request.is_valid(by_asset(Protocol="TRTC"))
    assert not request.is_valid(by_asset(Backgrounds=[{}] * 6))
    assert not request.is_valid(create())  # VirtualmanProjectId is not an asset key


def test_interrupt_without_text_is_valid() -> None:
    """The vendor's interrupt example sends Data {Interrupt: true} with no Text."""
    command = load_spec().operation("command").request
    body = {"Payload": {"ReqId": REQID, "SessionId": "s", "Command": "SEND_TEXT", "Data": {"Interrupt": True}}}
    assert command.is_valid(body)


def test_every_documented_error_code_is_in_the_table() -> None:
    codes = set(load_spec().error_codes)
    assert {-101002, -111001, -111002, -111005, 100015, 110015, 110021} <= codes
