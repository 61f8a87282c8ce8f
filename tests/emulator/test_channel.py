"""The emulator's command channel, in process (Starlette's TestClient speaks the WebSocket).

Time is shortened through settings (``channel_time_scale``, ``channel_idle_seconds``) and the
text interval is read on the store's fake clock: nothing here sleeps or asserts wall-clock speed.
"""

from __future__ import annotations

import base64
import logging
import warnings
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from ivhsuite.channel_spec import load_channel_spec
from ivhsuite.emulator import EmulatorSettings, create_app
from ivhsuite.emulator.channel import SCALED_STREAM_INTERVAL_FLOOR
from ivhsuite.protocol import Code
from ivhsuite.signing import encode_query, sign_params

from .conftest import Api, FakeClock, code, new_req_id

with warnings.catch_warnings():  # starlette suggests httpx2 for its TestClient; httpx is what we have
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient, WebSocketDenialResponse

pytestmark = pytest.mark.timeout(60)

SPEC = load_channel_spec()
RULES = SPEC.rules
PACKET = b"\x01\x00" * (RULES.audio.packet_bytes // 2)
FAST = {"channel_time_scale": 0.001, "stream_max_interval_seconds": 0.01}


def address(sid: str | None, **extra: str) -> str:
    query = {"requestid": sid} if sid is not None else {}
    return f"{SPEC.address}?{encode_query({**query, **extra})}"


def command(sid: str, name: str, req_id: str | None = None, **data: Any) -> dict[str, Any]:
    return {"Payload": {"ReqId": req_id or new_req_id(), "SessionId": sid, "Command": name, "Data": data}}


def audio(sid: str, req_id: str, seq: int, pcm: bytes = PACKET, final: bool = False) -> dict[str, Any]:
    return command(sid, "SEND_AUDIO", req_id, Audio=base64.b64encode(pcm).decode(), Seq=seq, IsFinal=final)


class Emulator:
    """One in-process emulator: its HTTP calls (``api``) and its WebSocket client."""

    def __init__(self, clock: FakeClock, **overrides: Any) -> None:
        settings = EmulatorSettings(**{"prepare_seconds": 0.0, **FAST, **overrides})
        self.app = create_app(settings, clock=clock)
        self.api = Api(self.app)
        self.client = TestClient(self.app)

    def connect(self, sid: str | None, **extra: str) -> Any:
        return self.client.websocket_connect(address(sid, **extra))

    def started(self, user: str = "user-1", driver_type: int = 1, **fields: Any) -> str:
        sid = self.api.session(user, DriverType=driver_type, **fields)
        assert code(self.api.call("startsession", SessionId=sid)) == 0
        return sid


@pytest.fixture
def make(clock: FakeClock) -> Iterator[Callable[..., Emulator]]:
    made: list[Emulator] = []

    def build(**overrides: Any) -> Emulator:
        made.append(Emulator(clock, **overrides))
        return made[-1]

    yield build
    for emulator in made:
        emulator.client.close()
        emulator.api.close()


@pytest.fixture
def emu(make: Callable[..., Emulator]) -> Emulator:
    return make()


def receive(ws: Any) -> dict[str, Any]:
    """The next downstream message, checked against the AsyncAPI document."""
    message = ws.receive_json()
    assert SPEC.downstream_violation(message) is None, message
    return message


def refused_at_handshake(ws: Any) -> tuple[int, int]:
    """The error message's code and the close code of a refused handshake (choice ``message``)."""
    message = receive(ws)
    closed = ws.receive()
    assert closed["type"] == "websocket.close"
    return message["Header"]["Code"], closed["code"]


# --- handshake --------------------------------------------------------------------------


def test_refused_before_startsession(emu: Emulator) -> None:
    sid = emu.api.session()
    with emu.connect(sid) as ws:
        assert refused_at_handshake(ws) == (Code.SESSION_NOT_STARTED, 1008)


@pytest.mark.parametrize(
    ("sid", "expected"),
    [("no-such-session", Code.SESSION_NOT_FOUND), (None, Code.BAD_PARAMETER)],
    ids=["unknown", "missing"],
)
def test_refused_without_a_live_session(emu: Emulator, sid: str | None, expected: int) -> None:
    with emu.connect(sid) as ws:
        assert refused_at_handshake(ws)[0] == expected


def test_refused_for_a_closed_and_a_preempted_session(emu: Emulator) -> None:
    closed = emu.started("u-closed")
    emu.api.call("closesession", SessionId=closed)
    preempted = emu.started("u-pre")
    emu.started("u-pre")
    with emu.connect(closed) as ws:
        assert refused_at_handshake(ws)[0] == Code.SESSION_CLOSED
    with emu.connect(preempted) as ws:
        assert refused_at_handshake(ws)[0] == Code.PREEMPTED


def test_http_refusal_choice_refuses_the_upgrade(make: Callable[..., Emulator]) -> None:
    emu = make(choices={"channel-refusal": "http"})
    sid = emu.api.session()
    with pytest.raises(WebSocketDenialResponse) as denied, emu.connect(sid):
        pass
    assert denied.value.status_code == 403
    assert denied.value.json()["Header"]["Code"] == Code.SESSION_NOT_STARTED


def test_signed_handshake(make: Callable[..., Emulator]) -> None:
    emu = make(appkey="ak", access_token="secret")
    emu.api.client_auth = None
    store = emu.app.state.store
    info = store.create(emu.app.state.settings.project_ids[0], "u1", 1)
    store.start(info.session_id)
    good = sign_params("ak", "secret", requestid=info.session_id)
    with emu.client.websocket_connect(f"{SPEC.address}?{encode_query(good)}") as ws:
        ws.send_json(command(info.session_id, "SEND_HEARTBEAT", Text="PING"))
        ws.send_json(command(info.session_id, "SEND_TEXT", Text="hi"))
        assert receive(ws)["Payload"]["SpeakStatus"] == "TextStart"
    flipped = "y" if good["signature"].startswith("x") else "x"  # a signature may start with "x" itself
    bad = {**good, "signature": flipped + good["signature"][1:]}
    with emu.client.websocket_connect(f"{SPEC.address}?{encode_query(bad)}") as ws:
        assert refused_at_handshake(ws)[0] == Code.NOT_AUTHORIZED


# --- text ------------------------------------------------------------------------------


def test_text_start_then_over_with_its_reqid(emu: Emulator) -> None:
    sid = emu.started()
    req_id = new_req_id()
    with emu.connect(sid) as ws:
        ws.send_json(command(sid, "SEND_TEXT", req_id, Text="hello there", ChatCommand="NotUseChat"))
        statuses = [receive(ws)["Payload"] for _ in range(2)]
    assert [(s["SpeakStatus"], s["ReqId"], s["Type"]) for s in statuses] == [
        ("TextStart", req_id, 3),
        ("TextOver", req_id, 3),
    ]


def test_texts_closer_than_the_interval_are_refused(emu: Emulator, clock: FakeClock) -> None:
    sid = emu.started()
    with emu.connect(sid) as ws:
        ws.send_json(command(sid, "SEND_TEXT", Text="one"))
        receive(ws), receive(ws)
        too_soon = new_req_id()
        ws.send_json(command(sid, "SEND_TEXT", too_soon, Text="two"))
        refused = receive(ws)
        assert (refused["Header"]["Code"], refused["Payload"]["ReqId"]) == (Code.TOO_FREQUENT, too_soon)
        clock.advance(RULES.text_interval_seconds)
        ws.send_json(command(sid, "SEND_TEXT", Text="three"))
        assert receive(ws)["Payload"]["SpeakStatus"] == "TextStart"


def test_interrupt_ends_the_text_and_needs_a_text_playing(make: Callable[..., Emulator]) -> None:
    emu = make(channel_time_scale=1000.0)  # the text would speak for hours
    sid = emu.started()
    with emu.connect(sid) as ws:
        ws.send_json(command(sid, "SEND_TEXT", Text="", Interrupt=True))
        assert receive(ws)["Header"]["Code"] == Code.WRONG_TIME
        req_id = new_req_id()
        ws.send_json(command(sid, "SEND_TEXT", req_id, Text="a long text"))
        assert receive(ws)["Payload"]["SpeakStatus"] == "TextStart"
        ws.send_json(command(sid, "SEND_TEXT", Text="", Interrupt=True))
        over = receive(ws)["Payload"]
        assert (over["SpeakStatus"], over["ReqId"]) == ("TextOver", req_id)


def test_stream_text(emu: Emulator) -> None:
    sid = emu.started()
    req_id = new_req_id()
    with emu.connect(sid) as ws:
        ws.send_json(command(sid, "SEND_STREAMTEXT", req_id, Text="Hel", Seq=1))
        assert receive(ws)["Payload"]["SpeakStatus"] == "TextStart"
        ws.send_json(command(sid, "SEND_STREAMTEXT", req_id, Text="lo", Seq=3))
        assert receive(ws)["Header"]["Code"] == Code.BAD_PARAMETER  # a Seq gap
        ws.send_json(command(sid, "SEND_STREAMTEXT", req_id, Text="lo", Seq=2, IsFinal=True))
        over = receive(ws)["Payload"]
        assert (over["SpeakStatus"], over["ReqId"]) == ("TextOver", req_id)


# --- audio -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("wrong-time", Code.WRONG_TIME), ("bad-parameter", Code.BAD_PARAMETER)],
)
def test_audio_on_a_text_session_is_refused(make: Callable[..., Emulator], choice: str, expected: int) -> None:
    emu = make(choices={"audio-on-text-session": choice})
    sid = emu.started(driver_type=1)
    with emu.connect(sid) as ws:
        ws.send_json(audio(sid, new_req_id(), 1))
        assert receive(ws)["Header"]["Code"] == expected


