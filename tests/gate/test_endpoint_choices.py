"""The endpoint's choices recorded, replayed and compared: every choice one run can observe makes the round trip.

For each observable choice value an emulator plays it; the same calls a gate run makes go
through a :class:`Spotter`; the recording, played by a new emulator (``--config``), is
observed alike (no drift); one changed choice is exactly one drift. Choices one run cannot
tell apart are never guessed: "not observed", never drift.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from ivhsuite.emulator import EmulatorSettings
from ivhsuite.emulator.app import create_app
from ivhsuite.emulator.choices import CHOICES
from ivhsuite.emulator.configfile import load_config
from ivhsuite.errors import ConfigError
from ivhsuite.gate.endpoint_choices import Spotter, compare, load_expected, record
from ivhsuite.protocol import LIVE_STATUSES, Answer
from ivhsuite.spec import load_spec

from .conftest import PROJECT, run_gate_process

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
}


class Client:
    """Calls the emulator in process and feeds every answer to the spotter, as the gate's probe does."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self._loop = asyncio.new_event_loop()
        self._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://e")
        self.spotter = Spotter()
        self.closed: set[str] = set()

    def call(self, operation: str, **payload: Any) -> Answer:
        payload = {"ReqId": uuid.uuid4().hex, **payload}
        post = self._http.post(SPEC.operation(operation).path, json={"Header": {}, "Payload": payload})
        response = self._loop.run_until_complete(post)
        answer = Answer.read(response.status_code, response.content)
        closed_before = payload.get("SessionId") in self.closed
        self.spotter.see(operation, payload, answer, response.headers.get("retry-after"), closed_before=closed_before)
        if operation == "closesession" and answer.ok:
            self.closed.add(str(payload["SessionId"]))
            self.spotter.closed_one()
        return answer

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
    started = client.create("u4")
    time.sleep(PREPARE * 2)
    client.call("startsession", SessionId=started)
    client.call("command", SessionId=started, Command="SEND_TEXT", Data={"Text": "Hello."})
    client.call("command", SessionId=started, Command="SEND_TEXT", Data={"Text": ""})  # too soon: 100012
    time.sleep(INTERVAL * 1.5)
    client.call("command", SessionId=started, Command="SEND_TEXT", Data={"Text": ""})  # an empty text
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


def test_one_changed_choice_is_exactly_one_drift(tmp_path: Path) -> None:
    file = tmp_path / "endpoint.toml"
    recorded = observe(emulator({"close-twice": "ok", "error-status": "4xx"}))
    record(file, recorded.observed(), base_url="https://gw.example.com", quota=None, prepare=None)
    now = observe(emulator({"close-twice": "error", "error-status": "4xx"}))
    drifted = [str(row) for row in compare(load_expected(file), now.observed(), now) if row.drifted]
    assert drifted == ["close-twice: was ok, now error (Code 110013)"]


def test_a_choice_the_run_did_not_observe_is_not_observed_never_drift() -> None:
    rows = compare({"close-twice": "error", "rate-limit": "20"}, {"close-twice": "error"})
    assert [(row.name, row.drifted, row.now) for row in rows] == [("close-twice", False, "error"), ("rate-limit", False, None)]
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


def test_every_observable_choice_is_an_emulator_choice() -> None:
    assert set(OBSERVABLE) <= set(CHOICES)


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


def test_a_fuzzed_session_id_of_any_json_type_is_spotted_without_error(run: Any) -> None:
    """The generated half sends any JSON value as SessionId: the after_call hook must not trip over a dict."""
    from types import SimpleNamespace

    from ivhsuite.gate.spec_cases import hooks

    body = {"Header": {}, "Payload": {"ReqId": "a" * 32, "SessionId": {"not": "a string"}}}
    case = SimpleNamespace(operation=SimpleNamespace(path=SPEC.operation("closesession").path), body=body, method="POST")
    content = b'{"Header": {"Code": 100001, "Message": "bad"}, "Payload": {}}'
    response = SimpleNamespace(status_code=200, content=content, headers={}, elapsed=0.002)
    hooks.after_call(None, case, response)  # type: ignore[arg-type]
    assert run.counters.generated == 1 and run.spotter.observed()["error-status"] == "200"
