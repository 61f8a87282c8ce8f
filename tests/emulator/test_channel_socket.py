"""A plain WebSocket client of its own (``websockets``, not the suite's client) speaking text and
paced audio to ``ivhsuite emulate`` on a real port, signed: what a newcomer's app does.

The pacing follows the document's rules (head start, then one packet an interval); time is
shortened through ``--channel-time-scale``, and nothing asserts wall-clock speed.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from ivhsuite.channel_spec import load_channel_spec
from ivhsuite.cli.commands.emulate import ENV_FAULTS
from ivhsuite.config import DEFAULT_PROJECT_ID
from ivhsuite.signing import encode_query, sign_params, signed_query
from ivhsuite.spec import load_spec

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

APPKEY, TOKEN = "app-key", "tok-secret"
CHANNEL = load_channel_spec()
AUDIO = CHANNEL.rules.audio


@pytest.fixture
def emulator() -> Iterator[str]:
    argv = [sys.executable, "-m", "ivhsuite.cli", "emulate", "--port", "0", "--appkey", APPKEY]
    argv += ["--access-token", TOKEN, "--prepare-seconds", "0", "--channel-time-scale", "0.02"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop(ENV_FAULTS, None)
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as proc:
        try:
            line = proc.stdout.readline() if proc.stdout else ""
            yield line.split(" on ", 1)[1].split(" ", 1)[0]
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=10)
            assert "Traceback" not in err, err
        finally:
            if proc.poll() is None:
                proc.kill()


def call(base: str, operation: str, **payload: Any) -> dict[str, Any]:
    url = f"{base}{load_spec().operation(operation).path}?{signed_query(APPKEY, TOKEN)}"
    answer = httpx.post(url, json={"Payload": {"ReqId": uuid.uuid4().hex, **payload}}).json()
    assert answer["Header"]["Code"] == 0, answer
    return answer["Payload"]


def command(sid: str, name: str, req_id: str, **data: Any) -> str:
    return json.dumps({"Payload": {"ReqId": req_id, "SessionId": sid, "Command": name, "Data": data}})


def wait_for(ws: Any, status: str, req_id: str) -> dict[str, Any]:
    while True:
        message = json.loads(ws.recv(timeout=10))
        assert CHANNEL.downstream_violation(message) is None, message
        assert message["Header"]["Code"] == 0, message
        if (message["Payload"]["SpeakStatus"], message["Payload"].get("ReqId")) == (status, req_id):
            return message["Payload"]


def test_plain_client_speaks_text_and_paced_audio(emulator: str) -> None:
    sid = call(emulator, "createsession", VirtualmanProjectId=DEFAULT_PROJECT_ID, UserId="newcomer", Protocol="webrtc", DriverType=3)[
        "SessionId"
    ]
    try:
        call(emulator, "startsession", SessionId=sid)
        query = encode_query(sign_params(APPKEY, TOKEN, requestid=sid))
        ws_url = emulator.replace("http://", "ws://") + f"{CHANNEL.address}?{query}"
        with connect(ws_url) as ws:
            ws.send(command(sid, "SEND_HEARTBEAT", uuid.uuid4().hex, Text="PING"))
            text_id = uuid.uuid4().hex
            ws.send(command(sid, "SEND_TEXT", text_id, Text="Hello from a plain client", ChatCommand="NotUseChat"))
            wait_for(ws, "TextStart", text_id)
            wait_for(ws, "TextOver", text_id)

            audio_id = uuid.uuid4().hex
            pcm = b"\x00\x01" * (AUDIO.packet_bytes * 8 // 2) + b"\x02\x03" * 100  # 8 packets and a short one
            packets = [pcm[i : i + AUDIO.packet_bytes] for i in range(0, len(pcm), AUDIO.packet_bytes)] + [b""]
            for seq, packet in enumerate(packets, start=1):
                if seq > AUDIO.head_start_packets:
                    time.sleep(AUDIO.send_interval_seconds)  # the documented pace after the head start
                final = seq == len(packets)
                ws.send(command(sid, "SEND_AUDIO", audio_id, Audio=base64.b64encode(packet).decode(), Seq=seq, IsFinal=final))
            wait_for(ws, "AudioStart", audio_id)
            over = wait_for(ws, "AudioOver", audio_id)
            assert over["FinalType"] == CHANNEL.rules.final_by_client
    finally:
        call(emulator, "closesession", SessionId=sid)