def test_final_packet_gives_final_type_1(make: Callable[..., Emulator]) -> None:
    emu = make(stream_max_interval_seconds=RULES.stream_max_interval_bounds[1] / 1000)  # packets well within it
    sid = emu.started(driver_type=3)
    req_id = new_req_id()
    with emu.connect(sid) as ws:
        for seq in range(1, 4):
            ws.send_json(audio(sid, req_id, seq))
        ws.send_json(audio(sid, req_id, 4, b"", final=True))
        start, over = receive(ws)["Payload"], receive(ws)["Payload"]
    assert (start["SpeakStatus"], start["ReqId"]) == ("AudioStart", req_id)
    assert (over["SpeakStatus"], over["ReqId"], over["FinalType"]) == ("AudioOver", req_id, RULES.final_by_client)


def test_no_final_packet_the_server_ends_the_sequence(emu: Emulator) -> None:
    sid = emu.started(driver_type=3)
    req_id = new_req_id()
    with emu.connect(sid) as ws:
        ws.send_json(audio(sid, req_id, 1))
        assert receive(ws)["Payload"]["SpeakStatus"] == "AudioStart"
        over = receive(ws)["Payload"]
    assert (over["SpeakStatus"], over["ReqId"], over["FinalType"]) == ("AudioOver", req_id, RULES.final_by_server)


