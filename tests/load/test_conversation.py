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
from ivhsuite.contract import Issue
from ivhsuite.contract.channel import status
from ivhsuite.emulator import EmulatorSettings, serve_in_thread
from ivhsuite.ids import new_hex_id
from ivhsuite.load import conversation
from ivhsuite.load.thresholds import AUDIO_SEND_LAG, CHANNEL_CONNECT, CHANNEL_CONTRACT, REFUSED_PREFIX, time_to
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
    variants = {
        name: frozenset({name} - {"faithful"})
        for name in (
            "faithful",
            "channel-no-audio-over",
            "channel-wrong-reqid",
            "channel-bad-message",
            "channel-undocumented-refusal",
        )
    }
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
    record = talk(servers["channel-no-audio-over"].base_url, "audio", 3, speak_timeout=0.3)
    assert record.names(failed=True) == [time_to("AudioOver")]
    assert "no AudioOver" in str(record.entries[-1][2])


def test_a_refused_command_is_counted_by_its_code(servers: dict[str, Any]) -> None:
    record = talk(servers["faithful"].base_url, "audio", 1)  # SEND_AUDIO on a DriverType 1 session
    refused = record.names(failed=True)
    assert refused and all(name.startswith(REFUSED_PREFIX) for name in refused)
    assert time_to("AudioOver") not in record.names()


BROKEN_CHANNELS = {  # fault: (driver, DriverType, the promise it breaks)
    "channel-wrong-reqid": ("text", 1, "channel-reqid"),
    "channel-bad-message": ("text", 1, "channel-message-schema"),
    "channel-undocumented-refusal": ("audio", 1, "channel-refusal-documented"),  # audio on a text session
}


@pytest.mark.parametrize("fault", list(BROKEN_CHANNELS), ids=list(BROKEN_CHANNELS))
def test_a_broken_channel_promise_fails_the_contract_entry_in_the_gates_words(
    servers: dict[str, Any], fault: str
) -> None:
    driver, driver_type, promise = BROKEN_CHANNELS[fault]
    record = talk(servers[fault].base_url, driver, driver_type, speak_timeout=0.3)
    broken = {str(failure) for name, _, failure in record.entries if name == CHANNEL_CONTRACT}
    assert broken == {str(Issue(promise))}  # one message a promise: locust groups its failures by it


def test_a_faithful_channel_breaks_no_channel_promise(servers: dict[str, Any]) -> None:
    base = servers["faithful"].base_url
    for driver, driver_type in (("text", 1), ("streamtext", 1), ("audio", 3), ("audio", 1)):  # the last: refused
        assert CHANNEL_CONTRACT not in talk(base, driver, driver_type).names(failed=True)


def test_a_drive_whose_last_status_comes_first_breaks_its_promise() -> None:
    class Scripted:
        """A channel answering each text with TextOver, then TextStart."""

        def __init__(self) -> None:
            self.queue: list[dict[str, Any]] = []

        def send(self, command: str, req_id: str, data: dict[str, Any]) -> None:
            if command == "SEND_TEXT":
                self.queue += [status(req_id, "TextOver"), status(req_id, "TextStart")]

        def read(self, timeout: float) -> dict[str, Any] | None:
            return self.queue.pop(0) if self.queue else None

    record = Recorder()
    conversation.Conversation(Scripted(), RULES, record, text_interval=1.0).text()  # type: ignore[arg-type]
    broken = [str(failure) for name, _, failure in record.entries if name == CHANNEL_CONTRACT]
    assert broken == [str(Issue("channel-text-statuses"))]


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
