"""The endpoint's choices recorded, replayed and compared: every choice one run can observe makes the round trip.

For each observable choice value an emulator plays it; the same calls a gate run makes go
through a :class:`Spotter` (the HTTP ones in process, routed as the gate's hook routes them;
the channel's through the shipped channel scenarios against an emulator on a port); the
recording, played by a new emulator (``--config``), is observed alike (no drift); one changed
choice is exactly one drift. Choices one run cannot tell apart are never guessed: "not
observed", never drift; ``user-id-max`` is compared by consistency only.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ivhsuite.config import Target
from ivhsuite.contract_tests import test_channel, test_preemption, test_undocumented
from ivhsuite.emulator import EmulatorSettings, serve_in_thread
from ivhsuite.emulator.app import create_app
from ivhsuite.emulator.choices import CHOICES
from ivhsuite.emulator.configfile import load_config
from ivhsuite.errors import ConfigError
from ivhsuite.gate.context import RunContext
from ivhsuite.gate.endpoint_choices import Spotter, compare, load_expected, load_measured, record
from ivhsuite.gate.measured_choices import Measures
from ivhsuite.gate.options import GateOptions
from ivhsuite.gate.scenarios.scenario_client import Probe
from ivhsuite.protocol import LIVE_STATUSES, Answer
from ivhsuite.spec import load_spec

from .conftest import PROJECT, answer, run_gate_process

SPEC = load_spec()
PREPARE = 0.02  # seconds: a create is seen preparing, and is ready soon after
INTERVAL = 0.05  # seconds between texts (documented: 1 s), shortened through the settings
# Every value of each choice one run can observe (the emulator's names).
OBSERVABLE: dict[str, list[str]] = {
    "error-status": ["200", "4xx", "409"],
    "error-payload": ["reqid", "empty", "absent"],
    "close-twice": ["ok", "error"],
    "list-closed": ["no", "yes"],
    "play-addr-while-preparing": ["yes", "no"],
    "session-id": ["hex", "uuid", "short", "long"],
    "null-optional": ["refuse", "absent"],
    "unknown-asset": ["100001", "100015"],
    "empty-text": ["accept", "refuse"],
    "retry-after": ["none", "1"],
    "undocumented-method": ["native", "405", "501", "404", "html"],
    "unreadable-body": ["json", "html"],
    "content-type": ["any", "json"],
    "unusual-ids": ["accept", "refuse"],
    "model-cache": ["user", "protocol"],
}
# The channel's choices, seen by the shipped channel scenarios: the defaults, then every other value at once.
CHANNEL: list[dict[str, str]] = [
    {"channel-refusal": "message", "second-channel": "replace", "audio-on-text-session": "wrong-time"},
    {"channel-refusal": "http", "second-channel": "refuse", "audio-on-text-session": "bad-parameter"},
]
# Learned only by a run that records or compares choices, at a cost (a scenario marked learns_choices).
LEARNED = {"preempt-across": ["yes", "no"], "user-id-max": ["none", "48", "200"]}
# Measured over many answers and their times, compared with the recording's [measured] table.
MEASURED_CHOICES = ("model-cache-seconds", "cold-failure", "rate-limit")


class Client:
    """Calls the emulator in process and feeds every answer to the spotter, as the gate's probe does."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self._loop = asyncio.new_event_loop()
        self.now = 1000.0  # the emulator's clock, moved by the test: no sleep, however loaded the machine
        app = create_app(settings, clock=lambda: self.now)
        self._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://e")
        self.spotter = Spotter()
        self.closed: set[str] = set()

    def call(self, operation: str, **payload: Any) -> Answer:
        payload = {"ReqId": uuid.uuid4().hex, **payload}
        body = {"Header": {}, "Payload": payload}
        response = self._loop.run_until_complete(self._http.post(SPEC.operation(operation).path, json=body))
        answer = Answer.read(response.status_code, response.content)
        closed_before = payload.get("SessionId") in self.closed
        valid = SPEC.operation(operation).request.is_valid(body)
        retry_after = response.headers.get("retry-after")
        span = (self.now, self.now)  # the emulator's clock: answered at once
        self.spotter.see(operation, payload, answer, retry_after, closed_before=closed_before, valid=valid, span=span)
        if operation == "closesession" and answer.ok:
            self.closed.add(str(payload["SessionId"]))
            self.spotter.closed_one()
        return answer

    def raw(self, method: str, path: str, content: bytes, content_type: str = "application/json") -> Answer:
        request = self._http.request(method, path, content=content, headers={"Content-Type": content_type})
        response = self._loop.run_until_complete(request)
        return Answer.read(response.status_code, response.content)

    def odd(self) -> None:
        """What the generated half sends besides readable POSTs, handed over as its hook does
        (:func:`ivhsuite.gate.spec_cases.hooks._spot`), and the scenario's unknown path."""
        path = SPEC.operation("statsession").path
        body = b'{"Header": {}, "Payload": {"SessionId": "s"}}'
        self.spotter.undocumented(self.raw("GET", path, body), unknown_path=False)  # another verb
        unknown = path.rsplit("/", 1)[0] + "/" + test_undocumented.UNKNOWN_OPERATION
        self.spotter.undocumented(self.raw("POST", unknown, body), unknown_path=True)
        self.spotter.unreadable(self.raw("POST", path, b"\x00"))  # not JSON
        self.spotter.unreadable(self.raw("POST", path, b"null"))  # JSON, not an object
        self.spotter.declared("text/plain", self.raw("POST", path, body, "text/plain"))

    def create(self, user: str, **fields: Any) -> str:
        base = {"VirtualmanProjectId": PROJECT, "UserId": user, "Protocol": "rtmp", "DriverType": 1}
        return str(self.call("createsession", **{**base, **fields}).payload.get("SessionId"))