BAD_INPUT = {
    "not-json": ("{not json", Code.BAD_PARAMETER),
    "not-an-object": ("[1, 2]", Code.BAD_PARAMETER),
    "unknown-command": ({"Command": "SEND_VIDEO"}, Code.BAD_PARAMETER),
    "missing-reqid": ({"ReqId": None}, Code.BAD_PARAMETER),
    "other-session": ({"SessionId": "someone-else"}, Code.BAD_PARAMETER),
    "text-too-long": ({"Data": {"Text": "x" * (RULES.text_max_bytes + 1)}}, Code.BAD_PARAMETER),
}


@pytest.mark.parametrize(("change", "expected"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_gets_an_error_message_and_the_channel_lives_on(
    emu: Emulator, change: Any, expected: int, caplog: pytest.LogCaptureFixture
) -> None:
    sid = emu.started()
    with emu.connect(sid) as ws:
        if isinstance(change, str):
            ws.send_text(change)
        else:
            body = command(sid, "SEND_TEXT", Text="hello")
            body["Payload"].update(change)
            body["Payload"] = {k: v for k, v in body["Payload"].items() if v is not None}
            ws.send_json(body)
        assert receive(ws)["Header"]["Code"] == expected
        ws.send_json(command(sid, "SEND_TEXT", Text="still here"))
        assert receive(ws)["Payload"]["SpeakStatus"] == "TextStart"
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.levelno >= logging.ERROR]


AUDIO_MISTAKES = {
    "seq-gap": (lambda sid, r: audio(sid, r, 3)),
    "oversized-packet": (lambda sid, r: audio(sid, r, 2, PACKET + b"\0\0")),
    "new-reqid-per-packet": (lambda sid, r: audio(sid, new_req_id(), 2)),
    "not-base64": (lambda sid, r: command(sid, "SEND_AUDIO", r, Audio="!!!!", Seq=2)),
}


@pytest.mark.parametrize("mistake", AUDIO_MISTAKES.values(), ids=AUDIO_MISTAKES.keys())
def test_audio_mistakes_are_refused(
    make: Callable[..., Emulator], mistake: Callable[[str, str], dict[str, Any]]
) -> None:
    emu = make(stream_max_interval_seconds=RULES.stream_max_interval_bounds[1] / 1000)  # outlives the packets
    sid = emu.started(driver_type=3)
    req_id = new_req_id()
    with emu.connect(sid) as ws:
        ws.send_json(audio(sid, req_id, 1))
        assert receive(ws)["Payload"]["SpeakStatus"] == "AudioStart"
        ws.send_json(mistake(sid, req_id))
        assert receive(ws)["Header"]["Code"] == Code.BAD_PARAMETER


@pytest.mark.parametrize(
    ("send", "refusal"),
    [
        (lambda ws: ws.send_bytes(b"\x00\x01"), "binary-frame"),
        (lambda ws: ws.send_text("x" * ((SPEC.refusal("oversized-frame").max_bytes or 0) + 1)), "oversized-frame"),
    ],
    ids=["binary", "oversized"],
)
def test_frames_the_channel_cannot_read_close_it(emu: Emulator, send: Callable[[Any], None], refusal: str) -> None:
    sid = emu.started()
    with emu.connect(sid) as ws:
        send(ws)
        closed = ws.receive()
    assert (closed["type"], closed["code"]) == ("websocket.close", SPEC.refusal(refusal).close_code)


def test_a_flood_is_refused_then_closed(emu: Emulator) -> None:
    sid = emu.started()
    flood = SPEC.refusal("flood")
    assert flood.per_second and flood.close_after
    with emu.connect(sid) as ws:
        for _ in range(flood.per_second + flood.close_after):
            ws.send_json(command(sid, "SEND_HEARTBEAT", Text="PING"))
        codes = []
        while (message := ws.receive())["type"] == "websocket.send":
            codes.append(receive_text(message)["Header"]["Code"])
    assert set(codes) == {Code.TOO_FREQUENT} and message["code"] == flood.close_code


def receive_text(message: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(message["text"])


# --- the channel's life ----------------------------------------------------------------


def test_closed_when_its_session_is_closed(emu: Emulator) -> None:
    sid = emu.started()
    with emu.connect(sid) as ws:
        ws.send_json(command(sid, "SEND_HEARTBEAT", Text="PING"))
        emu.api.call("closesession", SessionId=sid)
        closed = ws.receive()
    assert (closed["type"], closed["code"]) == ("websocket.close", SPEC.refusal("session-ended").close_code)


def test_closed_when_its_session_is_preempted(emu: Emulator) -> None:
    sid = emu.started("same-user")
    with emu.connect(sid) as ws:
        ws.send_json(command(sid, "SEND_HEARTBEAT", Text="PING"))
        emu.api.session("same-user")
        closed = ws.receive()
    assert closed["type"] == "websocket.close" and str(int(Code.PREEMPTED)) in closed["reason"]


def test_dropped_after_the_idle_time(make: Callable[..., Emulator]) -> None:
    emu = make(channel_idle_seconds=0.05)
    sid = emu.started()
    with emu.connect(sid) as ws:
        closed = ws.receive()
    assert (closed["type"], closed["code"]) == ("websocket.close", SPEC.refusal("idle").close_code)
    assert "no traffic" in closed["reason"]


def test_reconnect_resends_the_last_drives(emu: Emulator, clock: FakeClock) -> None:
    sid = emu.started()
    sent = []
    with emu.connect(sid) as ws:
        for n in range(RULES.resent_drives + 1):
            sent.append(new_req_id())
            ws.send_json(command(sid, "SEND_TEXT", sent[-1], Text=f"text {n}"))
            receive(ws), receive(ws)
            clock.advance(RULES.text_interval_seconds)
    with emu.connect(sid) as ws:
        resent = [receive(ws)["Payload"] for _ in range(2 * RULES.resent_drives)]
        ws.send_json(command(sid, "SEND_TEXT", Text="new"))
        assert receive(ws)["Payload"]["SpeakStatus"] == "TextStart"  # nothing older came before it
    assert [s["ReqId"] for s in resent[::2]] == sent[1:]


def test_a_second_channel_replaces_the_first(emu: Emulator) -> None:
    sid = emu.started()
    with emu.connect(sid) as first:
        first.send_json(command(sid, "SEND_HEARTBEAT", Text="PING"))
        with emu.connect(sid) as second:
            assert first.receive()["type"] == "websocket.close"
            second.send_json(command(sid, "SEND_TEXT", Text="hi"))
            assert receive(second)["Payload"]["SpeakStatus"] == "TextStart"


def test_a_second_channel_refused_by_choice(make: Callable[..., Emulator]) -> None:
    emu = make(choices={"second-channel": "refuse"})
    sid = emu.started()
    with emu.connect(sid) as first:
        first.send_json(command(sid, "SEND_HEARTBEAT", Text="PING"))
        with emu.connect(sid) as second:
            assert refused_at_handshake(second)[0] == Code.WRONG_TIME


def test_channel_faults(make: Callable[..., Emulator]) -> None:
    emu = make(toxics=["late_status:latency=1", "channel_drop:toxicity=0"])
    sid = emu.started()
    with emu.connect(sid) as ws:
        ws.send_json(command(sid, "SEND_TEXT", Text="late"))
        assert receive(ws)["Payload"]["SpeakStatus"] == "TextStart"
    dropping = make(toxics=["channel_drop"])
    sid = dropping.started()
    with dropping.connect(sid) as ws:
        ws.send_json(command(sid, "SEND_TEXT", Text="lost"))
        assert ws.receive()["type"] == "websocket.close"


@pytest.mark.parametrize(
    ("scale", "expected"), [(0.75, 1.5), (0.0005, SCALED_STREAM_INTERVAL_FLOOR), (1.0, 2.0)]
)
def test_the_sessions_stream_max_interval_plays_on_the_time_scale(
    make: Callable[..., Emulator], scale: float, expected: float
) -> None:
    """No explicit StreamMaxInterval setting: the session's (2000 ms by default) times the channel's scale,
    never below a floor; the server then ends the sequence itself."""
    emu = make(stream_max_interval_seconds=None, channel_time_scale=scale)
    sid = emu.started(driver_type=3)
    req_id = new_req_id()
    with emu.connect(sid) as ws:
        ws.send_json(audio(sid, req_id, 1))
        assert receive(ws)["Payload"]["SpeakStatus"] == "AudioStart"
        assert emu.app.state.channels.channels[sid].stream_max_interval == pytest.approx(expected)
        if scale < 1:
            over = receive(ws)["Payload"]
            assert (over["SpeakStatus"], over["FinalType"]) == ("AudioOver", RULES.final_by_server)


def test_a_session_ended_for_idleness_closes_its_channel_at_once(
    make: Callable[..., Emulator], clock: FakeClock
) -> None:
    """The store ends idle sessions lazily; the channel asks when the session is due, no API call needed."""
    emu = make(idle_seconds=0.05)  # the channel's own idle drop stays at its documented 3 minutes
    sid = emu.started()
    with emu.connect(sid) as ws:
        clock.advance(1.0)  # the session's idle time has passed on the store's clock; nobody calls the API
        closed = ws.receive()
    assert (closed["type"], closed["code"]) == ("websocket.close", SPEC.refusal("session-ended").close_code)
    assert str(int(Code.SESSION_CLOSED)) in closed["reason"]


# --- the broken channel variants (emulator/faults.py CHANNEL_FAULTS): each breaks its own promise ---------


def _text_round(emu: Emulator) -> list[dict[str, Any]]:
    """Two texts on a started session, far enough apart: the first two messages that came back.

    A faithful channel answers TextStart, TextOver for the first; the second text makes sure a
    second message comes even when the first never gets its TextOver.
    """
    sid = emu.started()
    first, second = new_req_id(), new_req_id()
    with emu.connect(sid) as ws:
        ws.send_json(command(sid, "SEND_TEXT", first, Text="Hi"))
        got = [ws.receive_json()]
        emu.app.state.store.clock.advance(2 * RULES.text_interval_seconds)  # the interval, on the store's clock
        ws.send_json(command(sid, "SEND_TEXT", second, Text="Hi"))
        got.append(ws.receive_json())
    for message in got:
        message["sent"] = [first, second]
    return got


def holds_text_statuses(emu: Emulator) -> bool:
    got = _text_round(emu)
    return [m["Payload"].get("SpeakStatus") for m in got] == ["TextStart", "TextOver"]


def holds_reqid(emu: Emulator) -> bool:
    return all(m["Payload"].get("ReqId") in m["sent"] for m in _text_round(emu))


def holds_schema(emu: Emulator) -> bool:
    return all(SPEC.downstream_violation({k: v for k, v in m.items() if k != "sent"}) is None for m in _text_round(emu))


def holds_text_interval(emu: Emulator) -> bool:
    sid = emu.started()
    with emu.connect(sid) as ws:
        ws.send_json(command(sid, "SEND_TEXT", Text="One"))
        ws.send_json(command(sid, "SEND_TEXT", Text="Two"))
        messages = [ws.receive_json() for _ in range(3)]
    return any(m["Header"]["Code"] == Code.TOO_FREQUENT for m in messages)


def holds_refused_before_start(emu: Emulator) -> bool:
    sid = emu.api.session()
    with emu.connect(sid) as ws:
        ws.send_json(command(sid, "SEND_TEXT", Text="Hi"))  # refused, or spoken by a channel that opened
        message = ws.receive_json()
    return message["Header"]["Code"] == Code.SESSION_NOT_STARTED


def holds_documented_refusal(emu: Emulator) -> bool:
    with emu.connect("no-such-session") as ws:
        message = ws.receive_json()
    return message["Header"]["Code"] in {int(c) for c in Code}


def holds_closed_with_session(emu: Emulator) -> bool:
    sid = emu.started()
    with emu.connect(sid) as ws:
        emu.api.call("closesession", SessionId=sid)
        ws.send_json(command(sid, "SEND_TEXT", Text="Hi"))  # a channel left open answers it
        first = ws.receive()
    return first["type"] == "websocket.close"


CHANNEL_PROMISE_HOLDS: dict[str, Callable[[Emulator], bool]] = {
    "channel-bad-message": holds_schema,
    "channel-no-text-interval": holds_text_interval,
    "channel-no-text-over": holds_text_statuses,
    "channel-open-before-start": holds_refused_before_start,
    "channel-survives-close": holds_closed_with_session,
    "channel-undocumented-refusal": holds_documented_refusal,
    "channel-wrong-reqid": holds_reqid,
}


@pytest.mark.parametrize("fault", sorted(CHANNEL_PROMISE_HOLDS))
def test_a_channel_fault_breaks_its_promise_and_the_faithful_channel_keeps_it(
    make: Callable[..., Emulator], fault: str
) -> None:
    holds = CHANNEL_PROMISE_HOLDS[fault]
    assert holds(make())
    assert not holds(make(faults={fault}))


class _LateLoop:
    """A loop whose clock the test sets, recording the timers asked of it."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.later: list[float] = []

    def time(self) -> float:
        return self.now

    def call_later(self, delay: float, *_: Any) -> None:
        self.later.append(delay)

    def call_at(self, when: float, *_: Any) -> None:
        self.later.append(when - self.now)


def test_a_starved_audio_deadline_reads_waiting_packets_before_ending_the_sequence() -> None:
    """A deadline that runs late means the emulator's own loop was busy: packets may be waiting
    unread, so it looks once more before ending the sequence with the server's FinalType."""
    from ivhsuite.emulator import channel as emulated

    ended: list[int] = []
    late = emulated.LATE_TIMER * 5
    fake: Any = SimpleNamespace(loop=_LateLoop(now=10.0 + 1.0 + late), stream_max_interval=1.0, rules=RULES)
    fake._audio_over = lambda audio, final_type: ended.append(final_type)
    fake._audio_deadline = lambda audio: emulated.Channel._audio_deadline(fake, audio)
    audio = emulated._Audio("r" * 32, last_packet=10.0)
    emulated.Channel._audio_deadline(fake, audio)
    assert ended == [] and audio.grace  # looked again instead
    emulated.Channel._audio_deadline(fake, audio)  # still no packet: the client was late after all
    assert ended == [RULES.final_by_server]
    on_time = emulated._Audio("s" * 32, last_packet=10.0)
    fake.loop.now = 11.0 + emulated.LATE_TIMER / 2
    emulated.Channel._audio_deadline(fake, on_time)
    assert ended == [RULES.final_by_server] * 2  # a timer on time ends it at once
