"""The AsyncAPI document of the command channel, loaded once: message validators and the rules.

Like :mod:`ivhsuite.spec` for the HTTP API, this is the one place that reads the channel's
document. Every upstream command has a compiled validator (chosen by its ``Command``), the
downstream messages one; the documented rules (intervals, pacing, packet sizes, heartbeat,
idle drop) come from the channel's ``x-rules`` and the refusals from ``x-refusals``, so the
emulator, the client and the checks never restate a number.

>>> spec = load_channel_spec()
>>> spec.rules.audio.packet_bytes, spec.rules.text_interval_seconds
(5120, 1.0)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ivhsuite.packaged import channel_spec_file
from ivhsuite.spec import SchemaCheck, Violation, read_document

CHANNEL_URI = "urn:ivhsuite:asyncapi"
CHANNEL = "commandChannel"
DOWNSTREAM = "Downstream"  # the one message the server sends; every other message is a command


@dataclass(frozen=True)
class AudioRules:
    """SEND_AUDIO's pacing: raw PCM in packets, a head start, then one packet an interval."""

    sample_rate: int
    sample_bytes: int
    channels: int
    packet_bytes: int
    packet_seconds: float
    send_interval_seconds: float
    head_start_packets: int
    min_ratio: float
    max_ratio: float

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * self.sample_bytes * self.channels

    def seconds_of(self, n_bytes: int) -> float:
        """How long ``n_bytes`` of PCM play."""
        return n_bytes / self.bytes_per_second


@dataclass(frozen=True)
class ChannelRules:
    """The documented rules of the channel (``x-rules``)."""

    text_interval_seconds: float
    text_max_bytes: int
    stream_text_max_bytes: int
    audio: AudioRules
    stream_max_interval_ms: int  # the default; a session may ask for another within the bounds below
    stream_max_interval_bounds: tuple[int, int]
    heartbeat_seconds: tuple[float, float]
    idle_drop_seconds: float
    resent_drives: int
    final_by_client: int
    final_by_server: int

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> ChannelRules:
        audio = {key.replace("-", "_"): value for key, value in raw["audio"].items()}
        interval = raw["stream-max-interval-ms"]
        return cls(
            text_interval_seconds=float(raw["text-interval-seconds"]),
            text_max_bytes=int(raw["text-max-bytes"]),
            stream_text_max_bytes=int(raw["stream-text-max-bytes"]),
            audio=AudioRules(**audio),
            stream_max_interval_ms=int(interval["default"]),
            stream_max_interval_bounds=(int(interval["minimum"]), int(interval["maximum"])),
            heartbeat_seconds=(float(raw["heartbeat-seconds"]["minimum"]), float(raw["heartbeat-seconds"]["maximum"])),
            idle_drop_seconds=float(raw["idle-drop-seconds"]),
            resent_drives=int(raw["resent-drives"]),
            final_by_client=int(raw["final-types"]["client"]),
            final_by_server=int(raw["final-types"]["server"]),
        )


@dataclass(frozen=True)
class Refusal:
    """One documented refusal: its Header.Code (None for a bare close) and how it is delivered."""

    name: str
    code: int | None
    delivery: str  # handshake | message | close
    close_code: int | None = None
    max_bytes: int | None = None
    per_second: int | None = None
    close_after: int | None = None


class ChannelSpec:
    """The parsed channel document: the address, its query, the validators, rules and refusals."""

    def __init__(self, document: Mapping[str, Any], path: Path | None = None) -> None:
        self.document = document
        self.path = path
        channel = document["channels"][CHANNEL]
        self.address: str = channel["address"]
        self.query_params: tuple[str, ...] = tuple(channel["bindings"]["ws"]["query"]["required"])
        self.rules = ChannelRules.of(channel["x-rules"])
        self.refusals: dict[str, Refusal] = {
            name: Refusal(
                name,
                value.get("code"),
                value["delivery"],
                value.get("close-code"),
                value.get("max-bytes"),
                value.get("per-second"),
                value.get("close-after"),
            )
            for name, value in channel["x-refusals"].items()
            if isinstance(value, Mapping)
        }
        registry: Registry = Registry().with_resource(
            CHANNEL_URI, Resource.from_contents(document, default_specification=DRAFT202012)
        )
        messages = document["components"]["messages"]
        checks = {
            message["name"]: SchemaCheck(message["payload"]["$ref"].removeprefix("#"), registry, document, CHANNEL_URI)
            for message in messages.values()
        }
        self.downstream: SchemaCheck = checks.pop(DOWNSTREAM)
        self.commands: dict[str, SchemaCheck] = checks  # by Command: SEND_TEXT, SEND_AUDIO, ...

    def refusal(self, name: str) -> Refusal:
        return self.refusals[name]

    def command_violation(self, body: Any) -> Violation | None:
        """Why an upstream message is not a documented command, or None when it is one."""
        payload = body.get("Payload") if isinstance(body, dict) else None
        if not isinstance(payload, dict):
            return Violation("Payload", "a command is {\"Payload\": {\"ReqId\", \"SessionId\", \"Command\", \"Data\"}}")
        name = payload.get("Command")
        check = self.commands.get(name) if isinstance(name, str) else None
        if check is None:
            return Violation("Payload.Command", f"unknown command {name!r} (known: {', '.join(self.commands)})")
        return check.first_violation(body)

    def downstream_violation(self, body: Any) -> Violation | None:
        return self.downstream.first_violation(body)


@functools.cache
def _load(path: Path) -> ChannelSpec:
    return ChannelSpec(read_document(path), path)


def load_channel_spec(path: Path | str | None = None) -> ChannelSpec:
    """The channel's document at ``path`` (default: the packaged one), parsed and compiled once."""
    return _load(Path(path) if path else channel_spec_file())
