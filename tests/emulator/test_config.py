"""Choices and faults from the command line and from a TOML file; flags win over the file."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from ivhsuite.cli import main
from ivhsuite.cli.commands.emulate import add_emulate_parser, settings_from_args, startup_line
from ivhsuite.emulator import EmulatorSettings
from ivhsuite.emulator.choices import Choices
from ivhsuite.emulator.configfile import load_config
from ivhsuite.emulator.toxics import Toxic
from ivhsuite.errors import ConfigError

FILE = """
seed = 7
quota = 1
prepare-seconds = 120

[choices]
error-status = "4xx"
close-twice = "error"
list-closed = true

[[faults]]
kind = "latency"
distribution = "lognormal"
median = 200
sigma = 0.5
toxicity = 0.3

[[faults]]
kind = "reset_peer"
when = "after"
toxicity = 0.05
operation = "createsession"
"""


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_emulate_parser(parser.add_subparsers())
    return parser.parse_args(["emulate", *argv])


def _file(tmp_path: Path, text: str = FILE) -> str:
    path = tmp_path / "emulator.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_file(tmp_path: Path) -> None:
    settings = EmulatorSettings(**load_config(_file(tmp_path)))
    assert (settings.seed, settings.quota, settings.prepare_seconds) == (7, 1, 120)
    assert settings.choices == Choices(error_status="4xx", close_twice="error", list_closed="yes")
    assert settings.toxics == (
        Toxic("latency", toxicity=0.3, distribution="lognormal", median=200, sigma=0.5),
        Toxic("reset_peer", toxicity=0.05, operation="createsession", when="after"),
    )


def test_flags(tmp_path: Path) -> None:
    args = _parse(
        "--choice",
        "close-twice=error",
        "--choice",
        "session-id=uuid",
        "--fault",
        "gateway_error:status=504",
        "--fault",
        "quota:toxicity=0.1",
        "--seed",
        "3",
    )
    settings = settings_from_args(args, environ={})
    assert settings.choices == Choices(close_twice="error", session_id="uuid")
    assert [t.kind for t in settings.toxics] == ["gateway_error", "quota"] and settings.seed == 3


def test_flags_win_over_the_file_and_faults_add_up(tmp_path: Path) -> None:
    args = _parse("--config", _file(tmp_path), "--quota", "2", "--choice", "close-twice=ok", "--fault", "rate_limit")
    settings = settings_from_args(args, environ={})
    assert (settings.quota, settings.prepare_seconds, settings.seed) == (2, 120, 7)
    assert settings.choices == Choices(error_status="4xx", list_closed="yes")  # close-twice back to ok
    assert [t.kind for t in settings.toxics] == ["latency", "reset_peer", "rate_limit"]


def test_no_flags_no_file_is_the_default_emulator() -> None:
    assert settings_from_args(_parse(), environ={}) == EmulatorSettings()


BAD_FILES = {
    "not-toml": ("quota = = 1", "is not valid TOML"),
    "unknown-key": ("ports = 3", "unknown key(s) ports"),
    "wrong-type": ('quota = "one"', "quota must be an integer"),
    "bool-seed": ("seed = true", "seed must be an integer"),
    "choices-not-a-table": ('choices = "x"', "[choices] must be a table"),
    "faults-not-tables": ('faults = ["latency"]', "faults must be [[faults]] tables"),
    "bad-choice": ('[choices]\nclose-twice = "never"', "close-twice must be one of ok | error"),
    "bad-fault": ('[[faults]]\nkind = "latency"\nlatency = -1', "latency must be a number of 0 or more"),
}


@pytest.mark.parametrize(("text", "message"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_is_a_one_line_config_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_file(tmp_path, text))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read emulator config"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    "argv",
    [
        ["--choice", "bogus=1"],
        ["--choice", "close-twice"],
        ["--fault", "slow_close"],
        ["--config", "/nonexistent/emulator.toml"],
    ],
    ids=["unknown-choice", "no-value", "unknown-fault", "missing-file"],
)
def test_cli_says_one_line_and_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulate", "--port", "0", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ivhsuite: error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_startup_line_names_choices_faults_and_seed() -> None:
    settings = EmulatorSettings(choices={"close-twice": "error"}, toxics=["reset_peer:toxicity=0.1"], seed=4)
    line = startup_line(settings, "http://127.0.0.1:8000")
    assert "choices: close-twice=error" in line and "network faults: reset_peer@0.1" in line and "seed 4" in line
    assert "choices" not in startup_line(EmulatorSettings(), "http://x")


def test_asset_flags_restrict_the_known_keys_and_the_startup_line_names_them() -> None:
    parser = argparse.ArgumentParser()
    add_emulate_parser(parser.add_subparsers())
    args = parser.parse_args(["emulate", "--asset", "a1", "--asset", "a2"])
    settings = settings_from_args(args, environ={})
    assert settings.assets == ("a1", "a2")
    assert "assets: a1, a2" in startup_line(settings, "http://x")
    assert "assets: any" in startup_line(EmulatorSettings(), "http://x")
