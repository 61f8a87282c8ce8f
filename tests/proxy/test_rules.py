"""The session state machine alone: each rule, fed with calls and answers at given times."""

from __future__ import annotations

import base64
import itertools
from typing import Any

import pytest

from ivhsuite.channel_spec import load_channel_spec
from ivhsuite.proxy.findings import Call, Finding
from ivhsuite.proxy.rules import ChannelTrack, Policy, Tracker

PROJECT = "p1"


class Feed:
    """Drives a Tracker like the proxy would: request at ``at``, answer ``latency`` later."""

    def __init__(self, **policy: Any) -> None:
        self.tracker = Tracker(Policy(**policy))
        self.found: list[Finding] = []
        self._seq = itertools.count(1)

    def call(
        self, op: str, at: float, code: int | None = 0, answer: dict[str, Any] | None = None, latency: float = 0.01,
        **payload: Any,
    ) -> list[str]:  # fmt: skip
        call = Call(next(self._seq), at, "POST", f"/{op}", op, "127.0.0.1:1")
        found = self.tracker.request(call, payload, at)
        found += self.tracker.answer(call, code, answer or {}, at + latency)
        self.found += found
        return [f.rule for f in found]

    def create(self, at: float, user: str = "u1", session: str = "s1", status: int = 1, **kw: Any) -> list[str]:
        answer = {"SessionId": session, "SessionStatus": status}
        return self.call("createsession", at, answer=answer, VirtualmanProjectId=PROJECT, UserId=user, **kw)

    def stat(self, at: float, session: str = "s1", status: int = 1, code: int = 0, **extra: Any) -> list[str]:
        return self.call("statsession", at, code=code, answer={"SessionStatus": status, **extra}, SessionId=session)

    def start(self, at: float, session: str = "s1", code: int = 0) -> list[str]:
        return self.call("startsession", at, code=code, SessionId=session)

    def text(self, at: float, session: str = "s1", code: int = 0, latency: float = 0.01) -> list[str]:
        return self.call("command", at, code=code, latency=latency, SessionId=session, Command="SEND_TEXT")

    def close(self, at: float, session: str = "s1") -> list[str]:
        return self.call("closesession", at, SessionId=session)

    def finish(self, at: float) -> list[str]:
        found = self.tracker.finish(at, "the application stopped")
        self.found += found
        return [f.rule for f in found]


def test_a_well_behaved_session_breaks_no_rule() -> None:
    feed = Feed()
    assert feed.create(0.0, status=3) == []
    assert feed.stat(2.0, status=3) == []
    assert feed.stat(4.0, status=1) == []
    assert feed.start(4.1) == []
    assert feed.text(4.2) == []
    assert feed.text(5.3) == []
    assert feed.close(6.0) == []
    assert feed.finish(7.0) == []
    (track,) = feed.tracker.tracks()
    assert (track.created, track.ready, track.started, track.ended) == pytest.approx((0.01, 4.01, 4.11, 6.01))
    assert track.end_reason == "closed" and track.text_count == 2 and not track.leaked


def test_command_before_start_is_named_with_why() -> None:
    feed = Feed()
    feed.create(0.0)
    assert feed.text(1.0, code=110016) == ["command-before-start"]
    assert "startsession was never called" in feed.found[-1].message
    feed.start(2.0, code=110014)
    assert feed.text(3.0, code=110016) == ["command-before-start"]
    assert "no startsession has succeeded" in feed.found[-1].message


def test_start_before_ready_says_whether_it_polled() -> None:
    feed = Feed()
    feed.create(0.0, status=3)
    assert feed.start(0.5, code=110014) == ["start-before-ready"]
    assert "statsession never called" in feed.found[-1].message
    feed.stat(2.0, status=3)
    assert feed.start(2.5, code=110014) == ["start-before-ready"]
    assert "1 statsession answer(s), none with status 1" in feed.found[-1].message
    feed.stat(4.0, status=1)
    assert feed.start(4.5) == []


def test_a_session_created_ready_may_start_at_once() -> None:
    feed = Feed()
    feed.create(0.0, status=1)
    assert feed.start(0.1) == []


def test_texts_closer_than_the_interval() -> None:
    feed = Feed()
    feed.create(0.0)
    feed.start(0.1)
    assert feed.text(1.0) == []
    assert feed.text(1.4, code=100012) == ["text-interval"]
    assert "0.40 s after the previous one" in feed.found[-1].message
    # the refused text does not restart the interval: 1.1 s after the last accepted one is fine
    assert feed.text(2.1) == []
    assert feed.text(3.2) == []


