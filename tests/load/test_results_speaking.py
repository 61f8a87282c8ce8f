"""A conversation run's history CSV becomes the report's "time to speak" series (p95 per sample)."""

from __future__ import annotations

from pathlib import Path

from ivhsuite.load.results import series
from ivhsuite.load.thresholds import time_to

HEADER = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%\n"


def test_time_to_speak_series_from_the_full_history(tmp_path: Path) -> None:
    rows = [
        "100,1,,Aggregated,1,0,10,10,10,10,10,20,20,20",
        f"100,1,IVH,{time_to('AudioStart')},1,0,5,5,5,5,5,9,9,9",
        f"102,1,IVH,{time_to('AudioStart')},1,0,5,5,5,5,5,11,11,11",
        f"102,1,IVH,{time_to('AudioOver')},1,0,900,900,900,900,900,1100,1100,1100",
        "102,1,IVH,time to ready,1,0,1000,1000,1000,1000,1000,1000,1000,1000",
    ]
    (tmp_path / "locust_stats_history.csv").write_text(HEADER + "\n".join(rows) + "\n")
    speaking = series(tmp_path).speaking
    assert speaking == {
        "time to AudioStart p95": [(0.0, 9.0), (2.0, 11.0)],
        "time to AudioOver p95": [(2.0, 1100.0)],
    }
