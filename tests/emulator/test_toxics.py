"""Network faults (toxics): each kind does what its name says, with its probability and
target; connection-level ones are checked on a real socket, the rest in process."""

from __future__ import annotations

import json
import random
import socket
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ivhsuite.emulator import EmulatorSettings, RunningEmulator, serve_in_thread
from ivhsuite.emulator.toxics import MAX_DELAY_SECONDS, Toxic
from ivhsuite.errors import ConfigError

from .conftest import PROJECT, SPEC, Api, FakeClock, code, new_req_id

Make = Callable[..., Api]
CREATE = SPEC.operation("createsession").path
CREATE_PAYLOAD = {"VirtualmanProjectId": PROJECT, "UserId": "u1", "Protocol": "rtmp", "DriverType": 1}


# What an HTTP client reports for a reset: a read error, or "disconnected" when the reset
# arrived while it was still writing the body (the kernel reports it to the write).
DROPPED = (httpx.ReadError, httpx.RemoteProtocolError)


def _create_body(user: str = "u1") -> dict[str, Any]:
    return {"Header": {}, "Payload": {"ReqId": new_req_id(), **CREATE_PAYLOAD, "UserId": user}}


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningEmulator]]:
    """``serve(*toxics, **settings)``: an emulator on a real loopback socket."""
    started: list[RunningEmulator] = []

    def start(*toxics: str, **settings: Any) -> RunningEmulator:
        started.append(serve_in_thread(EmulatorSettings(prepare_seconds=0, toxics=toxics, **settings)))
        return started[-1]

    yield start
    for running in started:
        running.stop()


def _sessions(running: RunningEmulator) -> int:
    return len(running.app.state.store.sessions(PROJECT))


# --- parsing ---------------------------------------------------------------------------


def test_from_the_command_line_and_from_a_mapping_alike() -> None:
    text = Toxic.of("latency:distribution=uniform,lower=10,upper=20,toxicity=0.5,operation=statsession")
    mapping = Toxic.of(
        {
            "kind": "latency",
            "distribution": "uniform",
            "lower": 10,
            "upper": 20,
            "toxicity": 0.5,
            "operation": "statsession",
        }
    )
    assert text == mapping
    assert text.describe() == {
        "kind": "latency",
        "toxicity": 0.5,
        "operation": "statsession",
        "when": "before",
        "distribution": "uniform",
        "latency": 0.0,
        "jitter": 0.0,
        "lower": 10.0,
        "upper": 20.0,
        "median": 0.0,
        "sigma": 0.0,
    }
    assert Toxic.of(text.describe()) == text
    assert Toxic.of({"kind": "rate_limit", "retry-after": 3}).retry_after == 3


BAD = {
    "unknown-kind": ("slow_close", "unknown fault kind 'slow_close'"),
    "foreign-attribute": ("gateway_error:median=3", "fault gateway_error takes no 'median'"),
    "toxicity-above-1": ("reset_peer:toxicity=2", "toxicity must be from 0 to 1"),
    "negative-latency": ("latency:latency=-5", "latency must be a number of 0 or more"),
    "bad-status": ("gateway_error:status=500", "status must be one of 502 | 503 | 504"),
    "bad-when": ("reset_peer:when=during", "when must be one of before | after"),
    "unknown-operation": ("latency:operation=deletesession", "unknown operation 'deletesession'"),
    "quota-elsewhere": ("quota:operation=statsession", "only applies to createsession"),
    "no-value": ("latency:latency", "KIND[:key=value,...]"),
    "uniform-upside-down": ("latency:distribution=uniform,lower=20,upper=10", "lower (20.0) is above upper"),
    "lognormal-without-median": ("latency:distribution=lognormal", "needs a median above 0"),
    "unknown-key": ({"kind": "latency", "delay": 3}, "unknown key(s) delay"),
}


