"""``IvhClient.channel``: signed, paced as the document says, against the emulator on a real port.

The pacing is checked on a fake clock (the sleeps it asks for), never by timing a run.
"""

from __future__ import annotations

import asyncio
import base64
import json
import types
from collections.abc import Iterator
from typing import Any

import pytest

from ivhsuite.channel import TEXT_MARGIN, Channel, channel_url
from ivhsuite.channel_spec import load_channel_spec
from ivhsuite.client import IvhClient
from ivhsuite.config import Target
from ivhsuite.emulator import EmulatorSettings, serve_in_thread
from ivhsuite.errors import ApiError, TransportError
from ivhsuite.protocol import Code
from ivhsuite.signing import verify_signature

pytestmark = pytest.mark.timeout(60)

RULES = load_channel_spec().rules
AUDIO = RULES.audio
APPKEY, TOKEN = "ak", "secret"


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    settings = EmulatorSettings(
        prepare_seconds=0, appkey=APPKEY, access_token=TOKEN, channel_time_scale=0.01, stream_max_interval_seconds=0.05
    )
    with serve_in_thread(settings) as running:
        yield running.base_url


@pytest.fixture
def ivh(emulator: str) -> Iterator[IvhClient]:
    with IvhClient(Target(base_url=emulator, appkey=APPKEY, access_token=TOKEN)) as client:
        yield client


def started(ivh: IvhClient, user: str, driver_type: int = 3) -> str:
    sid = ivh.create_session(user, driver_type=driver_type)["SessionId"]
    ivh.start_session(sid)
    return sid


def test_the_url_is_signed_with_the_session_as_requestid() -> None:
    url = channel_url("https://gw.example", "sid-1", APPKEY, TOKEN)
    assert url.startswith("wss://gw.example/v2/ws/ivh/interactdriver/interactdriverservice/commandchannel?")
    from urllib.parse import parse_qsl, urlsplit

    params = dict(parse_qsl(urlsplit(url).query))
    assert params["requestid"] == "sid-1" and verify_signature(params, APPKEY, TOKEN) is None


