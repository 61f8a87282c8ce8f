"""The conversation's steps against an emulator on a thread (no locust: it would patch this process).

Speaking time is shortened through ``channel_time_scale``; pacing follows the document's rules, so
an audio sequence takes its real second or so; nothing asserts wall-clock speed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ivhsuite.channel import channel_url
from ivhsuite.channel_spec import load_channel_spec
from ivhsuite.config import DEFAULT_PROJECT_ID
from ivhsuite.emulator import EmulatorSettings, serve_in_thread
from ivhsuite.ids import new_hex_id
from ivhsuite.load import conversation
from ivhsuite.load.thresholds import AUDIO_SEND_LAG, CHANNEL_CONNECT, REFUSED_PREFIX, time_to
from ivhsuite.protocol import Code
from ivhsuite.spec import load_spec

pytestmark = pytest.mark.timeout(60)
RULES = load_channel_spec().rules


class Recorder:
    def __init__(self) -> None:
        self.entries: list[tuple[str, float, Exception | None]] = []

    def __call__(self, name: str, ms: float, failure: Exception | None) -> None:
        self.entries.append((name, ms, failure))

    def names(self, failed: bool = False) -> list[str]:
        return [name for name, _, failure in self.entries if (failure is not None) == failed]


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Any]]:
    """A faithful emulator and one of each of the conversation's broken variants."""
    fast = {"prepare_seconds": 0.0, "channel_time_scale": 0.01}
    variants = {"faithful": frozenset(), "no-audio-over": frozenset({"channel-no-audio-over"})}
    running = {name: serve_in_thread(EmulatorSettings(faults=faults, **fast)) for name, faults in variants.items()}
    try:
        yield running
    finally:
        for server in running.values():
            server.stop()


def call(base: str, operation: str, **payload: Any) -> dict[str, Any]:
    answer = httpx.post(base + load_spec().operation(operation).path, json={"Payload": {"ReqId": new_hex_id(), **payload}})
    return answer.json()


def started(base: str, driver_type: int, user: str = "") -> str:
    user = user or f"conv{new_hex_id()[:8]}"
    sid = call(base, "createsession", VirtualmanProjectId=DEFAULT_PROJECT_ID, UserId=user, Protocol="rtmp", DriverType=driver_type)[
        "Payload"
    ]["SessionId"]
    assert call(base, "startsession", SessionId=sid)["Header"]["Code"] == 0
    return sid


def talk(base: str, driver: str, driver_type: int, times: int = 1, **options: Any) -> Recorder:
    sid = started(base, driver_type)
    record = Recorder()
    channel = conversation.WsChannel(channel_url(base, sid), sid)
    assert conversation.connect(channel, record)
    try:
        interval = RULES.text_interval_seconds + 0.2  # arrival jitter must not bring two texts closer
        talk = conversation.Conversation(channel, RULES, record, text_interval=interval, **options)
        for _ in range(times):
            talk.drive(driver)
    finally:
        channel.close()
        call(base, "closesession", SessionId=sid)
    return record


def test_text_is_timed_to_its_start_and_end(servers: dict[str, Any]) -> None:
    record = talk(servers["faithful"].base_url, "text", 1, times=2)
    assert record.names() == [CHANNEL_CONNECT] + [time_to("TextStart"), time_to("TextOver")] * 2
    assert record.names(failed=True) == []
    assert all(ms >= 0 for _, ms, _ in record.entries)


def test_stream_text_is_timed_like_a_text(servers: dict[str, Any]) -> None:
    record = talk(servers["faithful"].base_url, "streamtext", 1)
    assert record.names() == [CHANNEL_CONNECT, time_to("TextStart"), time_to("TextOver")]


def test_audio_is_paced_and_timed_to_its_start_and_end(servers: dict[str, Any]) -> None:
    record = talk(servers["faithful"].base_url, "audio", 3)
    assert record.names() == [CHANNEL_CONNECT, time_to("AudioStart"), AUDIO_SEND_LAG, time_to("AudioOver")]
    assert record.names(failed=True) == []


def test_a_missing_audio_over_fails_its_entry(servers: dict[str, Any]) -> None:
    record = talk(servers["no-audio-over"].base_url, "audio", 3, speak_timeout=0.3)
    assert record.names(failed=True) == [time_to("AudioOver")]
    assert "no AudioOver" in str(record.entries[-1][2])


def test_a_refused_command_is_counted_by_its_code(servers: dict[str, Any]) -> None:
    record = talk(servers["faithful"].base_url, "audio", 1)  # SEND_AUDIO on a DriverType 1 session
    refused = record.names(failed=True)
    assert refused and all(name.startswith(REFUSED_PREFIX) for name in refused)
    assert time_to("AudioOver") not in record.names()


def test_a_refused_handshake_fails_channel_connect(servers: dict[str, Any]) -> None:
    base = servers["faithful"].base_url
    record = Recorder()
    channel = conversation.WsChannel(channel_url(base, "no-such-session"), "no-such-session")
    connected = conversation.connect(channel, record)
    try:
        if connected:  # the emulator's choice: an error message, then the close
            with pytest.raises(conversation.ChannelClosed):
                conversation.Conversation(channel, RULES, record, text_interval=1.0).hold(0.5)
            assert record.names(failed=True) == [f"{REFUSED_PREFIX}{Code.SESSION_NOT_FOUND}"]
        else:
            assert record.names(failed=True) == [CHANNEL_CONNECT]
    finally:
        channel.close()


def test_tone_packets_follow_the_documented_packet_size() -> None:
    packets = conversation.tone_packets(RULES.audio)
    assert len(packets) == -(-int(conversation.TONE_SECONDS * RULES.audio.bytes_per_second) // RULES.audio.packet_bytes)
    assert {len(p) for p in packets[:-1]} == {len(packets[0])}


def test_closing_never_waits_in_websocket_clients_close() -> None:
    """``WebSocket.close()`` swallows every exception, locust's GreenletExit included: a stopped
    user would run on. The channel sends the close frame and drops the socket instead."""

    class Socket:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def send_close(self) -> None:
            self.calls.append("send_close")

        def shutdown(self) -> None:
            self.calls.append("shutdown")

        def close(self, **_: Any) -> None:
            raise AssertionError("close() waits for the endpoint and swallows GreenletExit")

    channel = conversation.WsChannel("ws://unused", "s1")
    fake = Socket()
    channel._ws = fake  # type: ignore[assignment]
    channel.close()
    channel.close()  # twice is fine
    assert fake.calls == ["send_close", "shutdown"]


def test_heartbeats_keep_their_interval_while_holding() -> None:
    class Quiet:
        """A channel on which nothing arrives; reading waits on a fake clock."""

        def __init__(self) -> None:
            self.now = 0.0
            self.sent: list[tuple[str, float]] = []

        def read(self, timeout: float) -> None:
            self.now += timeout

        def send(self, command: str, req_id: str, data: dict[str, Any]) -> None:
            self.sent.append((command, self.now))

    quiet = Quiet()
    talk = conversation.Conversation(
        quiet, RULES, Recorder(), text_interval=1.0, heartbeat=0.25, clock=lambda: quiet.now  # type: ignore[arg-type]
    )
    talk.hold(0.9)
    assert quiet.sent == [("SEND_HEARTBEAT", 0.25), ("SEND_HEARTBEAT", 0.5), ("SEND_HEARTBEAT", 0.75)]


def test_the_text_interval_is_never_under_the_documented_one() -> None:
    talk = conversation.Conversation(None, RULES, Recorder(), text_interval=0.1)  # type: ignore[arg-type]
    assert talk.text_interval == RULES.text_interval_seconds
