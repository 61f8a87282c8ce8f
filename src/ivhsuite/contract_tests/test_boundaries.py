"""Every documented boundary, refused just outside and accepted just inside (page 100388, SEND_TEXT).

Only documented bounds: Protocol is lowercase rtmp/trtc/webrtc, DriverType 1 or 3,
StreamMaxInterval 2000-6000, TrtcRoomId 1 to 4294967294 (TRTC's range), a Text of at most
4000 characters. Room 0 is TRTC's reserved "no room" and the IVH page is silent on it: refused
with 100001 or accepted, either passes (the policy's ``x-silent-bounds``). An empty Text is left alone.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from ivhsuite.contract import policy
from ivhsuite.gate.scenarios.scenario_client import TEXT_GAP, Probe

OUTSIDE: list[tuple[str, dict[str, Any]]] = [
    ("Protocol=RTMP", {"protocol": "RTMP"}),
    ("Protocol=Rtmp", {"protocol": "Rtmp"}),
    ("Protocol=WebRTC", {"protocol": "WebRTC"}),
    ("Protocol=TRTC", {"protocol": "TRTC"}),
    ("DriverType=0", {"driver_type": 0}),
    ("DriverType=2", {"driver_type": 2}),
    ("DriverType=4", {"driver_type": 4}),
    ("StreamMaxInterval=1999", {"StreamMaxInterval": 1999}),
    ("StreamMaxInterval=6001", {"StreamMaxInterval": 6001}),
    ("TrtcRoomId=-1", {"protocol": "trtc", "ProtocolOption": {"TrtcRoomId": -1}}),
    ("TrtcRoomId=4294967295", {"protocol": "trtc", "ProtocolOption": {"TrtcRoomId": 4294967295}}),
]
INSIDE: list[tuple[str, dict[str, Any]]] = [
    ("Protocol=rtmp", {"protocol": "rtmp"}),
    ("Protocol=trtc", {"protocol": "trtc"}),
    ("Protocol=webrtc", {"protocol": "webrtc"}),
    ("DriverType=1", {"driver_type": 1}),
    ("DriverType=3", {"driver_type": 3}),
    ("StreamMaxInterval=2000", {"StreamMaxInterval": 2000}),
    ("StreamMaxInterval=6000", {"StreamMaxInterval": 6000}),
    ("TrtcRoomId=1", {"protocol": "trtc", "ProtocolOption": {"TrtcRoomId": 1}}),
    ("TrtcRoomId=4294967294", {"protocol": "trtc", "ProtocolOption": {"TrtcRoomId": 4294967294}}),
]
MAX_TEXT = 4000
SENTENCE = "The ivhsuite contract gate checks the documented text limit. "


def text_of(length: int) -> str:
    return (SENTENCE * (length // len(SENTENCE) + 1))[:length]


@pytest.mark.parametrize("fields", [f for _, f in OUTSIDE], ids=[i for i, _ in OUTSIDE])
def test_createsession_refuses_just_outside(probe: Probe, fields: dict[str, Any]) -> None:
    answer = probe.create(**fields)
    probe.expect_rejected(answer, "boundaries", f"createsession with {fields}")


@pytest.mark.parametrize("fields", [f for _, f in INSIDE], ids=[i for i, _ in INSIDE])
def test_createsession_accepts_just_inside(probe: Probe, fields: dict[str, Any]) -> None:
    answer = probe.create(**fields)
    probe.expect(answer.status < 500, "no-server-error", f"createsession with {fields} got {answer}")
    probe.expect(answer.ok, "boundaries", f"createsession with {fields} got {answer}")
    probe.close(str(answer.payload.get("SessionId")))


def test_trtc_room_zero_refused_or_accepted(probe: Probe) -> None:
    answer = probe.create(protocol="trtc", ProtocolOption={"TrtcRoomId": 0})
    probe.expect(answer.status < 500, "no-server-error", f"createsession with TrtcRoomId 0 got {answer}")
    probe.expect(
        answer.ok or policy.refusal_tolerated(answer.code), "boundaries", f"createsession with TrtcRoomId 0 got {answer}"
    )
    if answer.ok:
        probe.close(str(answer.payload.get("SessionId")))
    probe.run.observe("trtc-room-zero", f"TrtcRoomId 0: {'accepted' if answer.ok else f'refused ({answer.code})'}")


def test_text_length(probe: Probe, started_session: str) -> None:
    too_long = probe.text(started_session, text_of(MAX_TEXT + 1))
    probe.expect_rejected(too_long, "boundaries", f"SEND_TEXT of {MAX_TEXT + 1} characters")
    time.sleep(TEXT_GAP)
    longest = probe.text(started_session, text_of(MAX_TEXT))
    probe.expect(longest.status < 500, "no-server-error", f"SEND_TEXT of {MAX_TEXT} characters got {longest}")
    probe.expect(longest.ok, "boundaries", f"SEND_TEXT of {MAX_TEXT} characters got {longest}")
