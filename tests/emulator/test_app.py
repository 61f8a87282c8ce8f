"""The emulator over HTTP (in process): envelope, validation, and every documented promise."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

import ivhsuite.emulator as emulator

from .conftest import PROJECT, SPEC, Api, FakeClock, code, new_req_id

CREATE = SPEC.operation("createsession").path

# --- envelope --------------------------------------------------------------------------


def test_success_envelope(api: Api) -> None:
    response = api.post(
        "createsession", {"VirtualmanProjectId": PROJECT, "UserId": "u", "Protocol": "rtmp", "DriverType": 1}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    header = response.json()["Header"]
    assert header["Code"] == 0 and isinstance(header["Message"], str)
    assert uuid.UUID(header["RequestID"]).version == 4


def test_request_ids_are_fresh(api: Api) -> None:
    ids = {api.create(f"u{i}")["Header"]["RequestID"] for i in range(5)}
    assert len(ids) == 5


def _payloads(api: Api) -> dict[str, dict[str, Any]]:
    sid = api.started("echo")
    return {
        "createsession": {"VirtualmanProjectId": PROJECT, "UserId": "other", "Protocol": "trtc", "DriverType": 3},
        "statsession": {"SessionId": sid},
        "startsession": {"SessionId": sid},
        "command": {"SessionId": sid, "Command": "SEND_TEXT", "Data": {"Text": "hi"}},
        "listsessionofprojectid": {"VirtualmanProjectId": PROJECT},
        "closesession": {"SessionId": sid},
        "createsessionbyasset": {"AssetVirtualmanKey": "a1", "UserId": "by-asset", "Protocol": "rtmp", "DriverType": 1},
        "listsessionofuin": {},
        "listsessionofassetvk": {"AssetVirtualmanKey": "a1"},
        "gettrtcsign": {"SessionId": api.session("trtc", Protocol="trtc"), "RoomId": 7, "UserId": "viewer"},
    }


@pytest.mark.parametrize("op_id", list(SPEC.operation_ids))
def test_every_success_echoes_req_id(api: Api, op_id: str) -> None:
    req_id = new_req_id()
    answer = api.call(op_id, **{**_payloads(api)[op_id], "ReqId": req_id})
    assert code(answer) == 0, answer
    assert answer["Payload"]["ReqId"] == req_id


def test_business_error_echoes_req_id_when_it_is_a_string(api: Api) -> None:
    req_id = new_req_id()
    answer = api.call("statsession", ReqId=req_id, SessionId="nope")
    assert (code(answer), answer["Payload"]) == (110018, {"ReqId": req_id})
    answer = api.call("statsession", ReqId=12, SessionId="nope")
    assert (code(answer), answer["Payload"]) == (100001, {})


def test_header_is_not_checked_and_extra_fields_are_fine(api: Api) -> None:
    payload = {"ReqId": new_req_id(), "SessionId": api.session(), "Extra": [1, 2]}
    for body in ({"Payload": payload}, {"Header": "anything", "Payload": payload, "More": 1}):
        assert api.request("POST", SPEC.operation("statsession").path, json=body).json()["Header"]["Code"] == 0


# --- validation ------------------------------------------------------------------------

INVALID_CREATES = {
    "protocol-uppercase": ({"Protocol": "RTMP"}, "Payload.Protocol"),
    "driver-type-2": ({"DriverType": 2}, "Payload.DriverType"),
    "interval-below": ({"StreamMaxInterval": 1999}, "Payload.StreamMaxInterval"),
    "interval-above": ({"StreamMaxInterval": 6001}, "Payload.StreamMaxInterval"),
    "room-above": ({"ProtocolOption": {"TrtcRoomId": 4294967295}}, "Payload.ProtocolOption.TrtcRoomId"),
    "room-negative": ({"ProtocolOption": {"TrtcRoomId": -1}}, "Payload.ProtocolOption.TrtcRoomId"),
    "room-0": ({"ProtocolOption": {"TrtcRoomId": 0}}, "Payload.ProtocolOption.TrtcRoomId"),  # TRTC's range: 1 up
    "room-id-type": ({"ProtocolOption": {"TrtcAutoGenRoomIdType": 2}}, "TrtcAutoGenRoomIdType"),
    "external-trtc-alone": ({"ProtocolOption": {"TrtcUseExternalApp": True}}, "Payload.ProtocolOption.Trtc"),
    "css-not-rtmp": ({"ProtocolOption": {"CssCustomPushUrl": "https://x/y"}}, "CssCustomPushUrl"),
    "req-id-dashes": ({"ReqId": str(uuid.uuid4())}, "Payload.ReqId"),
    "user-missing": ({"UserId": None}, "Payload.UserId"),
}


@pytest.mark.parametrize(("fields", "field"), INVALID_CREATES.values(), ids=INVALID_CREATES.keys())
def test_invalid_create_is_a_bad_parameter_naming_the_field(api: Api, fields: dict[str, Any], field: str) -> None:
    payload = {"VirtualmanProjectId": PROJECT, "UserId": "u", "Protocol": "rtmp", "DriverType": 1, **fields}
    answer = api.call("createsession", **{k: v for k, v in payload.items() if v is not None})
    assert code(answer) == 100001
    assert answer["Header"]["Message"].startswith("Invalid ") and field in answer["Header"]["Message"]
    assert api.store.sessions(PROJECT) == []


ON_BOUNDS = {
    "interval-2000": {"StreamMaxInterval": 2000},
    "interval-6000": {"StreamMaxInterval": 6000},
    "room-1": {"ProtocolOption": {"TrtcRoomId": 1}},
    "room-max": {"ProtocolOption": {"TrtcRoomId": 4294967294}},
    "external-trtc-complete": {
        "ProtocolOption": {
            "TrtcUseExternalApp": True,
            "TrtcAppId": "1",
            "TrtcUserSig": "s",
            "TrtcPrivateMapKey": "k",
            "TrtcStrRoomId": "room",
        }
    },
}


@pytest.mark.parametrize("fields", ON_BOUNDS.values(), ids=ON_BOUNDS.keys())
def test_values_on_documented_bounds_are_accepted(api: Api, fields: dict[str, Any]) -> None:
    assert code(api.create(**fields)) == 0


def test_text_limit(api: Api, clock: FakeClock) -> None:
    sid = api.started()
    assert code(api.send(sid, "x" * 4000)) == 0
    clock.advance(1)
    answer = api.send(sid, "x" * 4001)
    assert code(answer) == 100001 and "Payload.Data.Text" in answer["Header"]["Message"]
    assert code(api.call("command", SessionId=sid, Command="STOP", Data={"Text": "x"})) == 100001


# --- refusals before any handler -------------------------------------------------------


class Chunks:
    """A streamed body without Content-Length, re-iterable so the table can be shared."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


