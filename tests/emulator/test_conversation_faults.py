"""The conversation load run's channel faults: each breaks its own promise, the faithful emulator keeps both.

In process over the WebSocket (Starlette's TestClient), like ``test_channel.py``; a promise
returns True when it holds. (``test_faults.py`` holds the HTTP variants.)
"""

from __future__ import annotations

import base64
import json
import time
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from ivhsuite.channel_spec import load_channel_spec
from ivhsuite.emulator.faults import CONVERSATION_FAULTS
from ivhsuite.protocol import Code

from .conftest import Api, new_req_id

with warnings.catch_warnings():  # starlette suggests httpx2 for its TestClient; httpx is what we have
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.timeout(60)

Make = Callable[..., Api]
CHANNEL = load_channel_spec()


def _channel_messages(
    api: Api, sid: str, commands: list[dict[str, Any]], between: Callable[[], None] = lambda: None
) -> list[dict[str, Any]]:
    """Send ``commands`` on the session's channel, call ``between``, send a text: the messages up to
    its TextStart, or up to the close (as ``{"closed": code}``)."""
    probe = new_req_id()
    seen: list[dict[str, Any]] = []
    with TestClient(api.app) as client, client.websocket_connect(f"{CHANNEL.address}?requestid={sid}") as ws:
        for body in commands:
            ws.send_json(body)
        between()
        ws.send_json(_command(sid, "SEND_TEXT", probe, Text="probe"))
        while True:
            message = ws.receive()
            if message["type"] == "websocket.close":
                return [*seen, {"closed": message["code"]}]
            seen.append(json.loads(message["text"]))
            if seen[-1]["Payload"].get("ReqId") == probe:
                return seen


def _command(sid: str, name: str, req_id: str, **data: Any) -> dict[str, Any]:
    return {"Payload": {"ReqId": req_id, "SessionId": sid, "Command": name, "Data": data}}


def channel_audio_over(make: Make) -> bool:
    api = make(channel_time_scale=0.001)
    sid = api.session("u1", DriverType=3)
    api.call("startsession", SessionId=sid)
    req_id = new_req_id()
    packet = base64.b64encode(bytes(CHANNEL.rules.audio.packet_bytes)).decode()
    audio = [
        _command(sid, "SEND_AUDIO", req_id, Audio=packet, Seq=1),
        _command(sid, "SEND_AUDIO", req_id, Audio="", Seq=2, IsFinal=True),
    ]
    seen = _channel_messages(api, sid, audio, between=lambda: time.sleep(0.05))  # the shortened play time
    return any(m.get("Payload", {}).get("SpeakStatus") == "AudioOver" for m in seen)


def channel_closed_on_preemption(make: Make) -> bool:
    api = make()
    sid = api.started("u1")
    seen = _channel_messages(
        api, sid, [_command(sid, "SEND_HEARTBEAT", new_req_id(), Text="PING")], between=lambda: api.session("u1")
    )
    if api.call("statsession", SessionId=sid)["Payload"].get("ErrorCode") != Code.PREEMPTED:
        return True  # not preempted (another fault): nothing to close
    return seen[-1:] == [{"closed": CHANNEL.refusal("session-ended").close_code}]


PROMISES: dict[str, Callable[[Make], bool]] = {
    "channel-no-audio-over": channel_audio_over,
    "channel-survives-preemption": channel_closed_on_preemption,
}


def test_every_conversation_fault_has_a_promise() -> None:
    assert set(PROMISES) == set(CONVERSATION_FAULTS)


@pytest.mark.parametrize("promise", PROMISES.values(), ids=PROMISES.keys())
def test_faithful_emulator_keeps_the_promise(make_api: Make, promise: Callable[[Make], bool]) -> None:
    assert promise(make_api)


@pytest.mark.parametrize("fault", PROMISES, ids=PROMISES.keys())
def test_fault_breaks_its_promise_and_no_other(make_api: Make, fault: str) -> None:
    def broken(**settings: Any) -> Api:
        return make_api(faults=frozenset({fault}), **settings)

    assert not PROMISES[fault](broken)
    assert all(promise(broken) for other, promise in PROMISES.items() if other != fault)
