"""The command channel through the proxy: relayed unchanged, each client rule named alone.

Each test is a small application on real sockets (``IvhClient`` and ``Channel``, or a bare
``websockets`` client for the mistakes ``Channel`` would never make) talking to the proxy on a
thread, which forwards to the emulator in process. Intervals are shortened through settings
(the emulator's time scale, the proxy's heartbeat limit); nothing sleeps for a documented interval.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from ivhsuite.channel import Channel, channel_url
from ivhsuite.channel_spec import load_channel_spec
from ivhsuite.client import IvhClient
from ivhsuite.config import Target
from ivhsuite.contract.promises import CHANNEL_PROMISES
from ivhsuite.emulator import EmulatorSettings, create_app
from ivhsuite.protocol import Code
from ivhsuite.proxy import RULES as PROXY_RULES
from ivhsuite.proxy import Findings, Policy, ProxyApp
from ivhsuite.proxy.report import RunRecord, render_html, summary
from ivhsuite.proxy.server import serve_in_thread

pytestmark = pytest.mark.timeout(60)

PROJECT = "proxy-channel-project"
RULES = load_channel_spec().rules
AUDIO = RULES.audio
HEARTBEAT_LIMIT = 1.5  # the proxy's --heartbeat-seconds in these tests: over the text interval
FAST_BEAT = 0.2  # the well-behaved application's heartbeat, under the limit


@dataclass
class Run:
    """One application's run through the proxy: its client, the channel URL maker, what the proxy found."""

    ivh: IvhClient
    proxy: ProxyApp
    findings: Findings
    base_url: str

    def url(self, session_id: str, path: str | None = None) -> str:
        url = channel_url(self.base_url, session_id)
        return url if path is None else url.replace(load_channel_spec().address, path)

    def channel(self, session_id: str, heartbeat: float = FAST_BEAT) -> Channel:
        return Channel(self.url(session_id), session_id, heartbeat=heartbeat)

    def started(self, user: str = "alice", driver_type: int = 3) -> str:
        sid = self.ivh.create_session(user, driver_type=driver_type)["SessionId"]
        self.ivh.wait_until_ready(sid, interval=1.1)
        self.ivh.start_session(sid)
        return sid

    def rules(self, side: str | None = None) -> list[str]:
        found = [f for fs in self.findings.by_rule().values() for f in fs]
        return sorted({f.rule for f in found if side is None or f.side == side})

    def exit_code(self, fail_on: str = "client") -> int:
        record = RunRecord("now", 1.0, "the embedded emulator", fail_on, Policy(), self.findings, [])
        return 1 if record.failing() else 0


@pytest.fixture
def through_proxy() -> Iterator[Callable[..., Run]]:
    stops: list[Callable[[], None]] = []

    def make(policy: Policy | None = None, **emulator: Any) -> Run:
        settings = EmulatorSettings(
            project_ids=(PROJECT,),
            prepare_seconds=0,
            channel_time_scale=0.01,
            stream_max_interval_seconds=0.3,
            **emulator,
        )
        upstream = create_app(settings)
        findings = Findings()
        proxy = ProxyApp(
            "http://emulator",
            findings,
            policy=policy or Policy(heartbeat_seconds=HEARTBEAT_LIMIT),
            signature_required=False,
            transport=httpx.ASGITransport(app=upstream),
            channel_app=upstream,
        )
        running = serve_in_thread(proxy)
        ivh = IvhClient(Target(base_url=running.base_url, project_id=PROJECT))

        def stop() -> None:
            ivh.__exit__(None, None, None)
            running.stop()
            proxy.finish("the application stopped")

        stops.append(stop)
        return Run(ivh, proxy, findings, running.base_url)

    yield make
    for stop in stops:
        stop()


def pcm(packets: int) -> bytes:
    return bytes(AUDIO.packet_bytes * packets)


def command(session_id: str, name: str, data: dict[str, Any], req_id: str | None = None) -> str:
    payload = {"ReqId": req_id or uuid.uuid4().hex, "SessionId": session_id, "Command": name, "Data": data}
    return json.dumps({"Header": {}, "Payload": payload})


def audio(session_id: str, chunk: bytes, seq: int, req_id: str, final: bool = False) -> str:
    return command(
        session_id, "SEND_AUDIO", {"Audio": base64.b64encode(chunk).decode(), "Seq": seq, "IsFinal": final}, req_id
    )