def observe(settings: EmulatorSettings) -> Spotter:
    """The calls of a gate run that show the silent points: errors, closing twice, a listing, nulls, an empty text."""
    client = Client(settings)
    cold = client.create("u1")  # preparing: is PlayStreamAddr given?
    client.call("statsession", SessionId=uuid.uuid4().hex)  # an error: its HTTP status and Payload
    client.call("closesession", SessionId=cold)
    client.call("closesession", SessionId=cold)  # closing twice
    client.call("listsessionofprojectid", VirtualmanProjectId=PROJECT)  # closed sessions listed?
    client.call("createsessionbyasset", AssetVirtualmanKey="", UserId="u2", Protocol="rtmp", DriverType=1)
    client.create("u3", StreamMaxInterval=None)  # null in place of an optional field
    started = client.create("u4")  # a new UserId, rtmp again: warm by the Protocol's cache, or cold
    client.now += PREPARE * 2
    client.call("startsession", SessionId=started)
    client.call("command", SessionId=started, Command="SEND_TEXT", Data={"Text": "Hello."})
    client.call("command", SessionId=started, Command="SEND_TEXT", Data={"Text": ""})  # too soon: 100012
    client.now += INTERVAL * 1.5
    client.call("command", SessionId=started, Command="SEND_TEXT", Data={"Text": ""})  # an empty text
    client.call("command", SessionId=7, Command="SEND_TEXT", Data={"Text": ""})  # invalid: says nothing of empty texts
    client.call("statsession", SessionId="ivhs.unusual~id")  # refused, or looked up (110018)
    client.odd()
    return client.spotter


def emulator(choices: dict[str, str], **more: Any) -> EmulatorSettings:
    return EmulatorSettings(
        project_ids=(PROJECT,), prepare_seconds=PREPARE, command_interval=INTERVAL, choices=choices, **more
    )


def round_trip(choices: dict[str, str], tmp_path: Path) -> tuple[dict[str, str], list[Any]]:
    spotter = observe(emulator(choices))
    file = tmp_path / "endpoint.toml"
    record(file, spotter.observed(), base_url="https://gw.example.com", quota=3, prepare=spotter.prepare_seconds())
    played = load_config(file)
    settings = {"prepare_seconds": PREPARE, "command_interval": INTERVAL, **played}
    replayed = observe(EmulatorSettings(project_ids=(PROJECT,), **settings))
    return spotter.observed(), compare(load_expected(file), replayed.observed(), replayed)


@pytest.mark.parametrize(
    ("name", "value"), [(n, v) for n, values in OBSERVABLE.items() for v in values], ids=lambda x: str(x)
)
def test_each_choice_is_observed_recorded_and_replayed_without_drift(name: str, value: str, tmp_path: Path) -> None:
    observed, rows = round_trip({name: value}, tmp_path)
    assert observed[name] == value
    assert [str(row) for row in rows if row.drifted or row.now is None] == []
    assert {row.name for row in rows} == set(observed)


@pytest.mark.parametrize(("name", "value"), [("unusual-ids", "refuse"), ("undocumented-method", "501")])
def test_one_changed_http_choice_is_exactly_that_drift(name: str, value: str, tmp_path: Path) -> None:
    file = tmp_path / "endpoint.toml"
    record(file, observe(emulator({})).observed(), base_url="https://gw.example.com", quota=None, prepare=None)
    now = observe(emulator({name: value}))
    drifted = [row for row in compare(load_expected(file), now.observed(), now) if row.drifted]
    assert [(row.name, row.now) for row in drifted] == [(name, value)]


def test_unreadable_bodies_and_other_verbs_are_no_business_errors() -> None:
    """A 400 to a body that is not JSON, or a 405 to GET, says nothing of the HTTP status of business errors."""
    client = Client(emulator({}))
    client.odd()
    client.call("statsession", SessionId=uuid.uuid4().hex)
    assert client.spotter.observed()["error-status"] == "200"


