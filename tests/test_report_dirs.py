from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ivhsuite import report_dirs


def test_stamp_is_utc_and_sortable() -> None:
    assert report_dirs.run_stamp(dt.datetime(2026, 11, 24, 17, 4, 19, tzinfo=dt.UTC)) == "20261124T170419Z"


def test_run_dirs_are_unique(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_dirs, "REPORTS_ROOT", tmp_path)
    first, second = report_dirs.run_dir(), report_dirs.run_dir()
    assert first != second and first.is_dir() and second.is_dir()


def test_explicit_report_dir_is_used(tmp_path: Path) -> None:
    assert report_dirs.run_dir(tmp_path / "mine") == tmp_path / "mine"
