"""The user's own files (``--spec``, ``--thresholds``, the profile): a bad one is one line and exit 2, before any run."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivhsuite.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gate", "--spec", "{missing}"], "cannot read the spec"),
        (["load", "--scenario", "create", "--spec", "{missing}"], "cannot read the spec"),
        (["verify", "--spec", "{missing}"], "cannot read the spec"),
        (["load", "--scenario", "create", "--thresholds", "{missing}"], "cannot read the thresholds file"),
        (["verify", "--thresholds", "{missing}"], "cannot read the thresholds file"),
    ],
    ids=["gate-spec", "load-spec", "verify-spec", "load-thresholds", "verify-thresholds"],
)
def test_a_missing_file_of_the_users_is_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = str(tmp_path / "missing.file")
    assert main([arg.format(missing=missing) for arg in args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and missing in err
    assert not (tmp_path / "reports").exists(), "refused before any run started"


def test_an_unknown_profile_from_the_config_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IVH_PROFILE", raising=False)
    (tmp_path / "ivhsuite.toml").write_text('profile = "fast"\n')
    assert main(["verify"]) == 2
    assert capsys.readouterr().err == "ivhsuite: error: unknown profile 'fast' (known: smoke, standard)\n"
