"""``ivhsuite emulate --config FILE``: the emulator's choices and network faults as TOML.

One file a team keeps beside its tests to play "the endpoint that chose differently":

    seed = 7
    quota = 1
    prepare-seconds = 120

    [choices]
    error-status = "4xx"
    close-twice = "error"

    [[faults]]
    kind = "latency"
    distribution = "lognormal"
    median = 200
    sigma = 0.5
    toxicity = 0.3

Flags given on the command line win over the file; ``--fault`` adds to its faults.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ivhsuite.emulator.choices import Choices
from ivhsuite.emulator.toxics import Toxic
from ivhsuite.errors import ConfigError

# TOML key → (EmulatorSettings field, the types it takes), for the plain settings a file may set.
SETTINGS: dict[str, tuple[str, tuple[type, ...]]] = {
    "seed": ("seed", (int,)),
    "quota": ("quota", (int,)),
    "prepare-seconds": ("prepare_seconds", (int, float)),
    "idle-seconds": ("idle_seconds", (int, float)),
    "mode": ("mode", (str,)),
    "channel-idle-seconds": ("channel_idle_seconds", (int, float)),
    "channel-time-scale": ("channel_time_scale", (int, float)),
}
_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string"}


def load_config(path: str | Path) -> dict[str, Any]:
    """The file as ``EmulatorSettings`` keyword arguments (only the keys it sets).

    >>> load_config("emulator.toml")  # doctest: +SKIP
    {'seed': 7, 'quota': 1, 'choices': Choices(...), 'toxics': (Toxic(kind='latency', ...),)}
    """
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read emulator config {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"emulator config {path} is not valid TOML: {exc}") from None
    # [measured]: what a recording's estimated choices were measured from, for ivhsuite gate --expect-choices.
    unknown = sorted(set(document) - set(SETTINGS) - {"choices", "faults", "measured"})
    if unknown:
        known = ", ".join([*SETTINGS, "[choices]", "[[faults]]"])
        raise ConfigError(f"emulator config {path}: unknown key(s) {', '.join(unknown)} (known: {known})")
    found: dict[str, Any] = {}
    for key, (name, types) in SETTINGS.items():
        if key in document:
            value = document[key]
            if isinstance(value, bool) or not isinstance(value, types):
                raise ConfigError(f"emulator config {path}: {key} must be {_TYPE_NAMES[types[-1]]}, not {value!r}")
            found[name] = value
    choices = document.get("choices", {})
    if not isinstance(choices, dict):
        raise ConfigError(f"emulator config {path}: [choices] must be a table of name = value")
    if choices:
        found["choices"] = Choices.parse(choices)
    faults = document.get("faults", [])
    if not isinstance(faults, list) or not all(isinstance(item, dict) for item in faults):
        raise ConfigError(f"emulator config {path}: faults must be [[faults]] tables, each with a kind")
    if faults:
        found["toxics"] = tuple(Toxic.of(item) for item in faults)
    return found
