"""Signature enforcement: open without credentials, the documented signature with them."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import quote

import pytest

from ivhsuite.emulator import EmulatorSettings
from ivhsuite.errors import ConfigError
from ivhsuite.signing import sign_params, signed_query

from .conftest import PROJECT, SPEC, Api, code, new_req_id

APPKEY, TOKEN = "example_appkey", "example_accesstoken"
STAT = SPEC.operation("statsession").path


@pytest.fixture
def signed(make_api: Callable[..., Api]) -> Api:
    return make_api(appkey=APPKEY, access_token=TOKEN)


def _list(api: Api, query: str | None) -> dict:
    body = {"Payload": {"ReqId": new_req_id(), "VirtualmanProjectId": PROJECT}}
    path = SPEC.operation("listsessionofprojectid").path
    return api.request("POST", f"{path}?{query}" if query is not None else path, json=body).json()


def test_open_emulator_needs_no_signature(api: Api) -> None:
    assert code(_list(api, None)) == 0


def test_good_signature_is_accepted(signed: Api) -> None:
    assert code(_list(signed, signed_query(APPKEY, TOKEN))) == 0


def test_unencoded_plus_in_signature_is_accepted(signed: Api) -> None:
    params = sign_params(APPKEY, TOKEN)
    raw = "&".join(f"{k}={v}" for k, v in params.items())  # '+' sent as is, as some clients do
    assert code(_list(signed, raw)) == 0


def _query(**changes: str | None) -> str:
    params = sign_params(APPKEY, TOKEN)
    for key, value in changes.items():
        if value is None:
            params.pop(key)
        else:
            params[key] = value
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())


# Built at test time: a timestamp computed at collection would drift as the suite runs.
BAD: dict[str, Callable[[], str]] = {
    "no-query": lambda: "",
    "no-signature": lambda: _query(signature=None),
    "no-appkey": lambda: _query(appkey=None),
    "no-timestamp": lambda: _query(timestamp=None),
    "wrong-appkey": lambda: signed_query("other_appkey", TOKEN),
    "wrong-token": lambda: signed_query(APPKEY, "other_token"),
    "tampered-signature": lambda: _query(signature="AAAA"),
    "timestamp-not-a-number": lambda: _query(timestamp="soon"),
    "six-minutes-old": lambda: signed_query(APPKEY, TOKEN, int(time.time()) - 360),
    "six-minutes-ahead": lambda: signed_query(APPKEY, TOKEN, int(time.time()) + 360),
}


@pytest.mark.parametrize("query", BAD.values(), ids=BAD.keys())
def test_bad_signature_is_not_authorized(signed: Api, query: Callable[[], str]) -> None:
    response = signed.request("POST", f"{STAT}?{query()}", json={})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    header = response.json()["Header"]
    assert header["Code"] == 100005 and header["Message"].startswith("not authorized")


def test_four_minutes_old_is_inside_the_window(signed: Api) -> None:
    assert code(_list(signed, signed_query(APPKEY, TOKEN, int(time.time()) - 240))) == 0


def test_rejection_never_reaches_the_store(signed: Api) -> None:
    body = {
        "Payload": {
            "ReqId": new_req_id(),
            "VirtualmanProjectId": PROJECT,
            "UserId": "u",
            "Protocol": "rtmp",
            "DriverType": 1,
        }
    }
    answer = signed.request("POST", SPEC.operation("createsession").path, json=body).json()
    assert code(answer) == 100005
    assert signed.store.sessions(PROJECT) == []


def test_half_credentials_are_a_config_error() -> None:
    with pytest.raises(ConfigError):
        EmulatorSettings(appkey=APPKEY)


def test_settings_repr_hides_the_token() -> None:
    assert TOKEN not in repr(EmulatorSettings(appkey=APPKEY, access_token=TOKEN))
