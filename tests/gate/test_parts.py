"""The generated half as parts that run at once, and their reports folded back into one set."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from ivhsuite.config import Target
from ivhsuite.gate.options import GateOptions
from ivhsuite.gate.spec_cases.merge_reports import fold_into
from ivhsuite.gate.spec_cases.parts import Part, plan, whole

TARGET = Target(base_url="http://127.0.0.1:9")


def _options(**given: object) -> GateOptions:
    given.setdefault("quota", 5)
    return GateOptions(TARGET, **given)  # type: ignore[arg-type]


def test_the_default_plan_runs_every_phase_once_with_the_whole_budget() -> None:
    parts = plan(_options(max_examples=80, seed=7))
    assert parts == [
        Part(("examples", "coverage"), 80, 7, ""),
        Part(("fuzzing",), 80, 7, "fuzzing"),
        Part(("stateful",), 27, 7, "stateful-1"),
        Part(("stateful",), 27, 8, "stateful-2"),  # another seed, else the same scenarios twice
        Part(("stateful",), 27, 9, "stateful-3"),
    ]
    assert {phase for part in parts for phase in part.phases} == set(_options().phases)
    assert sum(part.max_examples for part in parts if part.phases == ("stateful",)) >= 80
    assert len({part.folder for part in parts}) == len(parts)


@pytest.mark.parametrize(
    ("given", "stateful_runs"),
    [({"quota": 3}, 1), ({"quota": 4}, 2), ({"quota": 5}, 3), ({"quota": 50}, 3)],
    ids=["quota-3", "quota-4", "quota-5", "quota-50"],
)
def test_each_stateful_run_gets_a_slot_and_one_stays_for_the_others(
    given: dict[str, object], stateful_runs: int
) -> None:
    """The session limit is quota - 1; each stateful run holds one session through its chain."""
    parts = plan(_options(**given))
    assert sum(1 for part in parts if part.phases == ("stateful",)) == stateful_runs
    assert [part.phases for part in parts][:2] == [("examples", "coverage"), ("fuzzing",)]


@pytest.mark.parametrize(
    "given",
    [{"workers": 1}, {"quota": None}, {"quota": 1}, {"quota": 2}],
    ids=["one-worker", "quota-unknown", "quota-1", "quota-2"],
)
def test_one_run_with_every_phase_in_order(given: dict[str, object]) -> None:
    """One request at a time, or room for one session only: the phases run one after another, as before."""
    options = _options(max_examples=9, seed=3, **given)
    assert plan(options) == [whole(options)] == [Part(options.phases, 9, 3, "")]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"phases": ("stateful",)}, [("stateful",)] * 3),
        ({"phases": ("coverage", "fuzzing")}, [("coverage",), ("fuzzing",)]),
        ({"phases": ("stateful",), "max_examples": 1}, [("stateful",)]),
        ({"seed": None}, [("examples", "coverage"), ("fuzzing",), *[("stateful",)] * 3]),
    ],
    ids=["stateful-only", "no-stateful", "one-example", "no-seed"],
)
def test_plans(given: dict[str, object], expected: list[tuple[str, ...]]) -> None:
    parts = plan(_options(**given))
    assert [part.phases for part in parts] == expected
    assert parts[0].folder == ""  # the first part reports where the half always has
    if "seed" in given:
        assert all(part.seed is None for part in parts)


def _reports(folder: Path, label: str, n: int) -> None:
    folder.mkdir(parents=True)
    (folder / "junit.xml").write_text(
        f'<testsuite name="schemathesis" tests="{n}" failures="0" errors="0" skipped="0">'
        + "".join(f'<testcase name="{label}-{i}"/>' for i in range(n))
        + "</testsuite>"
    )
    entries = [{"startedDateTime": f"2026-01-01T00:00:0{i}Z", "request": {"url": f"{label}-{i}"}} for i in range(n)]
    (folder / "har.json").write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    interactions = "".join(f"- id: '{label}-{i}'\n  status: 'SUCCESS'\n" for i in range(n))
    (folder / "cassette.yaml").write_text(f"command: 'x'\nseed: 1\nhttp_interactions:\n{interactions.rstrip()}")


def test_the_parts_reports_fold_into_one_set(tmp_path: Path) -> None:
    main, side = tmp_path, tmp_path / "stateful-1"
    _reports(main / "tmp", "main", 2)
    for name in ("junit.xml", "har.json", "cassette.yaml"):
        (main / "tmp" / name).rename(main / name)
    _reports(side, "side", 3)
    fold_into(main, side)

    assert not side.exists()
    suites = list(ET.parse(main / "junit.xml").getroot().iter("testsuite"))
    assert [len(list(s)) for s in suites] == [2, 3]
    har = json.loads((main / "har.json").read_text())
    assert [e["request"]["url"] for e in har["log"]["entries"]] == ["main-0", "side-0", "main-1", "side-1", "side-2"]
    cassette = yaml.safe_load((main / "cassette.yaml").read_text())
    assert [i["id"] for i in cassette["http_interactions"]] == ["main-0", "main-1", "side-0", "side-1", "side-2"]


def test_a_missing_report_on_one_side_leaves_the_other(tmp_path: Path) -> None:
    _reports(tmp_path / "side", "side", 1)
    (tmp_path / "side" / "har.json").unlink()
    (tmp_path / "har.json").write_text('{"log": {"entries": []}}')
    fold_into(tmp_path, tmp_path / "side")
    assert json.loads((tmp_path / "har.json").read_text()) == {"log": {"entries": []}}
    assert len(list(ET.parse(tmp_path / "junit.xml").getroot().iter("testcase"))) == 1
