"""createsessionbyasset, the account and asset listings, gettrtcsign: the emulator's answers and its choices."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ivhsuite.protocol import Code, SessionStatus

from .conftest import PROJECT, Api, code


def by_asset(api: Api, user: str, asset: str = "asset-1", **fields: Any) -> dict[str, Any]:
    payload = {"AssetVirtualmanKey": asset, "UserId": user, "Protocol": "rtmp", "DriverType": 1, **fields}
    return api.call("createsessionbyasset", **payload)


def status(api: Api, sid: str) -> int:
    return api.call("statsession", SessionId=sid)["Payload"]["SessionStatus"]


def test_any_non_empty_asset_key_creates_a_session_that_lives_like_any_other(api: Api) -> None:
    created = by_asset(api, "u1", asset="whatever-key")
    assert code(created) == 0 and created["Payload"]["SessionStatus"] in (1, 3)
    sid = created["Payload"]["SessionId"]
    assert code(api.call("startsession", SessionId=sid)) == 0
    assert code(api.send(sid)) == 0
    assert code(api.call("closesession", SessionId=sid)) == 0
    assert status(api, sid) == SessionStatus.CLOSED


def test_by_asset_sessions_are_listed_by_account_and_by_asset_not_by_project(api: Api) -> None:
    mine = by_asset(api, "u1", asset="a1")["Payload"]["SessionId"]
    other = by_asset(api, "u2", asset="a2")["Payload"]["SessionId"]
    project = api.session("u3")
    account = api.call("listsessionofuin")["Payload"]["Sessions"]
    kinds = {s["SessionId"]: (s["CreateType"], s["AssetVirtualmanKey"], s["VirtualmanProjectId"]) for s in account}
    assert kinds == {mine: (1, "a1", ""), other: (1, "a2", ""), project: (0, "", PROJECT)}
    by_key = api.call("listsessionofassetvk", AssetVirtualmanKey="a1")["Payload"]["Sessions"]
    assert [s["SessionId"] for s in by_key] == [mine]
    assert [s["SessionId"] for s in api.live()] == [project]


@pytest.mark.parametrize("choice", ["100001", "100015"])
def test_an_unknown_asset_gets_the_chosen_code(make_api: Callable[..., Api], choice: str) -> None:
    api = make_api(assets=("known",), choices={"unknown-asset": choice})
    assert code(by_asset(api, "u1", asset="known")) == 0
    assert code(by_asset(api, "u2", asset="unknown")) == int(choice)
    assert code(api.call("listsessionofassetvk", AssetVirtualmanKey="unknown")) == int(choice)
    assert code(by_asset(make_api(), "u3", asset="")) == Code.BAD_PARAMETER  # empty: unknown by default too


def test_the_same_user_id_by_asset_preempts(api: Api) -> None:
    first = by_asset(api, "u1")["Payload"]["SessionId"]
    second = by_asset(api, "u1", asset="asset-2")["Payload"]["SessionId"]
    assert status(api, first) == SessionStatus.CLOSED
    assert api.call("statsession", SessionId=first)["Payload"]["ErrorCode"] == Code.PREEMPTED
    assert status(api, second) == SessionStatus.READY


@pytest.mark.parametrize(("choice", "across"), [("yes", True), ("no", False)])
def test_preemption_across_create_kinds_follows_the_choice(
    make_api: Callable[..., Api], choice: str, across: bool
) -> None:
    api = make_api(choices={"preempt-across": choice})
    project = api.session("u1")
    asset = by_asset(api, "u1")["Payload"]["SessionId"]
    assert (status(api, project) == SessionStatus.CLOSED) is across
    again = api.session("u1")  # a project create preempts the project's own session in any case
    assert (status(api, asset) == SessionStatus.CLOSED) is across
    assert status(api, again) == SessionStatus.READY


def test_no_preemption_by_asset_fault_keeps_both(make_api: Callable[..., Api]) -> None:
    api = make_api(faults={"no-preemption-by-asset"})
    first = by_asset(api, "u1")["Payload"]["SessionId"]
    by_asset(api, "u1")
    assert status(api, first) == SessionStatus.READY


def test_by_asset_sessions_have_a_quota_of_their_own(make_api: Callable[..., Api]) -> None:
    api = make_api(quota=1)
    assert code(by_asset(api, "u1")) == 0
    assert code(by_asset(api, "u2")) == Code.OVER_CONCURRENCY_LIMIT
    assert code(api.create("u3")) == 0


def test_gettrtcsign_answers_only_for_the_platforms_own_trtc_sessions(api: Api) -> None:
    own = by_asset(api, "u1", Protocol="trtc")["Payload"]["SessionId"]
    external = api.session(
        "u2",
        Protocol="trtc",
        ProtocolOption={"TrtcUseExternalApp": True, "TrtcAppId": "1400000001", "TrtcUserSig": "s", "TrtcPrivateMapKey": "k"},
    )
    rtmp = api.session("u3")
    signed = api.call("gettrtcsign", SessionId=own, StrRoomId="room", UserId="viewer")
    assert code(signed) == 0 and signed["Payload"]["UserSig"] and signed["Payload"]["PrivateMapKey"]
    for sid in (external, rtmp):
        assert code(api.call("gettrtcsign", SessionId=sid, RoomId=1, UserId="viewer")) == Code.BAD_PARAMETER
    assert code(api.call("gettrtcsign", SessionId="nope", RoomId=1, UserId="viewer")) == Code.SESSION_NOT_FOUND


def test_an_interrupt_without_text_is_accepted(api: Api) -> None:
    sid = api.started("u1")
    answer = api.call("command", SessionId=sid, Command="SEND_TEXT", Data={"Interrupt": True})
    assert code(answer) == 0, answer


def test_empty_text_refuse_still_takes_an_interrupt(make_api: Callable[..., Api]) -> None:
    api = make_api(choices={"empty-text": "refuse"})
    sid = api.started("u1")
    assert code(api.send(sid, "")) == Code.BAD_PARAMETER
    answer = api.call("command", SessionId=sid, Command="SEND_TEXT", Data={"Text": "", "Interrupt": True})
    assert code(answer) == 0