def test_reusing_a_live_user_id_is_self_preemption() -> None:
    feed = Feed()
    feed.create(0.0, user="alice", session="s1")
    assert feed.create(5.0, user="alice", session="s2") == ["userid-reuse"]
    assert "'alice' already has live session s1" in feed.found[-1].message
    first, second = feed.tracker.tracks()
    assert first.end_reason == "preempted (same UserId)" and second.live
    # a closed session's UserId is free again
    feed.close(6.0, session="s2")
    assert feed.create(7.0, user="alice", session="s3") == []
    # another UserId is never a reuse
    assert feed.create(8.0, user="bob", session="s4") == []


def test_a_user_id_idle_past_the_timeout_is_free_again() -> None:
    feed = Feed(idle_seconds=600)
    feed.create(0.0, user="alice", session="s1")
    assert feed.create(700.0, user="alice", session="s2") == []


@pytest.mark.parametrize(
    ("code", "answer", "reason"),
    [
        (110022, {}, "reported preempted (110022)"),
        (110013, {}, "reported closed (110013)"),
        (0, {"SessionStatus": 2, "ErrorCode": 110022}, "reported preempted (110022)"),
        (0, {"SessionStatus": 2}, "reported closed (status 2)"),
        (0, {"SessionStatus": 4}, "reported failed (status 4)"),
    ],
    ids=["code-110022", "code-110013", "stat-error-110022", "stat-closed", "stat-failed"],
)
def test_calls_after_the_session_reported_its_end(code: int, answer: dict[str, Any], reason: str) -> None:
    feed = Feed()
    feed.create(0.0)
    feed.call("statsession", 1.0, code=code, answer=answer, SessionId="s1")
    assert feed.start(3.0, code=110013) == ["call-after-end"]
    assert reason in feed.found[-1].message
    assert feed.close(4.0) == [], "closing is always allowed: it is cleanup"


def test_calls_after_the_application_closed_the_session() -> None:
    feed = Feed()
    feed.create(0.0)
    feed.close(1.0)
    assert feed.text(2.0, code=110013) == ["call-after-end"]
    assert "after it was closed" in feed.found[-1].message


def test_statsession_polled_faster_than_the_policy() -> None:
    feed = Feed(stat_interval=2.0)
    feed.create(0.0, status=3)
    assert feed.stat(1.0, status=3) == []
    assert feed.stat(2.5, status=3) == ["stat-poll-rate"]
    assert "at most one per 2 s" in feed.found[-1].message
    assert feed.stat(5.0, status=1) == []


def test_quota_counts_live_and_in_flight_creates() -> None:
    feed = Feed(quota=2)
    assert feed.create(0.0, user="a", session="s1") == []
    assert feed.create(1.0, user="b", session="s2") == []
    over = feed.call("createsession", 2.0, code=100008, VirtualmanProjectId=PROJECT, UserId="c")
    assert over == ["quota-exceeded"]
    assert "asks for 3 live sessions of project 'p1'; the quota is 2" in feed.found[-1].message
    # replacing a UserId's own session does not grow the count (it is a reuse, though)
    assert feed.create(3.0, user="a", session="s4") == ["userid-reuse"]
    feed.close(4.0, session="s2")
    assert feed.create(5.0, user="d", session="s5") == []


def test_quota_sees_concurrent_creates_before_their_answers() -> None:
    tracker = Tracker(Policy(quota=1))
    first = Call(1, 0.0, "POST", "/c", "createsession", "peer")
    second = Call(2, 0.0, "POST", "/c", "createsession", "peer")
    assert tracker.request(first, {"VirtualmanProjectId": PROJECT, "UserId": "a"}, 0.0) == []
    found = tracker.request(second, {"VirtualmanProjectId": PROJECT, "UserId": "b"}, 0.0)
    assert [f.rule for f in found] == ["quota-exceeded"]


def test_leaks_say_how_long_each_session_ran() -> None:
    feed = Feed()
    feed.create(0.0, user="a", session="s1")
    feed.create(1.0, user="b", session="s2")
    feed.close(2.0, session="s2")
    assert feed.finish(10.0) == ["session-leaked"]
    leak = feed.found[-1]
    assert leak.session_id == "s1" and leak.user_id == "a" and leak.call is not None
    assert leak.call.operation == "createsession"
    assert "ran 9.99 s" in leak.message or "ran 10.0 s" in leak.message
    track = feed.tracker.sessions["s1"]
    assert track.leaked and track.end_reason == "leaked"


