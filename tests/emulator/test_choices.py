"""Each choice plays its plausible answer, and the default choices change nothing.

Answers are checked against the spec's response schema (``Api.call``), so every choice
is shown to stay inside what the docs allow.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ivhsuite.emulator import EmulatorSettings
from ivhsuite.emulator.choices import CHOICES, Choices, parse_pair
from ivhsuite.errors import ConfigError
from ivhsuite.signing import signed_query

from .conftest import PROJECT, SPEC, Api, FakeClock, code, new_req_id

Make = Callable[..., Api]
CREATE = SPEC.operation("createsession").path
STAT = SPEC.operation("statsession").path


def chose(make_api: Make, *, settings: dict[str, Any] | None = None, **choices: Any) -> Api:
    """An emulator with ``choices`` given by their user-facing names (``close_twice`` → close-twice)."""
    named = {name.replace("_", "-"): value for name, value in choices.items()}
    return make_api(choices=named, **(settings or {}))


# --- the defaults ----------------------------------------------------------------------


def test_default_choices_are_the_historical_behaviour() -> None:
    assert EmulatorSettings().choices == Choices() == Choices.parse({})
    assert Choices().changed() == {}
    assert all(Choices.parse({name: doc.default}) == Choices() for name, doc in CHOICES.items())


def test_every_choice_is_documented_in_one_line_and_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for name, doc in CHOICES.items():
        assert doc.name == name and doc.values and doc.accept and "\n" not in doc.values
        assert f"| `{name}` |" in readme


# --- parsing ---------------------------------------------------------------------------

BAD = {
    "unknown-name": ({"error-stats": "4xx"}, "unknown emulator choice 'error-stats'"),
    "bad-enum": ({"close-twice": "maybe"}, "close-twice must be one of ok | error"),
    "probability-above-1": ({"cold-failure": "1.5"}, "cold-failure must be a number from 0 to 1"),
    "length-zero": ({"user-id-max": "0"}, "user-id-max must be none or an integer from 1"),
    "length-not-int": ({"user-id-max": "3.5"}, "user-id-max"),
    "rate-bool": ({"rate-limit": True}, "rate-limit"),
}


@pytest.mark.parametrize(("pairs", "message"), BAD.values(), ids=BAD.keys())
def test_a_bad_choice_is_a_one_line_config_error(pairs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        Choices.parse(pairs)
    assert "\n" not in str(caught.value)


def test_values_from_toml_and_from_the_command_line_agree() -> None:
    typed = Choices.parse({"error-status": 404, "list-closed": True, "user-id-max": 64, "cold-failure": 0.25})
    text = Choices.parse({"error-status": "404", "list-closed": "yes", "user-id-max": "64", "cold-failure": "0.25"})
    assert typed == text
    assert text.changed() == {"error-status": "404", "list-closed": "yes", "user-id-max": "64", "cold-failure": "0.25"}


def test_parse_pair() -> None:
    assert parse_pair(" close-twice = error ") == ("close-twice", "error")
    with pytest.raises(ConfigError, match="NAME=VALUE"):
        parse_pair("close-twice")


def test_settings_take_choices_by_name_or_as_a_value() -> None:
    by_name = EmulatorSettings(choices={"session-id": "uuid"})
    assert by_name == EmulatorSettings(choices=Choices(session_id="uuid"))
    with pytest.raises(ConfigError, match="choices must be a mapping"):
        EmulatorSettings(choices=["session-id=uuid"])  # type: ignore[arg-type]


# --- error-status and error-payload ----------------------------------------------------


def _errors(api: Api, clock: FakeClock) -> dict[int, int]:
    """Each business error code the emulator answers, with the HTTP status it came with."""
    found: dict[int, int] = {}

    def note(response: Any) -> None:
        found[code(response.json())] = response.status_code

    note(
        api.post("createsession", {"VirtualmanProjectId": PROJECT, "UserId": "u", "Protocol": "RTMP", "DriverType": 1})
    )
    note(api.post("statsession", {"SessionId": "unknown"}))
    sid = api.session("u1")
    note(api.post("command", {"SessionId": sid, "Command": "SEND_TEXT", "Data": {"Text": "x"}}))  # 110016
    api.call("startsession", SessionId=sid)
    api.send(sid)
    note(api.post("command", {"SessionId": sid, "Command": "SEND_TEXT", "Data": {"Text": "x"}}))  # 100012
    note(
        api.post("createsession", {"VirtualmanProjectId": PROJECT, "UserId": "u2", "Protocol": "rtmp", "DriverType": 1})
    )
    api.call("closesession", SessionId=sid)
    note(api.post("startsession", {"SessionId": sid}))  # 110013
    return found


def test_error_status_200_is_the_default(make_api: Make, clock: FakeClock) -> None:
    assert set(_errors(make_api(quota=1), clock).values()) == {200}


def test_error_status_4xx_maps_each_code(make_api: Make, clock: FakeClock) -> None:
    api = chose(make_api, error_status="4xx", settings={"quota": 1})
    assert _errors(api, clock) == {100001: 400, 110018: 404, 110016: 409, 100012: 429, 100008: 403, 110013: 409}
    assert api.post("listsessionofprojectid", {"VirtualmanProjectId": PROJECT}).status_code == 200


def test_error_status_4xx_for_a_bad_signature_is_401(make_api: Make) -> None:
    api = chose(make_api, error_status="4xx", settings={"appkey": "k", "access_token": "t"})
    body = {"Payload": {"ReqId": new_req_id(), "SessionId": "x"}}
    response = api.request("POST", STAT, json=body)
    assert (response.status_code, code(response.json())) == (401, 100005)
    assert api.request("POST", f"{STAT}?{signed_query('k', 't')}", json=body).status_code == 404


@pytest.mark.parametrize("status", ["400", "401", "403", "404", "409", "429"])
def test_error_status_can_be_one_fixed_4xx(make_api: Make, clock: FakeClock, status: str) -> None:
    api = chose(make_api, error_status=status, settings={"quota": 1})
    assert set(_errors(api, clock).values()) == {int(status)}
    assert api.post("statsession", {"SessionId": api.session("u9")}).status_code == 200  # a success stays 200


PAYLOADS = {"reqid": lambda r: {"ReqId": r}, "empty": lambda r: {}, "absent": lambda r: None}


@pytest.mark.parametrize("choice", PAYLOADS, ids=PAYLOADS.keys())
def test_error_payload(make_api: Make, choice: str) -> None:
    api = chose(make_api, error_payload=choice)
    req_id = new_req_id()
    answer = api.call("statsession", ReqId=req_id, SessionId="unknown")
    assert code(answer) == 110018
    assert answer.get("Payload") == PAYLOADS[choice](req_id)
    refused = api.request("POST", CREATE, content=b"{")
    assert refused.json().get("Payload") == ({} if choice != "absent" else None)
    assert api.create(ReqId=req_id)["Payload"]["ReqId"] == req_id  # a success always echoes


# --- undocumented methods, unreadable bodies, content types ----------------------------

METHODS = {  # choice → (status of a wrong verb, status of an unknown path, HTML?)
    "native": (405, 404, False),
    "405": (405, 405, False),
    "501": (501, 501, False),
    "404": (404, 404, False),
    "html": (405, 404, True),
}


@pytest.mark.parametrize(("choice", "expected"), METHODS.items(), ids=METHODS.keys())
def test_undocumented_method(make_api: Make, choice: str, expected: tuple[int, int, bool]) -> None:
    api = chose(make_api, undocumented_method=choice)
    verb, path, html = expected
    wrong_verb = api.request("GET", CREATE)
    unknown = api.request("POST", "/v2/ivh/sessionmanager/sessionmanagerservice/deletesession", json={})
    assert (wrong_verb.status_code, unknown.status_code) == (verb, path)
    for response in (wrong_verb, unknown):
        kind = response.headers["content-type"]
        assert kind.startswith("text/html") if html else kind == "application/json"
        if html:
            assert f"<h1>{response.status_code} ".encode() in response.content
        else:
            assert code(response.json()) == 100001
        assert (response.headers.get("allow") == "POST") == (response.status_code == 405)


UNREADABLE = {
    "bad-json": ({"content": b"{not json"}, 400),
    "not-object": ({"json": [1]}, 400),
    "too-large": ({"content": b" " * 2048}, 413),
}


@pytest.mark.parametrize(("kwargs", "status"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_unreadable_body_as_html(make_api: Make, kwargs: dict[str, Any], status: int) -> None:
    response = chose(make_api, unreadable_body="html", settings={"max_body_bytes": 1024}).request(
        "POST", CREATE, **kwargs
    )
    assert response.status_code == status and response.headers["content-type"].startswith("text/html")
    assert f"<title>{status} ".encode() in response.content


def test_content_type_json_refuses_others_with_415(make_api: Make) -> None:
    api = chose(make_api, content_type="json")
    body = b'{"Payload": {"ReqId": "%s", "VirtualmanProjectId": "%s"}}' % (new_req_id().encode(), PROJECT.encode())
    path = SPEC.operation("listsessionofprojectid").path
    for kind in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"content-type": kind} if kind else {}
        response = api.request("POST", path, content=body, headers=headers)
        assert response.status_code == 415 and code(response.json()) == 100001
    accepted = api.request("POST", path, content=body, headers={"content-type": "application/json; charset=utf-8"})
    assert code(accepted.json()) == 0
    assert code(make_api().request("POST", path, content=body, headers={"content-type": "text/plain"}).json()) == 0


# --- edges the docs leave open ---------------------------------------------------------


def test_empty_text(make_api: Make, clock: FakeClock) -> None:
    api = make_api()
    assert code(api.send(api.started(), "")) == 0
    refusing = chose(make_api, empty_text="refuse")
    answer = refusing.send(refusing.started(), "")
    assert code(answer) == 100001 and "Payload.Data.Text" in answer["Header"]["Message"]
    clock.advance(1)
    assert code(refusing.send(refusing.started("u2"), "x")) == 0


def test_user_id_max(make_api: Make) -> None:
    assert code(make_api().create("u" * 200)) == 0
    api = chose(make_api, user_id_max=32)
    assert code(api.create("u" * 32)) == 0
    answer = api.create("u" * 33)
    assert code(answer) == 100001 and "Payload.UserId" in answer["Header"]["Message"]
    assert code(chose(make_api, user_id_max="64").create("u" * 64)) == 0


def test_unusual_ids(make_api: Make) -> None:
    unusual = "用户 1/é"
    assert code(make_api().create(unusual)) == 0
    assert code(make_api().call("statsession", SessionId="a b")) == 110018
    api = chose(make_api, unusual_ids="refuse")
    assert code(api.create(unusual)) == 100001
    assert code(api.call("statsession", SessionId="a b")) == 100001
    assert code(api.create("user_1-X")) == 0


# --- lifecycle choices -----------------------------------------------------------------


def test_close_twice_error(make_api: Make) -> None:
    api = chose(make_api, close_twice="error")
    sid = api.session()
    assert code(api.call("closesession", SessionId=sid)) == 0
    assert code(api.call("closesession", SessionId=sid)) == 110013
    assert code(api.call("closesession", SessionId="unknown")) == 110018


def test_list_closed_yes_lists_closed_sessions_without_holding_their_slot(make_api: Make) -> None:
    api = chose(make_api, list_closed="yes", settings={"quota": 1})
    closed = api.session("u1")
    api.call("closesession", SessionId=closed)
    live = api.session("u2")
    assert [(s["SessionId"], s["SessionStatus"]) for s in api.live()] == [(live, 1), (closed, 2)]
    assert code(api.create("u3")) == 100008  # the closed one holds no slot, the live one does
    assert [s["SessionId"] for s in make_api().live()] == []


def test_list_closed_keeps_a_bounded_history(make_api: Make) -> None:
    api = chose(make_api, list_closed="yes")
    for i in range(105):
        api.call("closesession", SessionId=api.session(f"u{i}"))
    assert len(api.live()) == 100


@pytest.mark.parametrize("choice", ["yes", "no"])
def test_play_addr_while_preparing(make_api: Make, clock: FakeClock, choice: str) -> None:
    api = chose(make_api, play_addr_while_preparing=choice, settings={"prepare_seconds": 5.0})
    created = api.create()["Payload"]
    sid = created["SessionId"]
    shown = {
        "create": "PlayStreamAddr" in created,
        "stat": "PlayStreamAddr" in api.call("statsession", SessionId=sid)["Payload"],
        "list": "PlayStreamAddr" in api.live()[0],
    }
    assert shown == dict.fromkeys(shown, choice == "yes")
    clock.advance(5.0)
    assert api.call("statsession", SessionId=sid)["Payload"]["PlayStreamAddr"].endswith(sid)
    assert api.live()[0]["PlayStreamAddr"].endswith(sid)


SESSION_IDS = {
    "hex": lambda sid: re.fullmatch(r"[0-9a-f]{32}", sid),
    "uuid": lambda sid: str(uuid.UUID(sid)) == sid,
    "short": lambda sid: len(sid) == 8,
    "long": lambda sid: len(sid) == 128,
}


@pytest.mark.parametrize("choice", SESSION_IDS, ids=SESSION_IDS.keys())
def test_session_id_format(make_api: Make, choice: str) -> None:
    api = chose(make_api, session_id=choice, settings={"quota": 20})
    sids = {api.session(f"u{i}") for i in range(20)}
    assert len(sids) == 20 and all(SESSION_IDS[choice](sid) for sid in sids)
    sid = sids.pop()
    assert code(api.call("startsession", SessionId=sid)) == 0
    assert code(api.call("closesession", SessionId=sid)) == 0
    assert api.call("statsession", SessionId=sid)["Payload"]["SessionStatus"] == 2


def test_short_session_ids_never_collide(make_api: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    from ivhsuite.emulator import store

    drawn = iter(["aaaaaaaa", "aaaaaaaa", "bbbbbbbb"])
    monkeypatch.setattr(store, "new_session_id", lambda style: next(drawn))
    api = chose(make_api, session_id="short")
    assert [api.session("u1"), api.session("u2")] == ["aaaaaaaa", "bbbbbbbb"]


def test_null_optional(make_api: Make) -> None:
    nulls = {"ProtocolOption": None, "StreamMaxInterval": None, "ExtraInfo": None}
    answer = make_api().create(**nulls)
    assert code(answer) == 100001
    api = chose(make_api, null_optional="absent")
    assert code(api.create(**nulls)) == 0
    assert code(api.create("u2", ProtocolOption={"TrtcRoomId": None})) == 0
    required = api.post(
        "createsession", {"VirtualmanProjectId": PROJECT, "UserId": None, "Protocol": "rtmp", "DriverType": 1}
    )
    assert code(required.json()) == 100001 and "UserId" in required.json()["Header"]["Message"]


# --- cold failures ---------------------------------------------------------------------


def test_cold_failure_ends_in_status_4_and_frees_the_slot(make_api: Make, clock: FakeClock) -> None:
    api = chose(make_api, cold_failure=1, settings={"prepare_seconds": 3.0, "quota": 1})
    sid = api.session("u1")
    assert api.call("statsession", SessionId=sid)["Payload"]["SessionStatus"] == 3
    clock.advance(3.0)
    stat = api.call("statsession", SessionId=sid)["Payload"]
    assert stat["SessionStatus"] == 4 and stat["ErrorCode"] in (-111003, -111004, -101001) and stat["ErrorMessage"]
    assert api.live() == []
    assert code(api.call("startsession", SessionId=sid)) == 110013
    assert code(api.create("u2")) == 0


def test_cold_failure_spares_warm_sessions(make_api: Make, clock: FakeClock) -> None:
    api = chose(make_api, cold_failure=1, settings={"prepare_seconds": 0.0})
    sid = api.session()
    clock.advance(10)
    assert api.call("statsession", SessionId=sid)["Payload"]["SessionStatus"] == 1


def _failure_codes(make_api: Make, clock: FakeClock, seed: int) -> list[int | None]:
    api = chose(make_api, cold_failure=0.5, settings={"prepare_seconds": 1.0, "seed": seed, "quota": 100})
    sids = [api.session(f"u{i}") for i in range(40)]
    clock.advance(1.0)
    return [api.call("statsession", SessionId=sid)["Payload"].get("ErrorCode") for sid in sids]


def test_cold_failures_replay_with_a_seed(make_api: Make, clock: FakeClock) -> None:
    first, again = _failure_codes(make_api, clock, 7), _failure_codes(make_api, clock, 7)
    assert first == again
    assert None in first and len(set(first)) > 2  # some succeed, failures vary
    assert first != _failure_codes(make_api, clock, 8)


# --- rate limit and Retry-After --------------------------------------------------------


def test_rate_limit(make_api: Make, clock: FakeClock) -> None:
    api = chose(make_api, rate_limit=10)
    codes = [code(api.call("statsession", SessionId="unknown")) for _ in range(12)]
    assert codes == [110018] * 10 + [100012] * 2
    clock.advance(0.1)
    assert [code(api.call("statsession", SessionId="x")) for _ in range(2)] == [110018, 100012]
    refused = api.post("statsession", {"SessionId": "x"})
    assert code(refused.json()) == 100012 and "retry-after" not in refused.headers


def test_rate_limit_burst_is_one_second(make_api: Make, clock: FakeClock) -> None:
    api = chose(make_api, rate_limit=10)
    api.call("statsession", SessionId="x")
    clock.advance(60)  # a minute idle refills one second's worth of tokens, no more
    answers = [code(api.call("statsession", SessionId="x")) for _ in range(12)]
    assert answers.count(110018) == 10


def test_retry_after_comes_with_every_100012(make_api: Make, clock: FakeClock) -> None:
    api = chose(make_api, rate_limit=1, retry_after=2)
    api.call("statsession", SessionId="x")
    limited = api.post("statsession", {"SessionId": "x"})
    assert (code(limited.json()), limited.headers["retry-after"]) == (100012, "2")
    clock.advance(1)
    other = api.post("statsession", {"SessionId": "x"})
    assert code(other.json()) == 110018 and "retry-after" not in other.headers
    commands = chose(make_api, retry_after=0)
    sid = commands.started()
    commands.send(sid)
    too_soon = commands.post("command", {"SessionId": sid, "Command": "SEND_TEXT", "Data": {"Text": "x"}})
    assert (code(too_soon.json()), too_soon.headers["retry-after"]) == (100012, "0")
