"""The WebSocket command channel's documented promises (page 100396-100401), judged by the contract's channel judge.

One started DriverType 3 session speaks through one channel for the first scenarios (a text,
texts too close together, a heartbeat, paced audio with and without its final packet, then a
streamed text: the audio fills the interval texts keep), which end by closing it; a DriverType 1
session gets a second channel, is refused audio and then preempted; refusals of the handshake need
no started session. Every wait is a documented
bound plus a margin: an emulator with a short ``--channel-time-scale`` answers long before.
Where the docs are silent (how a refusal is delivered, a second channel, close codes, the speaking
time) any plausible answer passes, and the run's spotter notes which one came (``--record-choices``).
"""

from __future__ import annotations

import base64
import contextlib
import secrets
from collections.abc import Iterator

import pytest

from ivhsuite.channel import Channel, channel_url
from ivhsuite.channel_spec import load_channel_spec
from ivhsuite.contract.channel import closed_issues
from ivhsuite.errors import ApiError, TransportError
from ivhsuite.gate.context import RunContext
from ivhsuite.gate.scenarios.channel_client import CLOSE_WAIT, SPEAK_WAIT, ChannelProbe, serving
from ivhsuite.gate.scenarios.scenario_client import Probe

RULES = load_channel_spec().rules
AUDIO = RULES.audio
AUDIO_DRIVEN = 3
PCM = bytes(
    AUDIO.packet_bytes * (AUDIO.head_start_packets + 1) - 1000
)  # paced past the head start, a short last packet
# Seconds a packet may go out behind its pace before its sequence says nothing: half the
# shortest StreamMaxInterval an endpoint here applies (2 s documented; the embedded emulator's 1 s).
PACING_LAG_LIMIT = 0.5
SERVER_FINAL_WAIT = RULES.stream_max_interval_ms / 1000 + AUDIO.seconds_of(AUDIO.packet_bytes) + SPEAK_WAIT


def _started(probe: Probe, hint: str, **fields: object) -> tuple[str, str]:
    """A new session, ready and started (the scenario's own): its UserId and SessionId.

    A cold session that fails to come up (status 4) is the platform's trouble: retried with another UserId.
    """

    def attempt() -> tuple[str, str]:
        user_id = probe.user_id(hint)
        created = probe.create(user_id, **fields)
        probe.expect(created.ok, "positive-accepted", f"createsession got {created}")
        session_id = str(created.payload.get("SessionId"))
        probe.wait_ready(session_id)
        started = probe.start(session_id)
        probe.expect(started.ok, "lifecycle", f"startsession of a ready session got {started}")
        return user_id, session_id

    return probe.retry_cold(attempt)


def _opened(probe: Probe, cp: ChannelProbe) -> None:
    refused = cp.refused.code if cp.refused else None
    probe.expect(
        cp.opened, "channel-after-start", f"the channel of started session {cp.session_id} was refused (Code {refused})"
    )


@pytest.fixture(scope="module")
def speaker(run: RunContext) -> Iterator[ChannelProbe]:
    """One started DriverType 3 session and its open channel, for the speaking scenarios in order."""
    with Probe(run) as probe:
        _, session_id = _started(probe, "chs", driver_type=AUDIO_DRIVEN)
        with ChannelProbe(probe, session_id) as cp:
            _opened(probe, cp)
            yield cp


def test_a_text_gets_text_start_then_text_over_and_one_sent_too_soon_is_refused(speaker: ChannelProbe) -> None:
    beat = speaker.send("SEND_HEARTBEAT", {"Text": "PING"})
    first = speaker.text("Hello.")
    second = speaker.send("SEND_TEXT", {"Text": "Two.", "ChatCommand": "NotUseChat"})  # at once: too soon
    speaker.expect_drive(first, "text")
    speaker.expect_refused("channel-text-rate", "a text sent right after another", second)
    refused = [m for m in speaker.received if m.get("Payload", {}).get("ReqId") == beat]
    speaker.probe.expect(
        not refused and not speaker.closed, "channel-heartbeat", f"SEND_HEARTBEAT got {refused or 'a close'}"
    )