@pytest.mark.parametrize(("value", "message"), BAD.values(), ids=BAD.keys())
def test_a_bad_fault_is_a_one_line_config_error(value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Toxic.of(value)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_create_only_kinds_target_createsession() -> None:
    assert Toxic.of("quota").operation == Toxic.of("slow_start").operation == "createsession"


# --- latency ---------------------------------------------------------------------------


def test_latency_distributions() -> None:
    rng = random.Random(1)
    assert Toxic.of("latency:latency=250").delay(rng) == 0.25
    jittered = [Toxic.of("latency:latency=100,jitter=20").delay(rng) for _ in range(500)]
    assert 0.08 <= min(jittered) < 0.085 and 0.115 < max(jittered) <= 0.12
    uniform = [Toxic.of("latency:distribution=uniform,lower=10,upper=30").delay(rng) for _ in range(500)]
    assert 0.01 <= min(uniform) < 0.012 and 0.028 < max(uniform) <= 0.03
    lognormal = [Toxic.of("latency:distribution=lognormal,median=200,sigma=0.5").delay(rng) for _ in range(4000)]
    assert statistics.median(lognormal) == pytest.approx(0.2, rel=0.05)
    assert max(lognormal) > 0.4  # a long tail
    assert Toxic.of("latency:latency=1e12").delay(rng) == MAX_DELAY_SECONDS
    assert Toxic.of("latency:latency=5,jitter=100").delay(random.Random(3)) >= 0


@pytest.mark.parametrize("when", ["before", "after"])
def test_latency_delays_the_answer(make_api: Make, when: str) -> None:
    api = make_api(toxics=[f"latency:latency=150,when={when}"])
    started = time.monotonic()
    assert code(api.create()) == 0
    assert time.monotonic() - started >= 0.15


@pytest.mark.parametrize(("when", "created"), [("before", 0), ("after", 1)])
def test_a_client_timeout_under_latency_may_leave_a_session_behind(
    serve: Callable[..., RunningEmulator], when: str, created: int
) -> None:
    running = serve(f"latency:latency=800,when={when}")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(running.base_url + CREATE, json=_create_body(), timeout=0.3)
    assert _sessions(running) == created  # after: the session exists although the client saw nothing


# --- connection-level faults, on a real socket -----------------------------------------


def _raw_exchange(running: RunningEmulator, body: dict[str, Any]) -> bytes:
    """Send one request on a bare socket and read until the server closes or answers."""
    host, port = running.base_url.removeprefix("http://").split(":")
    data = json.dumps(body).encode()
    head = f"POST {CREATE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(head.encode() + data)
        return sock.recv(65536)


@pytest.mark.parametrize(("when", "created"), [("before", 0), ("after", 1)])
def test_reset_peer_resets_the_connection(serve: Callable[..., RunningEmulator], when: str, created: int) -> None:
    running = serve(f"reset_peer:when={when}")
    with pytest.raises(DROPPED):
        httpx.post(running.base_url + CREATE, json=_create_body())
    with pytest.raises(ConnectionResetError):
        _raw_exchange(running, _create_body("u2"))
    assert _sessions(running) == 2 * created


def test_reset_peer_timeout_waits_first(serve: Callable[..., RunningEmulator]) -> None:
    running = serve("reset_peer:timeout=300")
    started = time.monotonic()
    with pytest.raises(ConnectionResetError):
        _raw_exchange(running, _create_body())
    assert time.monotonic() - started >= 0.3


def test_empty_response_closes_without_a_byte(serve: Callable[..., RunningEmulator]) -> None:
    running = serve("empty_response:when=after")
    assert _raw_exchange(running, _create_body()) == b""  # an orderly close (FIN), not a reset
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        httpx.post(running.base_url + CREATE, json=_create_body("u2"))
    assert _sessions(running) == 2


def test_a_dropped_connection_leaves_the_server_serving(serve: Callable[..., RunningEmulator]) -> None:
    running = serve("reset_peer:toxicity=0.5", seed=11)
    outcomes = []
    with httpx.Client(base_url=running.base_url) as client:
        for i in range(30):
            try:
                outcomes.append(code(client.post(CREATE, json=_create_body(f"u{i}")).json()))
            except DROPPED:
                outcomes.append("reset")
    assert 5 < outcomes.count("reset") < 25
    assert set(outcomes) <= {"reset", 0, 100008}  # every other request got its JSON answer


def test_in_process_a_reset_is_a_connection_reset_error(make_api: Make) -> None:
    api = make_api(toxics=["reset_peer"])
    with pytest.raises(ConnectionResetError):
        api.create()


# --- answers that are not what the client expects --------------------------------------


@pytest.mark.parametrize("style", ["truncated", "garbage", "empty"])
def test_malformed_body(make_api: Make, style: str) -> None:
    api = make_api(toxics=[f"malformed_body:style={style}"])
    response = api.post("createsession", CREATE_PAYLOAD)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    with pytest.raises(ValueError):
        json.loads(response.content)
    if style == "truncated":
        assert response.content.startswith(b'{"Header":{"Code":0')
    assert len(api.store.sessions(PROJECT)) == 1  # the emulator acted; only the answer is spoiled


@pytest.mark.parametrize("status", [502, 503, 504])
@pytest.mark.parametrize(("when", "created"), [("before", 0), ("after", 1)])
def test_gateway_error(make_api: Make, status: int, when: str, created: int) -> None:
    api = make_api(toxics=[f"gateway_error:status={status},when={when}"])
    response = api.post("createsession", CREATE_PAYLOAD)
    assert response.status_code == status and response.headers["content-type"].startswith("text/html")
    assert b"<html>" in response.content and str(status).encode() in response.content
    assert len(api.store.sessions(PROJECT)) == created


def test_slow_start(make_api: Make, clock: FakeClock) -> None:
    api = make_api(toxics=["slow_start:seconds=90"])
    created = api.create()["Payload"]
    assert created["SessionStatus"] == 3
    clock.advance(89)
    assert code(api.call("startsession", SessionId=created["SessionId"])) == 110014
    clock.advance(1)
    assert api.call("statsession", SessionId=created["SessionId"])["Payload"]["SessionStatus"] == 1


@pytest.mark.parametrize("quota_code", [100008, 100014])
def test_quota_exhaustion(make_api: Make, quota_code: int) -> None:
    api = make_api(toxics=[f"quota:code={quota_code}"])
    req_id = new_req_id()
    answer = api.create(ReqId=req_id)
    assert (code(answer), answer["Payload"]) == (quota_code, {"ReqId": req_id})
    assert api.live() == []  # listsessionofprojectid is untouched, and nothing was created


def test_rate_limit_fault_follows_the_choices(make_api: Make) -> None:
    api = make_api(toxics=["rate_limit:retry_after=4,operation=statsession"], choices={"error-status": "4xx"})
    limited = api.post("statsession", {"SessionId": "x"})
    assert (limited.status_code, code(limited.json()), limited.headers["retry-after"]) == (429, 100012, "4")
    assert code(api.create()) == 0
    assert "retry-after" not in make_api(toxics=["rate_limit"]).post("statsession", {"SessionId": "x"}).headers


# --- probability, target, seed ---------------------------------------------------------


def _hits(make_api: Make, seed: int | None, n: int = 100) -> list[bool]:
    api = make_api(toxics=["rate_limit:toxicity=0.3"], seed=seed)
    return [code(api.call("statsession", SessionId="x")) == 100012 for _ in range(n)]


def test_toxicity_is_a_probability_replayed_by_the_seed(make_api: Make) -> None:
    hits = _hits(make_api, 5)
    assert 15 <= sum(hits) <= 45
    assert hits == _hits(make_api, 5) and hits != _hits(make_api, 6)
    assert 0 < sum(_hits(make_api, None)) < 100  # unseeded: still a probability
    zero = make_api(toxics=["reset_peer:toxicity=0"])
    assert all(code(zero.call("statsession", SessionId="x")) == 110018 for _ in range(50))


def test_a_fault_with_an_operation_spares_the_others(make_api: Make) -> None:
    api = make_api(toxics=["gateway_error:operation=statsession"])
    assert api.post("statsession", {"SessionId": "x"}).status_code == 502
    assert code(api.create()) == 0 and api.live()


def test_faults_combine(make_api: Make) -> None:
    api = make_api(toxics=["latency:latency=50", "slow_start:seconds=5", "malformed_body:style=empty"])
    started = time.monotonic()
    assert api.post("createsession", CREATE_PAYLOAD).content == b""
    assert time.monotonic() - started >= 0.05
    assert api.store.sessions(PROJECT)[0].status == 3


def test_no_faults_by_default(api: Api) -> None:
    assert EmulatorSettings().toxics == () and api.app.state.toxics.toxics == ()
