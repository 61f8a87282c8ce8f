"""The emulator's knobs, one frozen value object with named defaults.

Where the vendor docs are silent (preparation time, idle timeout, command spacing)
the defaults are the documented or most plausible values, and every one can be changed
so a test can pin the behaviour it needs. Three kinds of deviation are kept apart:
``choices`` (another plausible answer where the docs are silent), ``toxics`` (network
faults a client must survive) and ``faults`` (test-only variants breaking a promise).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ivhsuite.config import DEFAULT_PROJECT_ID, MODES
from ivhsuite.emulator.choices import Choices
from ivhsuite.emulator.faults import FAULTS
from ivhsuite.emulator.toxics import Toxic
from ivhsuite.errors import ConfigError

DEFAULT_QUOTA = 10
DEFAULT_PREPARE_SECONDS = 1.0
DEFAULT_IDLE_SECONDS = 600.0  # "10 minutes without driving" (page 100391)
DEFAULT_COMMAND_INTERVAL = 1.0  # "texts at least 1 s apart"
DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_SPEAK_SECONDS_PER_CHAR = 0.2  # undocumented speaking rate: about 5 characters a second


@dataclass(frozen=True)
class EmulatorSettings:
    """How the emulator behaves.

    >>> EmulatorSettings(quota=2, prepare_seconds=0).signed
    False
    >>> EmulatorSettings(choices={"close-twice": "error"}, toxics=["latency:latency=50"]).choices.close_twice
    'error'
    """

    project_ids: tuple[str, ...] = (DEFAULT_PROJECT_ID,)
    assets: tuple[str, ...] = ()  # the known AssetVirtualmanKeys; empty: any non-empty key is known
    appkey: str | None = None
    access_token: str | None = field(default=None, repr=False)
    quota: int = DEFAULT_QUOTA
    prepare_seconds: float = DEFAULT_PREPARE_SECONDS
    mode: str = "saas"
    idle_seconds: float = DEFAULT_IDLE_SECONDS
    command_interval: float = DEFAULT_COMMAND_INTERVAL
    cold_start: bool = True
    faults: frozenset[str] = frozenset()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    choices: Choices = Choices()
    toxics: tuple[Toxic, ...] = ()
    seed: int | None = None  # for every random draw: toxics, cold failures
    # The command channel. None: the documented value (the AsyncAPI document's x-rules).
    channel_idle_seconds: float | None = None  # dropped after this long without traffic
    channel_time_scale: float = 1.0  # multiplies speaking time: text and audio play (tests shorten it)
    stream_max_interval_seconds: float | None = None  # every session's StreamMaxInterval (tests shorten it)
    speak_seconds_per_char: float = DEFAULT_SPEAK_SECONDS_PER_CHAR

    def __post_init__(self) -> None:
        # Accept any iterable for the collections, store them immutable; choices and
        # toxics also as the names users type ({"close-twice": "error"}, "latency:latency=50").
        object.__setattr__(self, "project_ids", tuple(self.project_ids))
        object.__setattr__(self, "assets", tuple(self.assets))
        if not all(isinstance(a, str) and a for a in self.assets):
            raise ConfigError("an asset key must be a non-empty string")
        object.__setattr__(self, "faults", frozenset(self.faults))
        object.__setattr__(self, "choices", _choices(self.choices))
        object.__setattr__(self, "toxics", tuple(Toxic.of(t) for t in _toxic_items(self.toxics)))
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise ConfigError(f"seed must be an integer, not {self.seed!r}")
        if not self.project_ids or not all(isinstance(p, str) and p for p in self.project_ids):
            raise ConfigError("the emulator needs at least one non-empty project id")
        if bool(self.appkey) != bool(self.access_token):
            raise ConfigError("emulator credentials are incomplete: give both appkey and access token")
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.quota < 0:
            raise ConfigError(f"quota must be 0 or more, not {self.quota}")
        for name in ("prepare_seconds", "command_interval", "speak_seconds_per_char"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be 0 or more, not {getattr(self, name)}")
        for name in ("channel_time_scale", "channel_idle_seconds", "stream_max_interval_seconds"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be more than 0, not {getattr(self, name)}")
        if self.idle_seconds <= 0:
            raise ConfigError(f"idle_seconds must be more than 0, not {self.idle_seconds}")
        if self.max_body_bytes <= 0:
            raise ConfigError(f"max_body_bytes must be more than 0, not {self.max_body_bytes}")
        unknown = sorted(self.faults - FAULTS.keys())
        if unknown:
            known = ", ".join(sorted(FAULTS))
            raise ConfigError(f"unknown emulator fault(s): {', '.join(unknown)} (known: {known})")

    @property
    def signed(self) -> bool:
        """Whether requests must carry a valid signature."""
        return bool(self.appkey and self.access_token)


def _choices(value: Choices | Mapping[str, Any]) -> Choices:
    if isinstance(value, Choices):
        return value
    if isinstance(value, Mapping):
        return Choices.parse(value)
    raise ConfigError(f"choices must be a mapping of name to value, not {type(value).__name__}")


def _toxic_items(value: Iterable[Any]) -> Iterable[Any]:
    if isinstance(value, str | Mapping | Toxic):
        return (value,)
    return value