def test_undocumented_method_is_kept_only_when_the_answers_pin_it() -> None:
    """native and 405 answer a verb alike, native and 404 a path no operation has: one of them alone pins nothing."""
    path = SPEC.operation("statsession").path
    for choice, unknown_path, pinned in [("native", False, None), ("405", False, None), ("native", True, None),
                                         ("404", True, None), ("404", False, "404"), ("405", True, "405")]:  # fmt: skip
        client = Client(emulator({"undocumented-method": choice}))
        target = path.rsplit("/", 1)[0] + "/nothing" if unknown_path else path
        client.spotter.undocumented(client.raw("POST" if unknown_path else "PUT", target, b"{}"), unknown_path=unknown_path)
        assert client.spotter.observed().get("undocumented-method") == pinned, (choice, unknown_path)


def test_model_cache_is_not_observed_without_cold_starts() -> None:
    """Ready at once everywhere (no cold start at all) tells neither cache apart."""
    for cache in ("user", "protocol"):
        client = Client(EmulatorSettings(project_ids=(PROJECT,), prepare_seconds=0, choices={"model-cache": cache}))
        for user in ("u1", "u2", "u3"):
            client.create(user)
        assert "model-cache" not in client.spotter.observed()


def _user_id_max_rows(played: dict[str, str], user: str, recorded: str) -> tuple[Any, ...]:
    client = Client(emulator(played))
    client.create(user)
    row = compare({"user-id-max": recorded}, client.spotter.observed(), client.spotter)[0]
    return row.now, row.drifted, str(row)


def test_user_id_max_not_learned_drifts_only_when_a_longer_plain_user_id_is_accepted() -> None:
    plain = "u" * 32
    assert _user_id_max_rows({}, plain, "24") == (
        "over 24", True, "user-id-max: was 24, now over 24 (a 32-character UserId accepted)"
    )
    assert _user_id_max_rows({}, plain, "64")[:2] == (None, False)  # consistent: still not observed
    assert _user_id_max_rows({}, plain, "none")[:2] == (None, False)
    assert _user_id_max_rows({}, "u.v~" * 10, "24")[:2] == (None, False)  # long, but unusual: says nothing of length
    assert _user_id_max_rows({"user-id-max": "20"}, plain, "64")[:2] == (None, False)  # a refusal is never drift
    assert "user-id-max" not in observe(emulator({"user-id-max": "20"})).observed()


def _scenario_spotter(
    choices: dict[str, str], scenarios: tuple[Callable[[Probe], None], ...] | None = None, *, learning: bool = False
) -> Spotter:
    """Shipped scenarios (the channel and undocumented ones unless given), called as pytest calls them, against an
    emulator on a port; ``learning``: by a run that records choices."""
    settings = EmulatorSettings(
        project_ids=(PROJECT,), quota=5, prepare_seconds=0, channel_time_scale=0.05, choices=choices
    )
    with serve_in_thread(settings) as running:
        target = Target(base_url=running.base_url, project_id=PROJECT)
        recording = Path("endpoint.toml") if learning else None  # never written: only the run's intent counts
        run = RunContext(GateOptions(target, quota=5, poll_interval=0.01, record_choices=recording))
        try:
            with Probe(run) as probe:
                for scenario in scenarios or SPOTTING_SCENARIOS:
                    scenario(probe)
        finally:
            run.finish()
            run.shutdown()
        assert not [s for s in running.app.state.store.account_sessions() if s.status in LIVE_STATUSES]
    return run.spotter


SPOTTING_SCENARIOS = (
    test_channel.test_a_text_session_refuses_audio_and_ends_its_channel_when_preempted,
    test_channel.test_a_channel_is_refused_before_startsession,
    test_channel.test_a_channel_is_refused_for_a_session_that_is_not_live,
    test_undocumented.test_an_unusual_session_id_is_refused_or_looked_up,
    test_undocumented.test_a_path_no_operation_has_gets_no_server_error,
)
PREEMPT_ACROSS = (test_preemption.test_whether_a_create_by_asset_closes_a_session_created_by_project,)
USER_ID_MAX = (test_undocumented.test_how_long_a_user_id_may_be,)


@pytest.mark.parametrize("choices", CHANNEL, ids=lambda c: c["channel-refusal"])
def test_the_channel_choices_are_observed_recorded_and_replayed_without_drift(
    choices: dict[str, str], tmp_path: Path
) -> None:
    spotter = _scenario_spotter(choices)
    observed = spotter.observed()
    assert {name: observed.get(name) for name in choices} == choices
    file = tmp_path / "endpoint.toml"
    record(file, observed, base_url="https://gw.example.com", quota=5, prepare=None)
    replayed = _scenario_spotter(load_config(file)["choices"].changed())
    assert [str(row) for row in compare(load_expected(file), replayed.observed(), replayed) if row.drifted] == []
    changed = {**choices, "second-channel": "refuse" if choices["second-channel"] == "replace" else "replace"}
    now = _scenario_spotter(changed)
    drifted = [(row.name, row.now) for row in compare(load_expected(file), now.observed(), now) if row.drifted]
    assert drifted == [("second-channel", changed["second-channel"])]