REFUSALS: dict[str, tuple[str, str, dict[str, Any], int]] = {
    "bad-json": ("POST", CREATE, {"content": b"{not json"}, 400),
    "not-utf8": ("POST", CREATE, {"content": b"\xff\xfe\xfa"}, 400),
    "not-object": ("POST", CREATE, {"json": [1, 2]}, 400),
    "deep-nesting": ("POST", CREATE, {"content": b"[" * 100_000}, 400),
    "unknown-path": ("POST", "/v2/ivh/nothing", {"json": {}}, 404),
    "wrong-method": ("GET", CREATE, {}, 405),
    "too-large": ("POST", CREATE, {"content": b" " * 300_000}, 413),
    "too-large-streamed": ("POST", CREATE, {"content": Chunks(*[b" " * 100_000] * 3)}, 413),
}


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), REFUSALS.values(), ids=REFUSALS.keys())
def test_unreadable_requests_get_a_json_4xx(
    make_api: Callable[..., Api], method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    response = make_api(max_body_bytes=200_000).request(method, path, **kwargs)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["Header"]["Code"] == 100001 and response.json()["Header"]["Message"]


def test_wrong_method_says_allow(api: Api) -> None:
    assert api.request("GET", CREATE).headers["allow"] == "POST"


# --- createsession ---------------------------------------------------------------------


def test_create_answers_a_play_address_named_after_the_session(api: Api) -> None:
    payload = api.create()["Payload"]
    assert payload["SessionStatus"] == 1
    assert payload["PlayStreamAddr"] == f"rtmp://liveplay.ivh.qq.com/live/{payload['SessionId']}"


def test_unknown_project_is_refused(api: Api) -> None:
    answer = api.create(VirtualmanProjectId="not-mine")
    assert code(answer) == 100001 and "VirtualmanProjectId" in answer["Header"]["Message"]


def test_saas_refuses_session_id_and_private_honours_it(make_api: Callable[..., Api]) -> None:
    answer = make_api().create(SessionId="m789")
    assert code(answer) == 100001 and "SessionId" in answer["Header"]["Message"]
    private = make_api(mode="private")
    assert private.create(SessionId="m789")["Payload"]["SessionId"] == "m789"
    assert code(private.create("u2", SessionId="m789")) == 100001


def test_cold_session_prepares_then_is_ready(make_api: Callable[..., Api], clock: FakeClock) -> None:
    api = make_api(prepare_seconds=1.0)
    payload = api.create()["Payload"]
    assert payload["SessionStatus"] == 3 and "PlayStreamAddr" in payload
    sid = payload["SessionId"]
    assert code(api.call("startsession", SessionId=sid)) == 110014
    clock.advance(1.0)
    assert api.call("statsession", SessionId=sid)["Payload"]["SessionStatus"] == 1
    assert code(api.call("startsession", SessionId=sid)) == 0


def test_custom_push_url_hides_the_play_address_everywhere(api: Api) -> None:
    option = {"CssCustomPushUrl": "rtmp://push.example.com/live/s1?txSecret=00&txTime=6F0A1B2C"}
    answer = api.create(ProtocolOption=option)
    assert code(answer) == 0 and "PlayStreamAddr" not in answer["Payload"]
    sid = answer["Payload"]["SessionId"]
    assert "PlayStreamAddr" not in api.call("statsession", SessionId=sid)["Payload"]
    assert "PlayStreamAddr" not in api.live()[0]


def test_same_user_preempts_over_http(api: Api) -> None:
    first = api.started("u1")
    second = api.session("u1")
    stat = api.call("statsession", SessionId=first)["Payload"]
    assert (stat["SessionStatus"], stat["ErrorCode"], stat["IsSessionStarted"]) == (2, 110022, True)
    assert stat["ErrorMessage"]
    assert code(api.call("startsession", SessionId=first)) == 110022
    assert code(api.send(first)) == 110022
    assert [s["SessionId"] for s in api.live()] == [second]


def test_quota_over_http(make_api: Callable[..., Api]) -> None:
    api = make_api(quota=2)
    api.session("u1")
    api.session("u2")
    assert code(api.create("u3")) == 100008
    assert code(api.create("u1")) == 0  # preemption frees the slot first


# --- the other operations --------------------------------------------------------------


def test_statsession_fields(api: Api) -> None:
    sid = api.session()
    payload = api.call("statsession", SessionId=sid)["Payload"]
    assert payload["SessionStatus"] == 1 and payload["IsSessionStarted"] is False
    assert payload["SpeakStatus"] == "TextOver" and "ErrorCode" not in payload
    api.call("startsession", SessionId=sid)
    assert api.call("statsession", SessionId=sid)["Payload"]["IsSessionStarted"] is True
    assert code(api.call("statsession", SessionId="unknown")) == 110018


def test_startsession_codes(api: Api) -> None:
    sid = api.session()
    assert code(api.call("startsession", SessionId=sid)) == 0
    assert code(api.call("startsession", SessionId=sid)) == 0
    assert code(api.call("startsession", SessionId="unknown")) == 110018
    api.call("closesession", SessionId=sid)
    assert code(api.call("startsession", SessionId=sid)) == 110013


def test_command_codes(api: Api, clock: FakeClock) -> None:
    sid = api.session()
    assert code(api.send(sid)) == 110016
    api.call("startsession", SessionId=sid)
    assert code(api.send(sid)) == 0
    assert code(api.send(sid)) == 100012
    clock.advance(1.0)
    assert code(api.send(sid)) == 0
    assert code(api.send("unknown")) == 110018
    api.call("closesession", SessionId=sid)
    assert code(api.send(sid)) == 110013


def test_closesession_frees_the_slot_and_is_idempotent(make_api: Callable[..., Api]) -> None:
    api = make_api(quota=1)
    sid = api.session("u1")
    assert code(api.call("closesession", SessionId=sid)) == 0
    assert code(api.call("closesession", SessionId=sid)) == 0
    assert api.call("statsession", SessionId=sid)["Payload"]["SessionStatus"] == 2
    assert code(api.create("u2")) == 0
    assert code(api.call("closesession", SessionId="unknown")) == 110018


def test_list_shows_only_this_projects_live_sessions(make_api: Callable[..., Api]) -> None:
    api = make_api(project_ids=(PROJECT, "other"))
    kept = api.session("u1", DriverType=3)
    api.call("closesession", SessionId=api.session("u2"))
    api.session("u3", VirtualmanProjectId="other")
    listed = api.live()
    assert [(s["SessionId"], s["UserId"], s["DriverType"], s["SessionStatus"]) for s in listed] == [(kept, "u1", 3, 1)]
    assert listed[0]["IsSessionStarted"] is False and listed[0]["PlayStreamAddr"].endswith(kept)
    answer = api.call("listsessionofprojectid", VirtualmanProjectId="unknown")
    assert code(answer) == 100001 and "VirtualmanProjectId" in answer["Header"]["Message"]


def test_idle_sessions_expire(make_api: Callable[..., Api], clock: FakeClock) -> None:
    api = make_api(idle_seconds=600, quota=1)
    sid = api.session("u1")
    clock.advance(600)
    assert api.live() == []
    assert api.call("statsession", SessionId=sid)["Payload"]["SessionStatus"] == 2
    assert code(api.create("u2")) == 0


def test_public_names_are_sorted_and_complete() -> None:
    assert emulator.__all__ == sorted(emulator.__all__)
    assert all(hasattr(emulator, name) for name in emulator.__all__)


def test_lone_surrogates_are_echoed_safely(api: Api) -> None:
    """JSON allows "\\ud800" though UTF-8 cannot encode it: answers must still be JSON, not a 500."""
    raw = '{"Payload": {"ReqId": "%s", "VirtualmanProjectId": "%s", "UserId": "\\ud800", "Protocol": "rtmp",'
    raw += ' "DriverType": 1}}'
    response = api.request("POST", CREATE, content=(raw % (new_req_id(), PROJECT)).encode())
    assert (response.status_code, code(response.json())) == (200, 0)
    assert api.live()[0]["UserId"] == "\ud800"
    stat = api.request("POST", SPEC.operation("statsession").path, content=b'{"Payload": {"SessionId": "\\udfff"}}')
    assert stat.status_code == 200 and code(stat.json()) == 100001
