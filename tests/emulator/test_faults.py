"""Each fault breaks its own promise, and only that one; the faithful emulator keeps them all.

A scenario returns True when the promise holds. It builds its emulator through
``make(**settings)``, to which the test adds the faults under test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ivhsuite.emulator import FAULTS, EmulatorSettings
from ivhsuite.errors import ConfigError
from ivhsuite.signing import signed_query

from .conftest import SPEC, Api, FakeClock, code, new_req_id

Make = Callable[..., Api]


def preemption(make: Make) -> bool:
    api = make()
    first = api.session("u1")
    api.session("u1")
    stat = api.call("statsession", SessionId=first)["Payload"]
    return stat["SessionStatus"] == 2 and stat.get("ErrorCode") == 110022


def quota(make: Make) -> bool:
    api = make(quota=1)
    api.session("u1")
    return code(api.create("u2")) == 100008


def reqid_echo(make: Make) -> bool:
    req_id = new_req_id()
    return make().create(ReqId=req_id)["Payload"]["ReqId"] == req_id


def validation(make: Make) -> bool:
    api = make()
    invalid = [
        {"Protocol": "RTMP"},
        {"DriverType": 2},
        {"StreamMaxInterval": 6001},
        {"ProtocolOption": {"TrtcRoomId": 4294967295}},
    ]
    return all(code(api.create(f"u{i}", **fields)) == 100001 for i, fields in enumerate(invalid))


def inclusive_bounds(make: Make) -> bool:
    api = make()
    sid = api.started("u1")
    return code(api.create("u2", StreamMaxInterval=6000)) == 0 and code(api.send(sid, "x" * 4000)) == 0


def css_hides_play_addr(make: Make) -> bool:
    option = {"CssCustomPushUrl": "rtmp://push.example.com/live/s?txSecret=1&txTime=2"}
    return "PlayStreamAddr" not in make().create(ProtocolOption=option)["Payload"]


def external_trtc_checked(make: Make) -> bool:
    return code(make().create(ProtocolOption={"TrtcUseExternalApp": True, "TrtcAppId": "1"})) == 100001


def start_needs_ready(make: Make) -> bool:
    api = make(prepare_seconds=5.0)
    return code(api.call("startsession", SessionId=api.session())) == 110014


def command_needs_start(make: Make) -> bool:
    api = make()
    return code(api.send(api.session())) == 110016


def rate_limit(make: Make) -> bool:
    api = make()
    sid = api.started()
    api.send(sid)
    return code(api.send(sid)) == 100012


def unknown_session(make: Make) -> bool:
    return code(make().call("statsession", SessionId="no-such-session")) == 110018


def close_frees_slot(make: Make) -> bool:
    api = make(quota=1)
    sid = api.session("u1")
    api.call("closesession", SessionId=sid)
    return api.call("statsession", SessionId=sid)["Payload"]["SessionStatus"] == 2 and code(api.create("u2")) == 0


def no_5xx_on_bad_input(make: Make) -> bool:
    api = make()
    statuses = [
        api.request("POST", SPEC.operation("createsession").path, content=b"{").status_code,
        api.post("createsession", {"Protocol": "RTMP"}).status_code,
    ]
    return all(status < 500 for status in statuses)


def response_schema(make: Make) -> bool:
    return SPEC.operation("createsession").response.first_violation(make().create()) is None


def signature_enforced(make: Make) -> bool:
    api = make(appkey="k", access_token="t")
    path = SPEC.operation("listsessionofprojectid").path
    body = {"Payload": {"ReqId": new_req_id(), "VirtualmanProjectId": "ivhsuite-demo-project"}}
    unsigned = code(api.request("POST", path, json=body).json()) == 100005
    return unsigned and code(api.request("POST", f"{path}?{signed_query('k', 't')}", json=body).json()) == 0


def preemption_by_asset(make: Make) -> bool:
    api = make()
    payload = {"AssetVirtualmanKey": "a1", "UserId": "u1", "Protocol": "rtmp", "DriverType": 1}
    first = api.call("createsessionbyasset", **payload)["Payload"]["SessionId"]
    api.call("createsessionbyasset", **payload)
    return api.call("statsession", SessionId=first)["Payload"]["SessionStatus"] == 2


def list_complete(make: Make) -> bool:
    api = make()
    ids = {api.session("u1"), api.started("u2")}
    return {s["SessionId"] for s in api.live()} == ids


PROMISES: dict[str, Callable[[Make], bool]] = {
    "no-preemption": preemption,
    "no-preemption-by-asset": preemption_by_asset,
    "no-quota": quota,
    "reqid-not-echoed": reqid_echo,
    "no-validation": validation,
    "boundary-off-by-one": inclusive_bounds,
    "play-addr-with-css": css_hides_play_addr,
    "external-trtc-unchecked": external_trtc_checked,
    "start-before-ready": start_needs_ready,
    "command-before-start": command_needs_start,
    "no-rate-limit": rate_limit,
    "unknown-session-ok": unknown_session,
    "close-keeps-slot": close_frees_slot,
    "server-error-on-bad-input": no_5xx_on_bad_input,
    "wrong-schema": response_schema,
    "auth-not-enforced": signature_enforced,
    "list-omits-sessions": list_complete,
}


def _with(make_api: Make, faults: frozenset[str]) -> Make:
    def make(**settings: Any) -> Api:
        return make_api(faults=faults, **settings)

    return make


def test_every_fault_has_a_promise_and_a_description() -> None:
    # The channel's variants (channel-*) are test_channel.py's, in-process over the WebSocket.
    assert set(PROMISES) == {fault for fault in FAULTS if not fault.startswith("channel-")}
    assert all(text.endswith(".") and "\n" not in text for text in FAULTS.values())


@pytest.mark.parametrize("promise", PROMISES.values(), ids=PROMISES.keys())
def test_faithful_emulator_keeps_the_promise(make_api: Make, promise: Callable[[Make], bool]) -> None:
    assert promise(_with(make_api, frozenset()))


@pytest.mark.parametrize("fault", PROMISES, ids=PROMISES.keys())
def test_fault_breaks_its_promise(make_api: Make, fault: str) -> None:
    assert not PROMISES[fault](_with(make_api, frozenset({fault})))


@pytest.mark.parametrize("fault", PROMISES, ids=PROMISES.keys())
def test_fault_breaks_no_other_promise(make_api: Make, clock: FakeClock, fault: str) -> None:
    broken = []
    for other, promise in PROMISES.items():
        clock.advance(10)  # let rate limits of the previous scenario pass
        if other != fault and not promise(_with(make_api, frozenset({fault}))):
            broken.append(other)
    assert broken == []


def test_faults_are_off_by_default() -> None:
    assert EmulatorSettings().faults == frozenset()


def test_unknown_fault_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="status-never-ready"):
        EmulatorSettings(faults=frozenset({"status-never-ready"}))
