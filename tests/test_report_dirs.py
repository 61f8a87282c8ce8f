from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ivhsuite import runs


def test_stamp_is_utc_and_sortable() -> None:
    assert runs.run_stamp(dt.datetime(2026, 11, 24, 17, 4, 19, tzinfo=dt.UTC)) == "20261124T170419Z"


def test_run_dirs_are_unique(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs, "REPORTS_ROOT", tmp_path)
    first, second = runs.run_dir(), runs.run_dir()
    assert first != second and first.is_dir() and second.is_dir()


def test_explicit_report_dir_is_used(tmp_path: Path) -> None:
    assert runs.run_dir(tmp_path / "mine") == tmp_path / "mine"