def test_a_session_left_idle_past_the_timeout_is_still_a_leak() -> None:
    feed = Feed(idle_seconds=600)
    feed.create(0.0)
    assert feed.finish(900.0) == ["session-leaked"]
    assert "after 600 s without driving" in feed.found[-1].message
    assert feed.tracker.sessions["s1"].ended == pytest.approx(600.01)


def test_sessions_never_seen_created_are_not_judged() -> None:
    feed = Feed()
    assert feed.text(0.0, session="someone-elses") == []
    assert feed.stat(0.1, session="someone-elses") == []
    assert feed.finish(1.0) == []


# --- endpoint promises that need state ---------------------------------------------


def test_endpoint_accepting_a_text_on_a_never_started_session() -> None:
    feed = Feed()
    feed.create(0.0)
    assert feed.text(1.0, code=0) == ["command-before-start", "command-after-start"]
    assert feed.found[-1].side == "endpoint"


def test_endpoint_accepting_texts_surely_closer_than_the_interval() -> None:
    feed = Feed()
    feed.create(0.0)
    feed.start(0.1)
    feed.text(1.0, latency=0.05)
    # sent 0.3 s after the first was sent, answered 0.05 s later: the endpoint saw them < 1 s apart
    assert feed.text(1.3, latency=0.05) == ["text-interval", "command-rate"]
    assert feed.found[-1].side == "endpoint"


def test_slow_answers_do_not_make_the_endpoint_look_lenient() -> None:
    feed = Feed()
    feed.create(0.0)
    feed.start(0.1)
    feed.text(1.0, latency=0.9)
    # 1.05 s between this text's answer and the first's sending: the endpoint may have seen >= 1 s
    assert feed.text(1.0 + 0.9 + 0.15, latency=0.01) == []


def test_endpoint_keeping_a_preempted_session_ready_past_the_grace() -> None:
    feed = Feed(preemption_grace=10.0)
    feed.create(0.0, user="a", session="s1")
    feed.create(1.0, user="a", session="s2")
    assert feed.stat(5.0, session="s1", status=1) == []  # within the grace: not judged yet
    assert feed.stat(20.0, session="s1", status=1) == ["preemption"]
    assert "status 1" in feed.found[-1].message and feed.found[-1].side == "endpoint"


def test_endpoint_starting_a_session_still_preparing() -> None:
    feed = Feed()
    feed.create(0.0, status=3)
    feed.start(0.5)  # the client broke start-before-ready, and the endpoint accepted it
    assert feed.stat(2.0, status=3) == ["start-after-ready"]
    assert feed.found[-1].side == "endpoint"


# --- the command channel, on numbers ------------------------------------------------------

AUDIO = load_channel_spec().rules.audio


class ChannelFeed(Feed):
    """A started DriverType 3 session and its channel, fed frames at given times."""

    def __init__(self, driver_type: int = 3, **policy: Any) -> None:
        super().__init__(**policy)
        self.create(0.0, DriverType=driver_type)
        self.start(0.1)
        opened = Call(next(self._seq), 0.2, "GET", "/ch", "commandchannel", "127.0.0.1:1")
        self.channel, found = self.tracker.channel_open(opened, "s1", 0.2)
        assert found == []
        self.tracker.channel_accepted(self.channel, 0.2)

    def frame(self, at: float, command: str, data: dict[str, Any], req_id: str | None = None) -> list[str]:
        call = Call(
            next(self._seq), at, "WS", "/ch", f"channel {command}", "127.0.0.1:1", fingerprint=hash((at, command))
        )
        body = {"Payload": {"ReqId": req_id or f"{call.seq:032x}", "SessionId": "s1", "Command": command, "Data": data}}
        found = self.tracker.channel_up(self.channel, call, body, at)
        self.found += found
        return [f.rule for f in found]

    def audio(self, times: list[float], packet: bytes = bytes(AUDIO.packet_bytes), req_id: str = "a" * 32) -> list[str]:
        found = []
        for seq, at in enumerate(times, start=1):
            data = {"Audio": base64.b64encode(packet).decode(), "Seq": seq, "IsFinal": False}
            found += self.frame(at, "SEND_AUDIO", data, req_id)
        end = {"Audio": "", "Seq": len(times) + 1, "IsFinal": True}
        return found + self.frame(times[-1] + AUDIO.send_interval_seconds, "SEND_AUDIO", end, req_id)