def wait_over(ws: ClientConnection, status: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if message["Payload"].get("SpeakStatus") == status:
            return message["Payload"]


# --- the well-behaved application -------------------------------------------------------


def test_an_application_that_follows_the_docs_has_no_finding(through_proxy: Callable[..., Run]) -> None:
    run = through_proxy()
    sid = run.started()
    with run.channel(sid) as ch:
        ch.wait_for("TextOver", ch.send_text("hello"))
        time.sleep(RULES.text_interval_seconds + 0.1)  # Channel spaces texts by exactly the interval: a ms race
        ch.wait_for("TextOver", ch.send_stream_text(["one ", "two"]))
        over = ch.wait_for("AudioOver", ch.send_audio(pcm(9)))
        assert over["FinalType"] == RULES.final_by_client
    run.ivh.close_session(sid)
    assert run.findings.total() == 0, [f.line() for fs in run.findings.by_rule().values() for f in fs]
    track = run.proxy.tracker.sessions[sid]
    assert track.text_count == 2 and len(track.audio) == 1
    assert 0.6 < (track.audio[0].ratio or 0) < 1.1  # paced by the client at the documented 0.75
    assert [what for _, what in track.channel_events][:2] == ["open", "text"]
    assert run.proxy.calls["channel SEND_AUDIO"] == 10 and run.proxy.calls["commandchannel"] == 1
    record = RunRecord("now", 3.0, "the embedded emulator", "client", Policy(), run.findings, [track])
    page, (session,) = render_html(record), summary(record)["sessions"]
    assert "Audio pacing" in page and "audio paced" in page and "channel open" in page
    assert session["audio"][0]["packets"] == 9 and session["audio"][0]["final"] is True
    assert {"open", "TextStart", "TextOver", "AudioStart", "AudioOver"} <= {e["what"] for e in session["channel"]}


def test_frames_are_relayed_unchanged_both_ways(through_proxy: Callable[..., Run]) -> None:
    run = through_proxy()
    sid = run.started()
    frame = command(sid, "SEND_TEXT", {"Text": "exactly   these bytes"})
    with connect(run.url(sid)) as ws:
        ws.send(frame)
        started = json.loads(ws.recv(timeout=5))
    assert started["Payload"]["SpeakStatus"] == "TextStart"
    assert started["Payload"]["ReqId"] == json.loads(frame)["Payload"]["ReqId"]
    run.ivh.close_session(sid)
    assert run.findings.total() == 0


def test_a_refused_handshake_reaches_the_application_as_the_endpoint_sent_it(through_proxy: Callable[..., Run]) -> None:
    run = through_proxy()
    with connect(run.url("no-such-session")) as ws:
        message = json.loads(ws.recv(timeout=5))
        assert message["Header"]["Code"] == load_channel_spec().refusal("no-such-session").code
    assert run.rules() == ["ws-requestid"]


def test_create_by_asset_and_the_listings_are_checked_and_tracked(through_proxy: Callable[..., Run]) -> None:
    run = through_proxy()
    sid = run.ivh.create_session_by_asset("bob", "asset-1")["SessionId"]
    run.ivh.call("listsessionofuin", {})
    run.ivh.call("listsessionofassetvk", {"AssetVirtualmanKey": "asset-1"})
    assert run.findings.total() == 0
    run.proxy.finish("the application stopped")
    assert run.rules() == ["session-leaked"]
    assert run.proxy.tracker.sessions[sid].project_id == "(by asset)"


# --- each mistake, alone ----------------------------------------------------------------


def requestid_not_session(run: Run) -> None:
    run.started()
    with connect(run.url("my-request-id")) as ws:
        ws.recv(timeout=5)


def before_start(run: Run) -> None:
    sid = run.ivh.create_session("alice", driver_type=3)["SessionId"]
    with connect(run.url(sid)) as ws:
        ws.recv(timeout=5)


def second_channel(run: Run) -> None:
    sid = run.started()
    with run.channel(sid), connect(run.url(sid)) as second:
        second.send(command(sid, "SEND_HEARTBEAT", {"Text": "PING"}))


def old_path(run: Run) -> None:
    sid = run.started()
    with pytest.raises(InvalidStatus):  # the endpoint knows no such channel
        connect(run.url(sid, "/v2/ws/ivh/streammanager/streamservice/commandchannel"))


def reused_reqid(run: Run) -> None:
    sid = run.started()
    req_id = uuid.uuid4().hex
    with connect(run.url(sid)) as ws:
        ws.send(command(sid, "SEND_TEXT", {"Text": "one"}, req_id))
        wait_over(ws, "TextOver")
        time.sleep(RULES.text_interval_seconds + 0.05)
        ws.send(command(sid, "SEND_TEXT", {"Text": "two"}, req_id))
        wait_over(ws, "TextStart")


def fast_texts(run: Run) -> None:
    sid = run.started()
    with connect(run.url(sid)) as ws:
        ws.send(command(sid, "SEND_TEXT", {"Text": "one"}))
        ws.send(command(sid, "SEND_TEXT", {"Text": "two"}))
        ws.recv(timeout=5)


def http_then_channel_text(run: Run) -> None:
    sid = run.started()
    run.ivh.send_text(sid, "over HTTP")
    with connect(run.url(sid)) as ws:
        ws.send(command(sid, "SEND_TEXT", {"Text": "and at once over the channel"}))
        ws.recv(timeout=5)


def interrupt_with_text(run: Run) -> None:
    sid = run.started()
    with connect(run.url(sid)) as ws:
        ws.send(command(sid, "SEND_TEXT", {"Text": "a long text " * 50}))
        wait_over(ws, "TextStart")
        time.sleep(RULES.text_interval_seconds + 0.05)
        ws.send(command(sid, "SEND_TEXT", {"Text": "new text", "Interrupt": True}))
        ws.recv(timeout=5)


def audio_on_text_session(run: Run) -> None:
    sid = run.started(driver_type=1)
    with connect(run.url(sid)) as ws:
        req_id = uuid.uuid4().hex
        ws.send(audio(sid, b"", 1, req_id, final=True))
        ws.recv(timeout=5)


def send_packets(run: Run, packets: list[tuple[bytes, int, str, bool]], pace: float | None = None) -> None:
    sid = run.started()
    with connect(run.url(sid)) as ws:
        for i, (chunk, seq, req_id, final) in enumerate(packets):
            if pace is not None and i >= AUDIO.head_start_packets:
                time.sleep(pace)
            ws.send(audio(sid, chunk, seq, req_id, final))
        wait_over(ws, "AudioOver")


PACKET = bytes(AUDIO.packet_bytes)


def new_reqid_per_packet(run: Run) -> None:
    send_packets(run, [(PACKET, 1, uuid.uuid4().hex, False), (b"", 2, uuid.uuid4().hex, True)])


def final_repeats_seq(run: Run) -> None:
    req_id = uuid.uuid4().hex
    send_packets(run, [(PACKET, 1, req_id, False), (PACKET[:640], 2, req_id, False), (b"", 2, req_id, True)])


def wav_header(run: Run) -> None:
    req_id = uuid.uuid4().hex
    header = b"RIFF" + bytes(36)
    send_packets(run, [(header + PACKET[:2000], 1, req_id, False), (b"", 2, req_id, True)])


def all_at_once(run: Run) -> None:
    req_id = uuid.uuid4().hex
    count = AUDIO.head_start_packets + 6
    send_packets(run, [(PACKET, seq, req_id, False) for seq in range(1, count + 1)] + [(b"", count + 1, req_id, True)])


def slower_than_real_time(run: Run) -> None:
    req_id = uuid.uuid4().hex
    count = AUDIO.head_start_packets + 8
    packets = [(PACKET[:1280], seq, req_id, False) for seq in range(1, count + 1)] + [(b"", count + 1, req_id, True)]
    send_packets(run, packets, pace=AUDIO.seconds_of(1280) * 4)  # 40 ms of audio every 160 ms


def no_final(run: Run) -> None:
    sid = run.started()
    with connect(run.url(sid)) as ws:
        ws.send(audio(sid, PACKET, 1, uuid.uuid4().hex))
        over = wait_over(ws, "AudioOver")
        assert over["FinalType"] == RULES.final_by_server


def silent(run: Run) -> None:
    sid = run.started()
    with connect(run.url(sid)) as ws:
        ws.send(command(sid, "SEND_HEARTBEAT", {"Text": "PING"}))
        time.sleep(HEARTBEAT_LIMIT + 0.3)
        ws.send(command(sid, "SEND_HEARTBEAT", {"Text": "PING"}))


MISTAKES: dict[str, Callable[[Run], None]] = {
    "ws-requestid": requestid_not_session,
    "ws-before-start": before_start,
    "ws-second-channel": second_channel,
    "unknown-path": old_path,
    "reqid-reused": reused_reqid,
    "text-interval": fast_texts,
    "interrupt-with-text": interrupt_with_text,
    "audio-on-text-session": audio_on_text_session,
    "audio-reqid": new_reqid_per_packet,
    "audio-seq": final_repeats_seq,
    "audio-format": wav_header,
    "audio-pacing": all_at_once,
    "audio-final": no_final,
    "heartbeat-interval": silent,
}


@pytest.mark.parametrize("rule", list(MISTAKES), ids=list(MISTAKES))
def test_each_channel_mistake_is_named_alone(through_proxy: Callable[..., Run], rule: str) -> None:
    run = through_proxy()
    MISTAKES[rule](run)
    run.ivh.close_all()
    assert run.rules("client") == [rule], [f.line() for fs in run.findings.by_rule().values() for f in fs]
    assert run.rules("endpoint") == []
    assert run.exit_code("client") == 1


def test_audio_slower_than_real_time_is_a_pacing_finding(through_proxy: Callable[..., Run]) -> None:
    run = through_proxy()
    slower_than_real_time(run)
    (finding,) = run.findings.by_rule()["audio-pacing"]
    assert "slower" in finding.message


def test_texts_over_http_and_the_channel_share_the_interval(through_proxy: Callable[..., Run]) -> None:
    run = through_proxy()
    http_then_channel_text(run)
    assert run.rules() == ["text-interval"]


def test_the_channel_handshake_gets_the_query_checks(through_proxy: Callable[..., Run]) -> None:
    run = through_proxy()
    sid = run.started()
    with connect(run.url(sid) + "&accesstoken=never-in-a-url") as ws:
        ws.send(command(sid, "SEND_HEARTBEAT", {"Text": "PING"}))
    run.ivh.close_session(sid)
    assert run.rules() == ["secret-in-query"]
    assert all("never-in-a-url" not in f.message for fs in run.findings.by_rule().values() for f in fs)


def test_a_frame_that_is_no_documented_command_is_request_schema(through_proxy: Callable[..., Run]) -> None:
    run = through_proxy()
    sid = run.started()
    with connect(run.url(sid)) as ws:
        ws.send(command(sid, "SEND_AUDIOS", {"Audio": ""}))
        assert json.loads(ws.recv(timeout=5))["Header"]["Code"] == load_channel_spec().refusal("bad-message").code
    run.ivh.close_session(sid)
    assert run.rules() == ["request-schema"]


def test_the_readme_lists_every_rule() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| side | rule | the application (or the endpoint) must |") :]
    table = table[: table.index("\n\n")]
    listed = set(re.findall(r"`([a-z0-9-]+)`", table))
    assert set(PROXY_RULES) <= listed, sorted(set(PROXY_RULES) - listed)


def test_plain_http_to_the_channel_path_is_no_unknown_path(through_proxy: Callable[..., Run]) -> None:
    run = through_proxy()
    httpx.get(run.base_url + load_channel_spec().address, timeout=10)
    assert run.rules() == ["request-schema"]
    (finding,) = run.findings.by_rule()["request-schema"]
    assert "WebSocket" in finding.message


# --- the endpoint's channel promises, by the contract's one judge ---------------------------

BROKEN_CHANNELS = {
    "channel-wrong-reqid": ("channel-reqid", 3),
    "channel-bad-message": ("channel-message-schema", 3),
    "channel-undocumented-refusal": ("channel-refusal-documented", 1),  # SEND_AUDIO on a text session: refused
}


@pytest.mark.parametrize("fault", list(BROKEN_CHANNELS), ids=list(BROKEN_CHANNELS))
def test_a_broken_channel_promise_is_the_endpoints_named_as_the_gate_names_it(
    through_proxy: Callable[..., Run], fault: str
) -> None:
    promise, driver_type = BROKEN_CHANNELS[fault]
    run = through_proxy(faults=frozenset({fault}))
    sid = run.started(driver_type=driver_type)
    with connect(run.url(sid)) as ws:
        if driver_type == 1:
            ws.send(audio(sid, PACKET, 1, uuid.uuid4().hex, final=True))
            assert json.loads(ws.recv(timeout=5))["Header"]["Code"]
        else:
            ws.send(command(sid, "SEND_TEXT", {"Text": "hello"}))
            wait_over(ws, "TextOver")
    run.ivh.close_session(sid)
    assert run.rules("endpoint") == [promise], [f.line() for fs in run.findings.by_rule().values() for f in fs]
    finding = run.findings.by_rule()[promise][0]
    assert finding.line().startswith(f"ENDPOINT [{promise}]")
    assert PROXY_RULES[promise].description == CHANNEL_PROMISES[promise]
    assert run.exit_code("endpoint") == 1


def test_a_faithful_channel_breaks_no_channel_promise(through_proxy: Callable[..., Run]) -> None:
    run = through_proxy()
    sid = run.started()
    with connect(run.url(sid)) as ws:
        ws.send(command(sid, "SEND_TEXT", {"Text": "hello"}))
        wait_over(ws, "TextOver")
        ws.send(command(sid, "SEND_AUDIO", {"Audio": ""}))  # the wrong shape: refused with a documented code
        assert json.loads(ws.recv(timeout=5))["Header"]["Code"] in {int(code) for code in Code}
    run.ivh.close_session(sid)
    assert run.rules("endpoint") == []