def test_paced_audio_with_its_final_packet_ends_with_final_type_1(speaker: ChannelProbe) -> None:
    req_id = speaker.audio(PCM)
    lag = speaker.channel.audio_lag
    timeout = AUDIO.seconds_of(len(PCM)) + SPEAK_WAIT
    if lag > PACING_LAG_LIMIT:
        # A packet that went out far behind its pace (this machine was busy) may rightly end the
        # sequence early (FinalType 2), and the packets after it are then rightly refused: a new
        # sequence starts at Seq 1. Nothing of it is judged; it only has to end before the next one.
        speaker.wait_status(req_id, "AudioOver", timeout)
        pytest.skip(f"the gate's own audio pace lagged {lag:.2f} s: the sequence is not judged")
    speaker.expect_drive(req_id, "audio", final_type=RULES.final_by_client, timeout=timeout)


def test_audio_without_a_final_packet_ends_with_final_type_2(speaker: ChannelProbe) -> None:
    req_id = speaker.audio(PCM[: AUDIO.packet_bytes], final=False)
    speaker.expect_drive(req_id, "audio", final_type=RULES.final_by_server, timeout=SERVER_FINAL_WAIT)


def test_a_streamed_text_gets_text_start_then_text_over(speaker: ChannelProbe) -> None:
    speaker.expect_drive(speaker.stream_text(["Hello, ", "world."]), "text")


def test_a_channel_with_a_bad_signature_is_refused(run: RunContext, speaker: ChannelProbe) -> None:
    target = run.target
    if not target.signed:
        pytest.skip("no credentials: the endpoint checks no signature")
    wrong = channel_url(target.base_url or "", speaker.session_id, target.appkey, secrets.token_urlsafe(24))
    _expect_refused_channel(
        speaker.probe,
        speaker.session_id,
        "a channel with a bad signature",
        Channel(wrong, speaker.session_id, heartbeat=0),
    )


def test_closing_the_session_closes_its_channel(speaker: ChannelProbe) -> None:
    closed = speaker.probe.close(speaker.session_id)
    speaker.probe.expect(closed.ok, "lifecycle", f"closesession got {closed}")
    speaker.fail_on(closed_issues("closesession", closed=speaker.drain(CLOSE_WAIT), within=f"{CLOSE_WAIT:g} s"))


def test_a_text_session_refuses_audio_and_ends_its_channel_when_preempted(probe: Probe) -> None:
    """A second channel opens first (replacing the first or refused, undocumented): the one left serves the rest."""
    user_id, session_id = _started(probe, "chp")
    with ChannelProbe(probe, session_id) as first, ChannelProbe(probe, session_id) as beside:
        _opened(probe, first)
        cp = serving(first, beside)
        packet = {"Audio": base64.b64encode(PCM[: AUDIO.packet_bytes]).decode(), "Seq": 1, "IsFinal": False}
        what = "SEND_AUDIO on a DriverType 1 session"
        refused = cp.expect_refused("channel-audio-driver", what, cp.send("SEND_AUDIO", packet))
        probe.run.spotter.audio_refused(refused.code)
        if cp.closed:
            pytest.skip("the refusal closed the channel (a plausible delivery): preemption not checked on it")
        second = probe.create(user_id, retry_busy=False)
        if second.busy:
            pytest.skip(f"the quota was full ({second}): the endpoint counts the first session before preempting it")
        probe.expect(second.ok, "preemption", f"a second createsession with the same UserId got {second}")
        cp.fail_on(
            closed_issues("a new session with the same UserId", closed=cp.drain(CLOSE_WAIT), within=f"{CLOSE_WAIT:g} s")
        )


def test_a_channel_is_refused_before_startsession(probe: Probe) -> None:
    created = probe.create()
    probe.expect(created.ok, "positive-accepted", f"createsession got {created}")
    session_id = str(created.payload.get("SessionId"))
    _expect_refused_channel(probe, session_id, "a channel before startsession")


def test_a_channel_is_refused_for_a_session_that_is_not_live(probe: Probe) -> None:
    _expect_refused_channel(probe, "ivhs" + secrets.token_hex(14), "a channel for an unknown SessionId")


def _expect_refused_channel(probe: Probe, session_id: str, what: str, channel: Channel | None = None) -> None:
    """Refused at the upgrade, or by an error message or a close; a text on it is never driven."""
    with ChannelProbe(probe, session_id, channel) as cp:
        req_id = None
        if cp.opened:
            with contextlib.suppress(ApiError, TransportError):  # the server closed it: refused, as it may
                req_id = cp.send("SEND_TEXT", {"Text": "Hello.", "ChatCommand": "NotUseChat"})
        cp.expect_refused_handshake(what, req_id)
