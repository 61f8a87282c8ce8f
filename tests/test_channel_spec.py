"""The command channel's AsyncAPI document: valid AsyncAPI 3.0, and read by its loader."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

from ivhsuite.channel_spec import load_channel_spec
from ivhsuite.packaged import channel_spec_file
from ivhsuite.protocol import Code

ROOT = Path(__file__).resolve().parents[1]
FETCH = ROOT / ".ci" / "fetch-asyncapi-schema"
OFFICIAL = ROOT / ".cache" / "asyncapi-specs" / "6.11.1" / "3.0.0-without-$id.json"
REQID = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def official_schema() -> dict:
    """The official AsyncAPI 3.0.0 schema (npm @asyncapi/specs); fetched when missing, never skipped."""
    if not OFFICIAL.exists():
        done = subprocess.run([str(FETCH)], capture_output=True, text=True, timeout=300)
        if done.returncode != 0 or not OFFICIAL.exists():
            pytest.fail(
                f"the official AsyncAPI 3.0.0 schema is missing ({OFFICIAL}); {FETCH} failed: "
                f"{done.stderr.strip() or done.stdout.strip()}"
            )
    return json.loads(OFFICIAL.read_text(encoding="utf-8"))


def test_document_is_valid_asyncapi_3(official_schema: dict) -> None:
    document = yaml.safe_load(channel_spec_file().read_text(encoding="utf-8"))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in Draft7Validator(official_schema).iter_errors(document)]
    assert errors == []


def test_the_official_schema_refuses_a_broken_document(official_schema: dict) -> None:
    document = yaml.safe_load(channel_spec_file().read_text(encoding="utf-8"))
    document["operations"]["receiveText"]["action"] = "publish"  # AsyncAPI 2's word, gone in 3.0
    assert not Draft7Validator(official_schema).is_valid(document)


def test_rules_come_from_the_document() -> None:
    rules = load_channel_spec().rules
    assert (rules.audio.packet_bytes, rules.audio.head_start_packets) == (5120, 6)
    assert rules.audio.send_interval_seconds / rules.audio.packet_seconds == pytest.approx(rules.audio.min_ratio)
    assert rules.audio.seconds_of(rules.audio.packet_bytes) == pytest.approx(rules.audio.packet_seconds)
    assert (rules.idle_drop_seconds, rules.stream_max_interval_ms) == (180.0, 2000)


def test_every_refusal_code_is_documented() -> None:
    refusals = load_channel_spec().refusals
    codes = {r.code for r in refusals.values() if r.code is not None}
    assert codes <= set(Code)
    assert all(r.close_code is not None for r in refusals.values() if r.delivery == "close")


def _command(name: str, **data: object) -> dict:
    return {"Payload": {"ReqId": REQID, "SessionId": "s1", "Command": name, "Data": data}}


@pytest.mark.parametrize(
    "body",
    [
        _command("SEND_TEXT", Text="hello", ChatCommand="NotUseChat"),
        _command("SEND_STREAMTEXT", Text="he", Seq=1, IsFinal=False),
        _command("SEND_AUDIO", Audio="AAAA", Seq=1, IsFinal=True),
        _command("SEND_HEARTBEAT", Text="PING"),
        {"Header": {}, **_command("SEND_TEXT", Text="")},
    ],
    ids=["text", "streamtext", "audio", "heartbeat", "with-header"],
)
def test_documented_commands_pass(body: dict) -> None:
    assert load_channel_spec().command_violation(body) is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("not an object", "Payload"),
        (_command("SEND_VIDEO", Text="x"), "Payload.Command"),
        ({"Payload": {"SessionId": "s1", "Command": "SEND_TEXT", "Data": {"Text": "x"}}}, "Payload.ReqId"),
        (_command("SEND_AUDIO", Audio="AAAA", Seq=0), "Payload.Data.Seq"),
        (_command("SEND_AUDIO", Audio="not base64!", Seq=1), "Payload.Data.Audio"),
        (_command("SEND_HEARTBEAT", Text="PONG"), "Payload.Data.Text"),
    ],
    ids=["not-object", "unknown-command", "no-reqid", "seq-0", "audio-not-base64", "heartbeat-not-ping"],
)
def test_bad_commands_name_their_field(body: object, field: str) -> None:
    violation = load_channel_spec().command_violation(body)
    assert violation is not None and violation.field == field


def test_downstream_status_validates() -> None:
    spec = load_channel_spec()
    status = {"Header": {"Code": 0}, "Payload": {"Type": 3, "SessionId": "s", "ReqId": REQID, "SpeakStatus": "AudioOver", "FinalType": 2}}
    assert spec.downstream_violation(status) is None
    assert spec.downstream_violation({"Payload": {"Type": 3, "SessionId": "s", "SpeakStatus": "Talking"}}) is not None