def paced(packets: int, interval: float, start: float = 1.0) -> list[float]:
    head = AUDIO.head_start_packets
    return [start + max(0, n - head + 1) * interval for n in range(packets)]


def test_audio_at_the_documented_pace_is_no_finding_and_its_ratio_is_kept() -> None:
    feed = ChannelFeed()
    assert feed.audio(paced(20, AUDIO.send_interval_seconds)) == []
    (sequence,) = feed.tracker.sessions["s1"].audio
    assert sequence.ratio == pytest.approx(AUDIO.send_interval_seconds / AUDIO.packet_seconds)
    assert sequence.paced is True and sequence.final


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        (AUDIO.packet_seconds * AUDIO.min_ratio * 0.5, ["audio-pacing"]),  # twice as fast as allowed
        (AUDIO.packet_seconds * AUDIO.min_ratio, []),
        (AUDIO.packet_seconds * AUDIO.max_ratio, []),  # real time: the slow bound
        (AUDIO.packet_seconds * AUDIO.max_ratio * 1.3, ["audio-pacing"]),  # the stream would starve
    ],
    ids=["too-fast", "fast-bound", "slow-bound", "too-slow"],
)
def test_audio_pacing_bounds(interval: float, expected: list[str]) -> None:
    assert ChannelFeed().audio(paced(30, interval)) == expected


def test_a_short_sequence_inside_the_head_start_is_not_judged() -> None:
    feed = ChannelFeed()
    assert feed.audio([1.0] * AUDIO.head_start_packets) == []
    assert feed.tracker.sessions["s1"].audio[0].paced is None


@pytest.mark.parametrize(
    ("packet", "words"),
    [
        (b"RIFF" + bytes(100), "RIFF/WAVE"),
        (b"ID3" + bytes(101), "MP3"),
        (b"\xff\xfb" + bytes(100), "MP3"),
        (bytes(AUDIO.packet_bytes + 2), "over the documented"),
        (bytes(101), "pairs of bytes"),
    ],
    ids=["wav", "id3", "mp3-frame", "oversized", "odd"],
)
def test_audio_format(packet: bytes, words: str) -> None:
    feed = ChannelFeed()
    assert feed.audio([1.0], packet) == ["audio-format"]
    assert words in feed.found[0].message


def test_audio_on_a_text_session() -> None:
    assert ChannelFeed(driver_type=1).audio([1.0])[:1] == ["audio-on-text-session"]


def test_a_final_packet_repeating_the_last_seq_and_a_new_reqid_inside_a_sequence() -> None:
    feed = ChannelFeed()
    packet = base64.b64encode(bytes(640)).decode()
    assert feed.frame(1.0, "SEND_AUDIO", {"Audio": packet, "Seq": 1}, "a" * 32) == []
    assert feed.frame(1.1, "SEND_AUDIO", {"Audio": packet, "Seq": 2}, "b" * 32) == ["audio-reqid"]
    assert feed.frame(1.2, "SEND_AUDIO", {"Audio": "", "Seq": 2, "IsFinal": True}, "a" * 32) == ["audio-seq"]


def test_the_endpoint_ending_a_sequence_is_audio_final() -> None:
    feed = ChannelFeed()
    packet = base64.b64encode(bytes(640)).decode()
    feed.frame(1.0, "SEND_AUDIO", {"Audio": packet, "Seq": 1}, "a" * 32)
    over = {"Payload": {"Type": 3, "SessionId": "s1", "ReqId": "a" * 32, "SpeakStatus": "AudioOver", "FinalType": 2}}
    found = feed.tracker.channel_down(feed.channel, feed.channel.call, over, 3.0)
    assert [f.rule for f in found] == ["audio-final"]
    assert "FinalType 2" in found[0].message


def test_a_channel_closed_on_an_open_sequence_is_audio_final() -> None:
    feed = ChannelFeed()
    feed.frame(1.0, "SEND_AUDIO", {"Audio": "", "Seq": 1}, "a" * 32)
    found = feed.tracker.channel_closed(feed.channel, feed.channel.call, 1.5, "the application")
    assert [f.rule for f in found] == ["audio-final"]


def test_texts_over_http_and_the_channel_share_one_interval_and_a_refused_text_is_undone() -> None:
    feed = ChannelFeed()
    assert feed.text(1.0) == []
    assert feed.frame(1.5, "SEND_TEXT", {"Text": "hi"}, "c" * 32) == ["text-interval"]
    refused = {"Header": {"Code": 100012}, "Payload": {"Type": 9, "SessionId": "s1", "ReqId": "c" * 32}}
    feed.tracker.channel_down(feed.channel, feed.channel.call, refused, 1.51)
    assert feed.frame(2.1, "SEND_TEXT", {"Text": "hi"}) == [], "the interval runs from the text before the refused one"