def _learning_spotter(choices: dict[str, str], *, learning: bool = True) -> Spotter:
    return _scenario_spotter(choices, PREEMPT_ACROSS, learning=learning)


@pytest.mark.parametrize("value", LEARNED["preempt-across"])
def test_preempt_across_is_learned_recorded_and_replayed_without_drift(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(test_preemption, "GRACE", 0.5)  # the gate's own grace (10 s), shortened: "no" waits it out
    observed = _learning_spotter({"preempt-across": value}).observed()
    assert observed.get("preempt-across") == value
    file = tmp_path / "endpoint.toml"
    record(file, observed, base_url="https://gw.example.com", quota=5, prepare=None)
    replayed = _learning_spotter(load_config(file)["choices"].changed())
    assert [str(row) for row in compare(load_expected(file), replayed.observed(), replayed) if row.drifted] == []
    other = "no" if value == "yes" else "yes"
    now = _learning_spotter({"preempt-across": other})
    drifted = [(row.name, row.now) for row in compare(load_expected(file), now.observed(), now) if row.drifted]
    assert drifted == [("preempt-across", other)]


@pytest.mark.parametrize("value", LEARNED["user-id-max"])
def test_user_id_max_is_learned_recorded_and_replayed_without_drift(value: str, tmp_path: Path) -> None:
    observed = _scenario_spotter({"user-id-max": value}, USER_ID_MAX, learning=True).observed()
    assert observed.get("user-id-max") == value
    file = tmp_path / "endpoint.toml"
    record(file, observed, base_url="https://gw.example.com", quota=5, prepare=None)
    replayed = _scenario_spotter(load_config(file)["choices"].changed(), USER_ID_MAX, learning=True)
    assert [str(row) for row in compare(load_expected(file), replayed.observed(), replayed) if row.drifted] == []
    other = "64" if value == "none" else "none"
    now = _scenario_spotter({"user-id-max": other}, USER_ID_MAX, learning=True)
    drifted = [(row.name, row.now) for row in compare(load_expected(file), now.observed(), now) if row.drifted]
    assert drifted == [("user-id-max", other)]


def test_user_id_max_below_the_run_s_own_user_ids_is_not_learned() -> None:
    with pytest.raises(pytest.skip.Exception, match="below the run's own UserIds"):
        _scenario_spotter({"user-id-max": "20"}, USER_ID_MAX, learning=True)


@pytest.mark.parametrize("scenarios", [PREEMPT_ACROSS, USER_ID_MAX], ids=["preempt-across", "user-id-max"])
def test_a_run_that_does_not_learn_choices_spends_no_session_on_them(scenarios: Any) -> None:
    with pytest.raises(pytest.skip.Exception, match="--record-choices"):
        _scenario_spotter({}, scenarios, learning=False)


def test_one_changed_choice_is_exactly_one_drift(tmp_path: Path) -> None:
    file = tmp_path / "endpoint.toml"
    recorded = observe(emulator({"close-twice": "ok", "error-status": "4xx"}))
    record(file, recorded.observed(), base_url="https://gw.example.com", quota=None, prepare=None)
    now = observe(emulator({"close-twice": "error", "error-status": "4xx"}))
    drifted = [str(row) for row in compare(load_expected(file), now.observed(), now) if row.drifted]
    assert drifted == ["close-twice: was ok, now error (Code 110013)"]


def test_a_choice_the_run_did_not_observe_is_not_observed_never_drift() -> None:
    rows = compare({"close-twice": "error", "rate-limit": "20"}, {"close-twice": "error"})
    assert [(row.name, row.drifted, row.now) for row in rows] == [
        ("close-twice", False, "error"),
        ("rate-limit", False, None),
    ]
    assert str(rows[1]) == "rate-limit: was 20, not observed"


def test_the_recording_is_the_emulators_config_with_the_date_and_host_as_comments(tmp_path: Path) -> None:
    file = tmp_path / "endpoint.toml"
    record(file, {"close-twice": "error"}, base_url="https://gw.tvs.qq.com", quota=5, prepare=12.5)
    text = file.read_text()
    assert text.startswith("# The choices of gw.tvs.qq.com, recorded by ivhsuite gate on ")
    loaded = load_config(file)
    assert loaded["quota"] == 5 and loaded["prepare_seconds"] == 12.5 and loaded["choices"].close_twice == "error"


def test_an_unknown_choice_in_the_expected_file_is_a_config_error(tmp_path: Path) -> None:
    file = tmp_path / "endpoint.toml"
    file.write_text('[choices]\nclose-thrice = "ok"\n')
    with pytest.raises(ConfigError, match="close-thrice"):
        load_expected(file)


def test_every_choice_makes_the_round_trip_in_some_test() -> None:
    channel = set(CHANNEL[0])
    assert set(OBSERVABLE) | channel | set(LEARNED) | set(MEASURED_CHOICES) == set(CHOICES)


@pytest.mark.slow
def test_the_gate_records_replays_and_reports_drift(tmp_path: Path) -> None:
    """``--record-choices`` against one endpoint, then ``--expect-choices --fail-on-drift`` against its
    recording played with one choice changed: exactly that drift, exit 1, in the terminal and the JUnit file."""
    from ivhsuite.emulator import serve_in_thread

    file = tmp_path / "endpoint.toml"
    base = {"close-twice": "error", "error-status": "4xx", "session-id": "uuid", "list-closed": "yes"}
    with serve_in_thread(emulator(base, quota=5)) as running:
        done = run_gate_process(
            "--base-url", running.base_url, "--quota", "5", "--only", "scenarios",
            "--report-dir", str(tmp_path / "record"), "--record-choices", str(file),
        )  # fmt: skip
        assert not [s for s in running.app.state.store.account_sessions() if s.status in LIVE_STATUSES]
    assert done.returncode == 0, done.stdout[-3000:]
    played = load_config(file)
    assert played["choices"].close_twice == "error" and played["choices"].session_id == "uuid"
    assert 'preempt-across = "yes"' in file.read_text()  # learned: the run records choices
    assert 'user-id-max = "none"' in file.read_text()
    assert "test_whether_a_create_by_asset_closes_a_session_created_by_project" in (
        tmp_path / "record" / "junit.xml"
    ).read_text()
    changed = EmulatorSettings(
        project_ids=(PROJECT,), quota=5, prepare_seconds=PREPARE,
        choices={**base, "close-twice": "ok"},
    )  # fmt: skip
    with serve_in_thread(changed) as running:
        done = run_gate_process(
            "--base-url", running.base_url, "--quota", "5", "--only", "scenarios",
            "--report-dir", str(tmp_path / "compare"), "--expect-choices", str(file), "--fail-on-drift",
        )  # fmt: skip
    assert done.returncode == 1, done.stdout[-3000:]
    assert [line.strip() for line in done.stdout.splitlines() if "≠ drift" in line] == [
        "≠ drift: close-twice: was error, now ok (Code 0)"
    ]
    assert "drift: close-twice" in (tmp_path / "compare" / "junit.xml").read_text()


@pytest.mark.slow
def test_the_generated_half_records_what_other_verbs_unreadable_bodies_and_media_types_get(tmp_path: Path) -> None:
    """schemathesis's coverage phase sends other verbs, bodies that are no JSON object and JSON as text/plain:
    recorded as played, not as business errors; the recording replayed with one choice changed is that drift."""
    from ivhsuite.emulator import serve_in_thread

    file = tmp_path / "endpoint.toml"
    played = {"undocumented-method": "html", "unreadable-body": "html", "content-type": "json"}
    flags = ["--quota", "5", "--only", "schemathesis", "--phases", "coverage", "--max-examples", "5"]
    with serve_in_thread(emulator(played, quota=5)) as running:
        done = run_gate_process(
            "--base-url", running.base_url, *flags, "--report-dir", str(tmp_path / "record"), "--record-choices", str(file)
        )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    recorded = load_expected(file)
    assert {name: recorded.get(name) for name in played} == played
    assert recorded["error-status"] == "200"  # the 400s and 405s above are no business errors
    with serve_in_thread(emulator({**played, "unreadable-body": "json"}, quota=5)) as running:
        done = run_gate_process(
            "--base-url", running.base_url, *flags, "--report-dir", str(tmp_path / "compare"), "--expect-choices", str(file)
        )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    drifted = [line.strip() for line in done.stdout.splitlines() if "≠ drift" in line]
    assert len(drifted) == 1 and drifted[0].startswith("≠ drift: unreadable-body: was html, now json (HTTP 4"), drifted


def test_a_fuzzed_session_id_of_any_json_type_is_spotted_without_error(run: Any) -> None:
    """The generated half sends any JSON value as SessionId: the after_call hook must not trip over a dict."""
    from types import SimpleNamespace

    from ivhsuite.gate.spec_cases import hooks

    body = {"Header": {}, "Payload": {"ReqId": "a" * 32, "SessionId": {"not": "a string"}}}
    case = SimpleNamespace(
        operation=SimpleNamespace(path=SPEC.operation("closesession").path),
        body=body,
        method="POST",
        headers={},
        media_type="application/json",
    )
    content = b'{"Header": {"Code": 100001, "Message": "bad"}, "Payload": {}}'
    response = SimpleNamespace(status_code=200, content=content, headers={}, elapsed=0.002)
    hooks.after_call(None, case, response)  # type: ignore[arg-type]
    assert run.counters.generated == 1 and run.spotter.observed()["error-status"] == "200"


@pytest.mark.parametrize(
    ("method", "headers", "body", "status", "content", "spotted"),
    [
        ("PUT", {}, {"Payload": {}}, 405, b'{"Header": {"Code": 100001}}', {}),  # native or 405: not pinned
        ("PUT", {}, {"Payload": {}}, 501, b"<html>501</html>", {"undocumented-method": "html"}),
        ("POST", {"Content-Type": "text/plain"}, {"Payload": {}}, 415, b"", {"content-type": "json"}),
        # read anyway: it counts against a rate limit (and a create of it warms a model cache)
        ("POST", {"Content-Type": "text/plain"}, {"Payload": {}}, 200, b'{"Header": {"Code": 100001}}',
         {"content-type": "any", "rate-limit": "none"}),  # fmt: skip
        ("POST", {}, b"\x00", 400, b"<html>400</html>", {"unreadable-body": "html"}),
        ("POST", {}, None, 400, b'{"Header": {"Code": 100001}}', {"unreadable-body": "json"}),
    ],
)
def test_the_hook_hands_each_kind_of_request_to_its_spotter(
    run: Any, method: str, headers: dict[str, str], body: Any, status: int, content: bytes, spotted: dict[str, str]
) -> None:
    """What the generated half sends besides readable POSTs: spotted apart, never as a business error."""
    from types import SimpleNamespace

    from ivhsuite.gate.spec_cases import hooks

    path = SPEC.operation("statsession").path
    case = SimpleNamespace(
        operation=SimpleNamespace(path=path), body=body, method=method, headers=headers, media_type="application/json"
    )
    response = SimpleNamespace(status_code=status, content=content, headers={}, elapsed=0.002)
    hooks.after_call(None, case, response)  # type: ignore[arg-type]
    assert run.spotter.observed() == spotted


# --- the measured choices: an in-process emulator on the test's clock, so no sleep and no timing ----------------


def _measured_round_trip(
    drive: Callable[[Client], None], recorded: dict[str, str], changed: dict[str, str], tmp_path: Path, **more: Any
) -> tuple[dict[str, str], list[str], list[tuple[str, str | None]]]:
    """``drive`` an emulator playing ``recorded``, record; drive its recording played back, and one playing
    ``changed``: (what was recorded, the replay's drift, the changed one's drift)."""
    file = tmp_path / "endpoint.toml"

    def run(settings: EmulatorSettings) -> Spotter:
        client = Client(settings)
        drive(client)
        return client.spotter

    first = run(emulator(recorded, **more))
    record(file, first.observed(), base_url="https://gw.example.com", quota=None, prepare=None,
           measured=first.measures.measured())  # fmt: skip
    expected, measured = load_expected(file), load_measured(file)
    played = {"project_ids": (PROJECT,), "prepare_seconds": PREPARE, "command_interval": INTERVAL, **more}
    replayed = run(EmulatorSettings(**{**played, **load_config(file)}))
    held = [str(row) for row in compare(expected, replayed.observed(), replayed, measured) if row.drifted]
    now = run(emulator(changed, **more))
    drifted = [(row.name, row.now) for row in compare(expected, now.observed(), now, measured) if row.drifted]
    return expected, held, drifted


def _new_users_over_time(client: Client) -> None:
    """rtmp sessions of new UserIds 1 s, 3 s and 0.1 s after the last: warm or cold by the Protocol's cache."""
    for user, after in (("u1", 0.0), ("u2", 1.0), ("u3", 3.0), ("u4", 0.1)):
        client.now += after
        client.create(user)


@pytest.mark.parametrize(("changed", "now"), [("10", "over 3"), ("0.5", "at most 1")])
def test_model_cache_seconds_is_measured_recorded_and_replayed_and_a_changed_one_drifts(
    changed: str, now: str, tmp_path: Path
) -> None:
    cache = {"model-cache": "protocol", "model-cache-seconds": "2"}
    expected, held, drifted = _measured_round_trip(
        _new_users_over_time, cache, {**cache, "model-cache-seconds": changed}, tmp_path
    )
    assert expected["model-cache"] == "protocol"
    assert float(expected["model-cache-seconds"]) == 2  # in (1, 3]: warm 1 s after the last create, cold 3 s after
    measured = load_measured(tmp_path / "endpoint.toml")
    assert (measured["cache-warm-after"], measured["cache-cold-after"]) == (1.0, 3.0)
    assert held == []
    assert drifted == [("model-cache-seconds", now)]


def test_model_cache_seconds_is_not_measured_under_a_per_user_cache(tmp_path: Path) -> None:
    client = Client(emulator({"model-cache": "user"}))
    _new_users_over_time(client)
    assert client.spotter.observed()["model-cache"] == "user"
    assert "model-cache-seconds" not in client.spotter.observed()
    assert "cache-cold-after" not in client.spotter.measures.measured()


def _cold_sessions(client: Client) -> None:
    """30 cold sessions (new UserIds, a per-user cache), each polled once it is due: ready, or failed."""
    for index in range(30):
        session = client.create(f"cold{index}")
        client.now += PREPARE * 2
        client.call("statsession", SessionId=session)
        client.call("closesession", SessionId=session)


@pytest.mark.parametrize(("recorded", "changed"), [("0", "0.5"), ("0.5", "0")])
def test_cold_failure_is_counted_recorded_and_replayed_and_a_changed_one_drifts(
    recorded: str, changed: str, tmp_path: Path
) -> None:
    expected, held, drifted = _measured_round_trip(
        _cold_sessions, {"cold-failure": recorded}, {"cold-failure": changed}, tmp_path, seed=7
    )
    measured = load_measured(tmp_path / "endpoint.toml")
    assert measured["cold-sessions"] == 30
    assert float(expected["cold-failure"]) == round(measured["cold-failures"] / 30, 3)
    assert (float(expected["cold-failure"]) > 0) == (recorded != "0")
    assert held == []
    assert [name for name, _ in drifted] == ["cold-failure"]


def test_cold_failures_compare_by_their_counts_not_their_rounded_rate() -> None:
    """3 of 30 recorded and 0 of 10 now are one endpoint; a value written by hand is compared as exact."""
    client = Client(emulator({"model-cache": "user"}, seed=7))
    for index in range(10):
        session = client.create(f"cold{index}")
        client.now += PREPARE * 2
        client.call("statsession", SessionId=session)
    assert client.spotter.measures.cold_counts() == (0, 10)
    recorded = {"cold-sessions": 30.0, "cold-failures": 3.0}
    assert client.spotter.measures.compare("cold-failure", "0.1", recorded) == (
        "0.1", "0 of 10 cold sessions failed; recorded 3 of 30"
    )
    assert client.spotter.measures.compare("cold-failure", "0.9", {})[0] == "0"  # 0 of 10 at 0.9: drift


def _paced(client: Client, per_second: float = 100.0, seconds: float = 5.0) -> None:
    """statsessions at a steady ``per_second`` for ``seconds`` on the emulator's clock."""
    for _ in range(int(per_second * seconds)):
        client.call("statsession", SessionId=uuid.uuid4().hex)
        client.now += 1 / per_second


@pytest.mark.parametrize(("recorded", "changed", "now"), [("10", "none", "none"), ("10", "40", "40"), ("none", "10", "10")])
def test_rate_limit_is_measured_recorded_and_replayed_and_a_changed_one_drifts(
    recorded: str, changed: str, now: str, tmp_path: Path
) -> None:
    expected, held, drifted = _measured_round_trip(
        _paced, {"rate-limit": recorded}, {"rate-limit": changed}, tmp_path
    )
    if recorded == "none":
        assert expected["rate-limit"] == "none"
        assert load_measured(tmp_path / "endpoint.toml")["busiest-second"] >= 100
    else:
        assert 9 <= float(expected["rate-limit"]) <= 11  # the rate a busy token bucket admits
    assert held == []
    assert [name for name, _ in drifted] == ["rate-limit"]
    value = drifted[0][1]
    assert value == now if now == "none" else abs(float(str(value)) / float(now) - 1) < 0.1, drifted


def test_a_run_that_eases_off_between_refusals_still_measures_the_rate() -> None:
    """Busy, then quiet for 20 s, then busy: the rate is the busy windows', not the average between refusals."""
    client = Client(emulator({"rate-limit": "10"}))
    _paced(client, seconds=3.0)
    client.now += 20.0
    _paced(client, seconds=3.0)
    rate = client.spotter.measures.rate()[1]
    assert rate is not None and 9 <= rate <= 11


def test_refusals_too_far_apart_pin_no_rate() -> None:
    """Two refusals 10 s apart say there is a limit, not its rate: not observed, never a guess."""
    measures = Measures()
    for second in range(11):
        refused = second in (0, 10)
        measures.see("statsession", {"SessionId": "s"}, answer(100012 if refused else 110018), (second, second))
    assert measures.rate() == (True, None, 2)  # 1 s apart: two in one closed second
    assert "rate-limit" not in measures.observed()
    assert measures.compare("rate-limit", "20", {}) == ("20", "100012, too few to measure a rate")


def test_the_text_interval_is_no_rate_limit() -> None:
    """command's 100012 is also the text interval: it never says the endpoint limits its rate."""
    client = Client(emulator({}))
    session = client.create("u1")
    client.now += PREPARE * 2
    client.call("startsession", SessionId=session)
    for _ in range(5):
        client.call("command", SessionId=session, Command="SEND_TEXT", Data={"Text": "Hello."})
    assert client.spotter.observed()["rate-limit"] == "none"


def test_a_recording_s_measured_table_is_checked_and_the_emulator_ignores_it(tmp_path: Path) -> None:
    file = tmp_path / "endpoint.toml"
    file.write_text('[choices]\ncold-failure = "0.1"\n\n[measured]\ncold-sessions = 30\ncold-failures = 3\n')
    assert load_measured(file) == {"cold-sessions": 30.0, "cold-failures": 3.0}
    assert load_config(file)["choices"].cold_failure == 0.1
    file.write_text("[measured]\ncold-starts = 30\n")
    with pytest.raises(ConfigError, match="cold-starts"):
        load_measured(file)


def test_closing_twice_refused_as_too_frequent_says_nothing_of_closing_twice() -> None:
    """Beside a busy run a second closesession may get 100012: the rate limit's answer, not the closed session's."""
    spotter = Spotter()
    spotter.see("closesession", {"SessionId": "s1"}, answer(100012), closed_before=True)
    assert "close-twice" not in spotter.observed()
    spotter.see("closesession", {"SessionId": "s1"}, answer(110013), closed_before=True)
    assert spotter.observed()["close-twice"] == "error"


def test_a_refused_poll_says_nothing_of_how_a_cold_session_ended() -> None:
    """A statsession refused (100012 beside a busy run, or a gateway's page) leaves the session cold, not ended."""
    measures = Measures()
    create = {"VirtualmanProjectId": PROJECT, "UserId": "u1", "Protocol": "rtmp"}
    measures.see("createsession", create, answer(0, SessionId="s1", SessionStatus=3), (1.0, 1.1))
    measures.see("statsession", {"SessionId": "s1"}, answer(100012), (1.2, 1.3))
    measures.see("statsession", {"SessionId": "s1"}, Answer.read(502, b"<html>502</html>"), (1.4, 1.5))
    measures.see("statsession", {"SessionId": "s1"}, answer(0, SessionStatus=4, ErrorCode=-111003), (1.6, 1.7))
    assert measures.cold_counts() == (1, 1)


@pytest.mark.slow
def test_the_gate_measures_records_and_replays_the_estimated_choices(tmp_path: Path) -> None:
    """Through the gate's own hooks and probe, with their real send and answer times: a rate limit and a short
    Protocol cache are recorded with what they were measured from and replayed without drift, and a slower
    limit is exactly that drift."""
    file = tmp_path / "endpoint.toml"
    played = {"model-cache": "protocol", "model-cache-seconds": "3", "rate-limit": "25"}
    settings: dict[str, Any] = {"project_ids": (PROJECT,), "quota": 5, "prepare_seconds": 0.5}

    def gate(emulated: EmulatorSettings, folder: str, *flags: str) -> Any:
        with serve_in_thread(emulated) as running:
            done = run_gate_process(
                "--base-url", running.base_url, "--quota", "5", "--report-dir", str(tmp_path / folder), *flags
            )  # fmt: skip
            assert not [s for s in running.app.state.store.account_sessions() if s.status in LIVE_STATUSES]
        return done

    done = gate(EmulatorSettings(**settings, choices=played), "record", "--record-choices", str(file))
    assert done.returncode == 0, done.stdout[-3000:]
    recorded, measured = load_expected(file), load_measured(file)
    assert recorded["model-cache"] == "protocol"
    assert measured.get("cache-warm-after", 0) < 3 <= measured["cache-cold-after"]  # bounds that hold the truth
    assert 25 / 2 <= float(recorded["rate-limit"]) <= 25 * 2, recorded["rate-limit"]
    replayed = EmulatorSettings(**{**settings, **load_config(file)})
    done = gate(replayed, "replay", "--expect-choices", str(file), "--fail-on-drift")
    assert done.returncode == 0, done.stdout[-3000:]
    done = gate(EmulatorSettings(**settings, choices={**played, "rate-limit": "8"}), "changed", "--expect-choices", str(file))
    assert done.returncode == 0, done.stdout[-3000:]
    drifted = [line.strip() for line in done.stdout.splitlines() if "≠ drift" in line]
    assert len(drifted) == 1 and drifted[0].startswith("≠ drift: rate-limit: was "), drifted


def test_the_cache_bounds_hold_whatever_the_latency() -> None:
    """Each bound takes the create's send and answer times at their least favourable: a create still in flight may
    have warmed the cache at any moment until its answer, and one answered before was handled after it was sent."""
    measures = Measures()
    model = {"VirtualmanProjectId": PROJECT, "Protocol": "rtmp"}
    for user, status, span in [("a", 3, (0.0, 1.0)), ("b", 1, (0.5, 5.5)), ("c", 3, (10.0, 12.0)), ("d", 1, (14.0, 14.5))]:
        measures.see("createsession", {**model, "UserId": user}, answer(0, SessionId=user, SessionStatus=status), span)
    # b: warm, but a was in flight until 1.0, after b was sent: no bound. c: cold, b was sent at 0.5 at the latest
    # and c answered at 12.0, so the gap was at most 11.5. d: warm 14.0 - 12.0 = 2 s after c's answer at the least.
    assert measures.cache_bounds() == (2.0, 11.5)
