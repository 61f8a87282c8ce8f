"""Where a run writes: one folder under ``reports/`` named by its UTC start time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

REPORTS_ROOT = Path("reports")


def run_stamp(now: dt.datetime | None = None) -> str:
    """``20261124T170419Z``: sortable, and safe in a path on every platform."""
    return (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")


def run_dir(report_dir: str | Path | None = None, name: str | None = None) -> Path:
    """``report_dir`` if given, else ``reports/<UTC stamp>[-name]``; created, and made unique."""
    if report_dir:
        path = Path(report_dir)
    else:
        base = run_stamp() + (f"-{name}" if name else "")
        path = REPORTS_ROOT / base
        suffix = 1
        while path.exists():
            suffix += 1
            path = REPORTS_ROOT / f"{base}.{suffix}"
    path.mkdir(parents=True, exist_ok=True)
    return path