def test_an_interrupt_is_no_text_unless_it_carries_one() -> None:
    feed = ChannelFeed()
    assert feed.frame(1.0, "SEND_TEXT", {"Text": "hi"}) == []
    assert feed.frame(1.2, "SEND_TEXT", {"Text": "", "Interrupt": True}) == []
    assert "interrupt-with-text" in feed.frame(2.5, "SEND_TEXT", {"Text": "new", "Interrupt": True})


def test_stream_text_chunks_share_a_reqid_and_count_as_one_text() -> None:
    feed = ChannelFeed()
    for seq, at in enumerate([1.0, 1.1, 1.2], start=1):
        assert feed.frame(at, "SEND_STREAMTEXT", {"Text": "x", "Seq": seq, "IsFinal": seq == 3}, "d" * 32) == []
    assert feed.tracker.sessions["s1"].text_count == 1
    assert feed.frame(2.5, "SEND_STREAMTEXT", {"Text": "x", "Seq": 1, "IsFinal": True}, "d" * 32) == ["reqid-reused"]


def test_a_silent_channel_is_named_once() -> None:
    feed = ChannelFeed(heartbeat_seconds=10.0)
    assert feed.frame(5.0, "SEND_HEARTBEAT", {"Text": "PING"}) == []
    assert feed.frame(16.0, "SEND_HEARTBEAT", {"Text": "PING"}) == ["heartbeat-interval"]
    assert feed.frame(40.0, "SEND_HEARTBEAT", {"Text": "PING"}) == []
    assert Policy().heartbeat_seconds is None and load_channel_spec().rules.heartbeat_seconds[1] > 10.0


def test_channel_handshakes() -> None:
    feed = ChannelFeed()
    again = Call(99, 1.0, "GET", "/ch", "commandchannel", "127.0.0.1:1")
    assert [f.rule for f in feed.tracker.channel_open(again, "s1", 1.0)[1]] == ["ws-second-channel"]
    assert [f.rule for f in feed.tracker.channel_open(again, "someone-else", 1.0)[1]] == ["ws-requestid"]
    assert [f.rule for f in feed.tracker.channel_open(again, None, 1.0)[1]] == ["ws-requestid"]
    feed.create(2.0, user="u2", session="s2")
    assert [f.rule for f in feed.tracker.channel_open(again, "s2", 2.1)[1]] == ["ws-before-start"]
    feed.close(3.0)
    assert [f.rule for f in feed.tracker.channel_open(again, "s1", 3.1)[1]] == ["ws-requestid"]
    assert isinstance(feed.channel, ChannelTrack)


def test_a_resent_request_is_not_a_reused_reqid_but_another_request_is() -> None:
    tracker = Tracker(Policy())
    first = Call(1, 0.0, "POST", "/statsession", "statsession", "p", req_id="e" * 32, fingerprint=1)
    resent = Call(2, 0.5, "POST", "/statsession", "statsession", "p", req_id="e" * 32, fingerprint=1)
    other = Call(3, 1.0, "POST", "/statsession", "statsession", "p", req_id="e" * 32, fingerprint=2)
    assert tracker.request(first, {"SessionId": "x"}, 0.0) == []
    assert tracker.request(resent, {"SessionId": "x"}, 0.5) == []
    assert [f.rule for f in tracker.request(other, {"SessionId": "x"}, 1.0)] == ["reqid-reused"]


def test_sessions_created_by_asset_are_tracked_apart_from_projects() -> None:
    feed = Feed(quota=1)
    assert feed.create(0.0, user="u1", session="s1") == []
    by_asset = {"SessionId": "s2", "SessionStatus": 1}
    assert feed.call("createsessionbyasset", 1.0, answer=by_asset, AssetVirtualmanKey="k", UserId="u1") == []
    assert feed.call("createsessionbyasset", 2.0, answer={"SessionId": "s3", "SessionStatus": 1},
                     AssetVirtualmanKey="k", UserId="u1") == ["userid-reuse"]  # fmt: skip
    assert feed.tracker.sessions["s2"].end_reason == "preempted (same UserId)"
    assert sorted(feed.finish(5.0)) == ["session-leaked", "session-leaked"]
