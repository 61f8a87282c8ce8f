"""``ivhsuite init``: both starter files, valid and known to the suite; never an overwrite without --force."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ivhsuite.cli import main
from ivhsuite.config import SETTINGS, file_values
from ivhsuite.scaffold import WORKFLOW, installed_version, write_starters


def test_init_writes_a_config_the_suite_reads_and_a_workflow_that_installs_the_suite(tmp_path: Path) -> None:
    assert main(["init", "--dir", str(tmp_path)]) == 0
    values = file_values(tmp_path)  # a key that is no setting would raise here
    assert values["profile"] == "smoke" and "base_url" not in values
    assert set(values) - {"__path__"} <= {s.key for s in SETTINGS if s.in_file}
    workflow = yaml.safe_load((tmp_path / WORKFLOW).read_text())
    (job,) = workflow["jobs"].values()
    assert job["env"]["IVHSUITE_PACKAGE"] == f"ivhsuite=={installed_version()}"
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs[0] == 'python -m pip install "$IVHSUITE_PACKAGE"', "the suite, not the user's project"
    assert [r.split()[:2] for r in runs[1:]] == [["ivhsuite", "gate"], ["ivhsuite", "verify"]]


def test_init_refuses_to_overwrite_in_one_line_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ivhsuite.toml").write_text("# mine\n")
    assert main(["init", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ivhsuite.toml" in err and "--force" in err
    assert (tmp_path / "ivhsuite.toml").read_text() == "# mine\n"
    assert not (tmp_path / WORKFLOW).exists(), "nothing is written when one file would be overwritten"
    written = write_starters(tmp_path, force=True)
    assert [p.relative_to(tmp_path).as_posix() for p in written] == ["ivhsuite.toml", WORKFLOW.as_posix()]


def test_init_into_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["init", "--dir", str(tmp_path / "nope")]) == 2
