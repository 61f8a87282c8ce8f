"""``/__admin/faults``: network faults read and changed while the emulator runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ivhsuite.emulator import EmulatorSettings, serve_in_thread
from ivhsuite.emulator.admin import ADMIN_PREFIX, FAULTS_PATH

from .conftest import PROJECT, SPEC, Api, code

Make = Callable[..., Api]
LATENCY = {"kind": "latency", "latency": 5.0, "toxicity": 1.0}


def _faults(api: Api, method: str = "GET", **kwargs: Any) -> httpx.Response:
    return api.request(method, FAULTS_PATH, **kwargs)


def test_admin_paths_cannot_collide_with_the_api() -> None:
    assert not any(op.path.startswith(ADMIN_PREFIX) for op in SPEC)


def test_get_lists_the_faults_set_at_start(make_api: Make) -> None:
    api = make_api(toxics=["rate_limit:toxicity=0.5,retry_after=2"], seed=9)
    listed = _faults(api).json()
    assert listed["seed"] == 9
    assert listed["faults"] == [
        {"kind": "rate_limit", "toxicity": 0.5, "operation": None, "retry_after": 2},
    ]
    assert _faults(make_api()).json() == {"faults": [], "seed": None}


def test_post_replaces_the_list_and_takes_effect_at_once(make_api: Make) -> None:
    api = make_api(toxics=["latency:latency=1"])
    assert code(api.call("statsession", SessionId="x")) == 110018
    posted = _faults(api, "POST", json=[{"kind": "rate_limit", "operation": "statsession"}])
    assert posted.status_code == 200 and [f["kind"] for f in posted.json()["faults"]] == ["rate_limit"]
    assert code(api.call("statsession", SessionId="x")) == 100012
    assert code(api.create()) == 0
    assert [f["kind"] for f in _faults(api).json()["faults"]] == ["rate_limit"]


def test_post_with_a_seed_reseeds(make_api: Make) -> None:
    api = make_api()

    def draw() -> list[int]:
        _faults(api, "POST", json={"faults": [{"kind": "rate_limit", "toxicity": 0.5}], "seed": 3})
        return [code(api.call("statsession", SessionId="x")) for _ in range(20)]

    assert draw() == draw()
    assert _faults(api).json()["seed"] == 3


def test_post_accepts_the_command_line_form(make_api: Make) -> None:
    api = make_api()
    posted = _faults(api, "POST", json=["gateway_error:status=503,toxicity=0.25"])
    assert posted.json()["faults"] == [
        {"kind": "gateway_error", "toxicity": 0.25, "operation": None, "when": "before", "status": 503}
    ]


BAD = {
    "not-json": {"content": b"{"},
    "not-a-list": {"json": {"faults": {"kind": "latency"}}},
    "unknown-kind": {"json": [{"kind": "slow_close"}]},
    "bad-attribute": {"json": [{"kind": "latency", "latency": -1}]},
    "unknown-key": {"json": {"faults": [], "toxics": []}},
    "bad-seed": {"json": {"faults": [], "seed": "x"}},
}


@pytest.mark.parametrize("kwargs", BAD.values(), ids=BAD.keys())
def test_a_bad_post_is_a_400_and_changes_nothing(make_api: Make, kwargs: dict[str, Any]) -> None:
    api = make_api(toxics=[LATENCY])
    refused = _faults(api, "POST", **kwargs)
    assert refused.status_code == 400 and refused.json()["error"] and "\n" not in refused.json()["error"]
    assert _faults(api).json()["faults"] == [
        {
            **LATENCY,
            "operation": None,
            "when": "before",
            "distribution": "fixed",
            "jitter": 0.0,
            "lower": 0.0,
            "upper": 0.0,
            "median": 0.0,
            "sigma": 0.0,
        }
    ]


def test_delete_removes_every_fault(make_api: Make) -> None:
    api = make_api(toxics=["gateway_error"])
    assert api.post("statsession", {"SessionId": "x"}).status_code == 502
    assert _faults(api, "DELETE").json()["faults"] == []
    assert code(api.call("statsession", SessionId="x")) == 110018


def test_admin_is_spared_by_faults_and_by_the_signature(make_api: Make) -> None:
    api = make_api(toxics=["reset_peer", "gateway_error"], appkey="k", access_token="t")
    assert _faults(api).status_code == 200
    assert _faults(api, "DELETE").status_code == 200
    listed = api.post("listsessionofprojectid", {"VirtualmanProjectId": PROJECT}).json()
    assert code(listed) == 100005  # the API itself still wants a signature


def test_wrong_method_on_admin(make_api: Make) -> None:
    assert _faults(make_api(), "PUT").status_code == 405


def test_switch_a_reset_on_and_off_over_a_real_socket() -> None:
    """What a locust run in the web UI does: faults on mid-run, then off again."""
    body = {"Payload": {"ReqId": "0" * 32, "VirtualmanProjectId": PROJECT}}
    path = SPEC.operation("listsessionofprojectid").path
    with serve_in_thread(EmulatorSettings()) as running, httpx.Client(base_url=running.base_url) as client:
        assert code(client.post(path, json=body).json()) == 0
        assert client.post(FAULTS_PATH, json=[{"kind": "reset_peer"}]).status_code == 200
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            client.post(path, json=body)
        assert client.delete(FAULTS_PATH).json()["faults"] == []
        assert code(client.post(path, json=body).json()) == 0
