from __future__ import annotations

import os
from pathlib import Path

import pytest

from ivhsuite.config import DEFAULT_PROJECT_ID, Target, child_environ, file_values, pinned, setting
from ivhsuite.errors import ConfigError


def test_flags_win_over_environment() -> None:
    env = {"IVH_BASE_URL": "http://env", "IVH_PROJECT_ID": "envp", "IVH_APPKEY": "a", "IVH_ACCESS_TOKEN": "t"}
    target = Target.from_env(base_url="http://flag", environ=env)
    assert (target.base_url, target.project_id, target.signed) == ("http://flag", "envp", True)


def test_defaults_are_open_and_local() -> None:
    target = Target.from_env(environ={})
    assert (target.base_url, target.project_id, target.signed, target.mode) == (None, DEFAULT_PROJECT_ID, False, "saas")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"IVH_APPKEY": "a"}, "IVH_ACCESS_TOKEN is not set"),
        ({"IVH_ACCESS_TOKEN": "t"}, "IVH_APPKEY is not set"),
        ({"IVH_BASE_URL": "ftp://x"}, "must start with http"),
        ({"IVH_MODE": "cloud"}, "mode must be one of"),
    ],
)
def test_bad_settings_are_one_line_config_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Target.from_env(environ=env)


def test_repr_hides_the_access_token() -> None:
    assert "s3cret" not in repr(Target(appkey="a", access_token="s3cret"))


def test_a_pinned_flag_beats_the_environment_and_reaches_child_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVH_SPEC", "from-env.yaml")
    assert setting("spec") == "from-env.yaml"
    with pinned(spec="from-flag.yaml", thresholds=None):
        assert setting("spec") == "from-flag.yaml"
        assert child_environ()["IVH_SPEC"] == "from-flag.yaml"
        assert child_environ().get("IVH_THRESHOLDS") == os.environ.get("IVH_THRESHOLDS"), "None pins nothing"
    assert setting("spec") == "from-env.yaml"


def test_profile_and_thresholds_come_from_the_environment_then_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IVH_PROFILE", raising=False)
    monkeypatch.delenv("IVH_THRESHOLDS", raising=False)
    (tmp_path / "pyproject.toml").write_text('[tool.ivhsuite]\nprofile = "smoke"\nthresholds = "mine.toml"\n')
    assert (setting("profile", folder=tmp_path), setting("thresholds", folder=tmp_path)) == ("smoke", "mine.toml")
    monkeypatch.setenv("IVH_PROFILE", "standard")
    assert setting("profile", folder=tmp_path) == "standard"
    assert setting("profile", "smoke", folder=tmp_path) == "smoke"
    assert setting("profile", folder=tmp_path / "elsewhere") == "standard"


@pytest.mark.parametrize("key", ["access_token", "access-token"])
def test_the_access_token_is_refused_from_a_file_in_one_line(tmp_path: Path, key: str) -> None:
    """A secret kept in a committed file is a leak waiting to happen: refused, naming the key, never echoing the value."""
    (tmp_path / "ivhsuite.toml").write_text(f'appkey = "ak"\n{key} = "s3cret-value"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        setting("appkey", environ={}, folder=tmp_path)  # reading any setting reads the file, and refuses it
    message = str(raised.value)
    assert "\n" not in message and key in message and "environment" in message and "s3cret" not in message
    with pytest.raises(ConfigError):
        file_values(tmp_path)


def test_the_access_token_comes_from_the_environment_beside_a_file(tmp_path: Path) -> None:
    (tmp_path / "ivhsuite.toml").write_text('appkey = "ak"\n', encoding="utf-8")
    assert setting("appkey", environ={}, folder=tmp_path) == "ak"
    assert setting("access_token", environ={"IVH_ACCESS_TOKEN": "t"}, folder=tmp_path) == "t"
    assert setting("access_token", environ={}, folder=tmp_path) is None


def test_a_command_meets_the_secret_in_a_file_with_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ivhsuite.cli import main
    from ivhsuite.protocol import ExitCode

    for name in [k for k in os.environ if k.startswith("IVH_")]:
        monkeypatch.delenv(name)
    (tmp_path / "ivhsuite.toml").write_text('access_token = "s3cret-value"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--all-runs"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "access_token" in err and "s3cret" not in err


@pytest.mark.parametrize(
    ("file", "text", "expected"),
    [
        ("ivhsuite.toml", "quoat = 3\n", "unknown setting 'quoat' (did you mean 'quota'?)"),
        (
            "pyproject.toml",
            "[tool.ivhsuite]\nbase-url = 'http://x'\nprofil = 'smoke'\n",
            "'profil' (did you mean 'profile'?)",
        ),
        ("ivhsuite.toml", "colour = 'red'\n", "unknown setting 'colour' (known: appkey, asset_key, base_url"),
        ("ivhsuite.toml", "prepare_seconds = 1\n", "unknown setting 'prepare_seconds'"),  # a flag only
    ],
    ids=["misspelt", "pyproject", "far-off", "flag-only"],
)
def test_an_unknown_key_in_the_config_file_is_named(tmp_path: Path, file: str, text: str, expected: str) -> None:
    (tmp_path / file).write_text(text)
    with pytest.raises(ConfigError) as caught:
        setting("profile", environ={}, folder=tmp_path)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_a_misspelt_key_stops_a_command_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ivhsuite.cli import main

    (tmp_path / "ivhsuite.toml").write_text("quoat = 3\n")
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--all-runs", "--base-url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'quoat'" in err and "'quota'" in err


def test_a_flag_is_declared_from_its_setting_row() -> None:
    import argparse

    from ivhsuite.config import add_flag, add_flags

    parser = argparse.ArgumentParser()
    add_flags(parser, "base_url", "max_transport_errors")
    add_flag(parser, "project_id", action="append", dest="project_ids")
    args = parser.parse_args(["--max-transport-errors", "1%", "--project-id", "a", "--project-id", "b"])
    assert (args.base_url, args.max_transport_errors, args.project_ids) == (None, 0.01, ["a", "b"])
    assert "IVH_MAX_TRANSPORT_ERRORS" in parser.format_help() and "5%" in parser.format_help()
    with pytest.raises(KeyError):
        add_flag(parser, "appkey")  # a setting without a flag