def test_text_and_audio_round_trip(ivh: IvhClient) -> None:
    sid = started(ivh, "client-speaker")
    with ivh.channel(sid, heartbeat=0) as ch:
        over = ch.wait_for("TextOver", ch.send_text("Hello", ChatCommand="NotUseChat"))
        assert over["Type"] == 3
        audio = ch.send_audio(b"\x00\x01" * (AUDIO.packet_bytes // 2) * 2 + b"\x00\x01" * 10)
        ch.wait_for("AudioStart", audio)
        assert ch.wait_for("AudioOver", audio)["FinalType"] == RULES.final_by_client


def test_a_refused_handshake_is_an_api_error(ivh: IvhClient) -> None:
    sid = ivh.create_session("client-unstarted")["SessionId"]
    with ivh.channel(sid, heartbeat=0) as ch, pytest.raises(ApiError) as refused:
        ch.wait_for("TextOver", ch.send_text("too early"))
    assert refused.value.code == Code.SESSION_NOT_STARTED


def test_refused_upgrade_is_an_api_error(emulator: str) -> None:
    settings = EmulatorSettings(prepare_seconds=0, choices={"channel-refusal": "http"})
    with serve_in_thread(settings) as running, IvhClient(Target(base_url=running.base_url)) as ivh:
        sid = ivh.create_session("client-http-refusal")["SessionId"]
        with pytest.raises(ApiError) as refused:
            ivh.channel(sid).open()
    assert refused.value.code == Code.SESSION_NOT_STARTED


class _Recorder:
    """A fake clock and sleep, and a connection that records what is sent when."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sent: list[tuple[float, dict[str, Any]]] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def send(self, text: str) -> None:
        self.sent.append((self.now, json.loads(text)))


def test_audio_is_paced_as_documented() -> None:
    rec = _Recorder()
    ch = Channel("ws://unused", "sid", heartbeat=0, sleep=rec.sleep, clock=rec.clock)
    ch._ws = rec  # type: ignore[assignment]
    n_packets = AUDIO.head_start_packets + 4
    ch.send_audio(b"\x00" * (AUDIO.packet_bytes * n_packets - 100))  # the last packet is short
    times = [at for at, _ in rec.sent]
    data = [body["Payload"]["Data"] for _, body in rec.sent]
    assert [d["Seq"] for d in data] == list(range(1, n_packets + 2))
    assert len({body["Payload"]["ReqId"] for _, body in rec.sent}) == 1  # one ReqId for the sequence
    assert all(len(base64.b64decode(d["Audio"])) <= AUDIO.packet_bytes for d in data)
    assert data[-1] == {"Audio": "", "Seq": n_packets + 1, "IsFinal": True}
    assert not any(d["IsFinal"] for d in data[:-1])
    assert times[: AUDIO.head_start_packets] == [0.0] * AUDIO.head_start_packets
    gaps = [
        b - a for a, b in zip(times[AUDIO.head_start_packets - 1 :], times[AUDIO.head_start_packets :], strict=False)
    ]
    assert gaps == pytest.approx([AUDIO.send_interval_seconds] * len(gaps))
    ratio = AUDIO.send_interval_seconds / AUDIO.packet_seconds
    assert AUDIO.min_ratio <= ratio <= AUDIO.max_ratio


def test_the_channel_measures_how_far_its_audio_fell_behind_its_pace() -> None:
    """A busy machine sends late; the gate reads ``audio_lag`` before blaming the endpoint's FinalType."""
    rec = _Recorder()

    def slow_send(text: str) -> None:
        rec.send(text)
        rec.now += 0.7 if len(rec.sent) == AUDIO.head_start_packets + 1 else 0.0  # one stall

    ch = Channel("ws://unused", "sid", heartbeat=0, sleep=rec.sleep, clock=rec.clock)
    ch._ws = types.SimpleNamespace(send=slow_send)  # type: ignore[assignment]
    assert ch.audio_lag == 0.0
    ch.send_audio(b"\x00" * AUDIO.packet_bytes * (AUDIO.head_start_packets + 3))
    assert ch.audio_lag == pytest.approx(0.7 - AUDIO.send_interval_seconds)
    ch._ws = rec  # type: ignore[assignment]
    ch.send_audio(b"\x00" * AUDIO.packet_bytes * (AUDIO.head_start_packets + 3))
    assert ch.audio_lag == pytest.approx(0.0, abs=1e-9)  # each sequence measured afresh


def test_texts_are_spaced_by_the_documented_interval() -> None:
    rec = _Recorder()
    ch = Channel("ws://unused", "sid", heartbeat=0, sleep=rec.sleep, clock=rec.clock)
    ch._ws = rec  # type: ignore[assignment]
    ch.send_text("one")
    ch.send_text("two")
    ch.interrupt()  # an interrupt is not held back
    spaced = RULES.text_interval_seconds + TEXT_MARGIN  # more than the interval, as the server will see it
    assert [at for at, _ in rec.sent] == [0.0, pytest.approx(spaced), pytest.approx(spaced)]


def test_the_async_channel_speaks_and_paces_like_the_sync_one(emulator: str) -> None:
    """AsyncIvhClient.channel: same signed URL and rules; text, audio and a refusal against the emulator."""
    from ivhsuite.client import AsyncIvhClient

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], int]:
        target = Target(base_url=emulator, appkey=APPKEY, access_token=TOKEN)
        async with AsyncIvhClient(target) as aivh:
            sid = (await aivh.create_session("async-speaker", driver_type=3))["SessionId"]
            await aivh.start_session(sid)
            async with aivh.channel(sid, heartbeat=0.05) as ch:
                over = await ch.wait_for("TextOver", await ch.send_text("Hi"))
                audio = await ch.send_audio(b"\x00\x01" * AUDIO.packet_bytes)  # two packets, then the final
                final = await ch.wait_for("AudioOver", audio)
                await asyncio.sleep(0.15)  # a few heartbeats: taken without an error
                with pytest.raises(ApiError) as refused:
                    await ch.wait_for("AudioOver", await ch.send_command("SEND_AUDIO", {"Audio": "", "Seq": 9}))
            beats = [m for m in ch.received if m["Payload"].get("Type") == 9 and not m["Payload"].get("ReqId")]
            assert beats == []
            return over, final, refused.value.code

    over, final, code = asyncio.run(scenario())
    assert over["SpeakStatus"] == "TextOver"
    assert final["FinalType"] == RULES.final_by_client
    assert code == Code.BAD_PARAMETER


def test_the_async_channel_reports_a_close_code(emulator: str) -> None:
    from ivhsuite.client import AsyncIvhClient

    async def scenario() -> int | None:
        target = Target(base_url=emulator, appkey=APPKEY, access_token=TOKEN)
        async with AsyncIvhClient(target) as aivh:
            sid = (await aivh.create_session("async-closer"))["SessionId"]
            await aivh.start_session(sid)
            async with aivh.channel(sid, heartbeat=0) as ch:
                await aivh.close_session(sid)
                with pytest.raises(TransportError):
                    while True:
                        await ch.receive(5)
                return ch.close_code

    assert asyncio.run(scenario()) is not None
