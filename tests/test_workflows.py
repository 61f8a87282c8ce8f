"""The GitHub Action and the example workflow agree: every input the workflow passes exists, every input is used."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def test_every_input_of_the_action_is_used_by_a_step() -> None:
    text = yaml.safe_dump(ACTION["runs"]) + yaml.safe_dump(ACTION["outputs"])
    used = set(re.findall(r"inputs\.([\w-]+)", text))
    assert used == set(ACTION["inputs"])


def test_the_example_workflow_passes_only_inputs_the_action_has() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/ivhsuite.yml").read_text())
    uses = [step for job in workflow["jobs"].values() for step in job["steps"] if step.get("uses") == "./"]
    assert uses, "the example runs the suite through the action"
    for step in uses:
        assert set(step.get("with", {})) <= set(ACTION["inputs"])
    text = (ROOT / ".github/workflows/ivhsuite.yml").read_text()
    assert "pip install -e ." not in text, "installs the suite, not the user's project"


def test_the_action_installs_itself_unless_told_otherwise() -> None:
    (install,) = [step for step in ACTION["runs"]["steps"] if step.get("name") == "Install ivhsuite"]
    assert "${INPUT_PACKAGE:-$GITHUB_ACTION_PATH}" in install["run"]
