"""The gate's own audio pace: a sequence it sent late is not judged, for the endpoint may rightly end it.

CI once failed a faithful emulator: on a loaded machine the gate sent an audio packet over a
StreamMaxInterval late, the emulator ended the sequence (FinalType 2) as documented, refused the
next packet (a new sequence starts at Seq 1), and the scenario called that a broken promise.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from ivhsuite.channel import Channel
from ivhsuite.config import Target
from ivhsuite.contract_tests import test_channel
from ivhsuite.emulator import EmulatorSettings, serve_in_thread
from ivhsuite.emulator.toxics import Toxic
from ivhsuite.gate.context import RunContext
from ivhsuite.gate.options import GateOptions
from ivhsuite.gate.scenarios.channel_client import ChannelProbe
from ivhsuite.gate.scenarios.scenario_client import Probe

from .conftest import PROJECT

STREAM_MAX_INTERVAL = 0.3  # seconds (documented default: 2 s), shortened through the settings
LATE = test_channel.PACING_LAG_LIMIT + STREAM_MAX_INTERVAL  # the sixth packet goes out this late: the sequence ends
STATUS_LATENCY_MS = 1500  # every status that late: the late packet's refusal arrives before the AudioOver


def test_audio_the_gate_sent_late_is_not_judged_and_the_next_sequence_is_served(monkeypatch: pytest.MonkeyPatch) -> None:
    send_command = Channel.send_command

    def busy_machine(self: Channel, name: str, data: dict[str, Any], req_id: str | None = None) -> str:
        if name == "SEND_AUDIO" and data.get("Seq") == 6:
            time.sleep(LATE)  # this thread was not scheduled: the packet goes out late
        return send_command(self, name, data, req_id)

    monkeypatch.setattr(Channel, "send_command", busy_machine)
    settings = EmulatorSettings(
        project_ids=(PROJECT,), quota=5, prepare_seconds=0, channel_time_scale=0.05,
        stream_max_interval_seconds=STREAM_MAX_INTERVAL,
        toxics=(Toxic.of({"kind": "late_status", "latency": STATUS_LATENCY_MS}),),  # the refusal comes first, as in CI
    )  # fmt: skip
    with serve_in_thread(settings) as running:
        run = RunContext(GateOptions(Target(base_url=running.base_url, project_id=PROJECT), quota=5, poll_interval=0.01))
        try:
            with Probe(run) as probe:
                _, session_id = test_channel._started(probe, "chs", driver_type=test_channel.AUDIO_DRIVEN)
                with ChannelProbe(probe, session_id) as speaker:
                    with pytest.raises(pytest.skip.Exception, match="audio pace lagged"):
                        test_channel.test_paced_audio_with_its_final_packet_ends_with_final_type_1(speaker)
                    refused = [m for m in speaker.received if m.get("Header", {}).get("Code")]
                    assert refused, speaker.received  # the late packet was refused: the case CI met
                    test_channel.test_audio_without_a_final_packet_ends_with_final_type_2(speaker)  # served
        finally:
            run.finish()
            run.shutdown()
