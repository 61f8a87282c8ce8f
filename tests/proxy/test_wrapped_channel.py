"""Issue 20's "done when", as CI runs it: ``ivhsuite proxy --emulator --fail-on client -- CMD`` on the channel.

An application that drives over the channel as the docs say exits 0 with no finding; one
making a channel mistake exits 1 naming its rule. Every mistake on its own is covered in
process by ``test_channel.py``; here the whole command line, in its own processes, once each.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DRIVES_AS_DOCUMENTED = """
from ivhsuite import IvhClient
with IvhClient() as ivh:
    sid = ivh.create_session("channel-user", driver_type=3)["SessionId"]
    ivh.wait_until_ready(sid, interval=1.1)
    ivh.start_session(sid)
    with ivh.channel(sid) as ch:
        ch.wait_for("TextOver", ch.send_text("hello"))
        ch.wait_for("AudioOver", ch.send_audio(bytes(5120 * 8)))
    ivh.close_session(sid)
"""

NEW_REQID_PER_PACKET = """
import base64, json, uuid
from websockets.sync.client import connect
from ivhsuite import IvhClient
from ivhsuite.channel import channel_url
with IvhClient() as ivh:
    sid = ivh.create_session("channel-user", driver_type=3)["SessionId"]
    ivh.wait_until_ready(sid, interval=1.1)
    ivh.start_session(sid)
    with connect(channel_url(ivh.target.base_url, sid)) as ws:
        for seq, chunk in enumerate([bytes(5120), b""], start=1):
            data = {"Audio": base64.b64encode(chunk).decode(), "Seq": seq, "IsFinal": not chunk}
            payload = {"ReqId": uuid.uuid4().hex, "SessionId": sid, "Command": "SEND_AUDIO", "Data": data}
            ws.send(json.dumps({"Payload": payload}))
        while json.loads(ws.recv(timeout=10))["Payload"].get("SpeakStatus") != "AudioOver":
            pass
    ivh.close_session(sid)
"""


def run(tmp_path: Path, app: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    done = subprocess.run(
        [sys.executable, "-m", "ivhsuite.cli", "proxy", "--emulator", "--prepare-seconds", "0", "--fail-on", "client",
         "--report-dir", str(tmp_path), "--", sys.executable, "-c", app],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    return done, json.loads((tmp_path / "summary.json").read_text())


def test_an_application_driving_the_channel_as_documented_passes(tmp_path: Path) -> None:
    done, result = run(tmp_path, DRIVES_AS_DOCUMENTED)
    assert done.returncode == 0, done.stderr
    assert result["counts"]["client"] == 0 and result["counts"]["endpoint"] == 0, done.stderr
    assert result["calls"]["channel SEND_AUDIO"] == 9 and result["calls"]["commandchannel"] == 1
    (session,) = result["sessions"]
    assert session["end_reason"] == "closed" and session["audio"][0]["packets"] == 8


def test_a_new_reqid_per_audio_packet_exits_1_naming_audio_reqid(tmp_path: Path) -> None:
    done, result = run(tmp_path, NEW_REQID_PER_PACKET)
    assert done.returncode == 1, done.stderr
    assert "CLIENT [audio-reqid]" in done.stderr
    assert {item["rule"] for item in result["rules"] if item["count"]} == {"audio-reqid"}
