"""A load run's files read for the report: the requests' latency apart from the measured intervals.

A run with a slow cold start (time to ready 1 s) and fast requests (4 ms): locust's Aggregated
row mixes both, the report must not.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from ivhsuite.load.results import read_load_summary
from ivhsuite.protocol import ExitCode
from ivhsuite.report import page
from ivhsuite.summaries import GateSummary, TargetInfo, VerifySummary

PERCENTILES = ["50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"]
STATS = ["Type", "Name", "Request Count", "Failure Count", "Median Response Time", "Average Response Time"]
STATS += ["Min Response Time", "Max Response Time", "Average Content Size", "Requests/s", "Failures/s", *PERCENTILES]
HISTORY = ["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s", *PERCENTILES]
HISTORY += ["Total Request Count", "Total Failure Count"]
# name -> (type, count, its percentiles in ms)
ENTRIES = {
    "createsession": ("POST", 40, [3, 4, 4, 4, 5, 6, 6, 7, 7, 7, 8]),
    "statsession": ("POST", 120, [2, 2, 3, 3, 3, 4, 4, 5, 5, 5, 6]),
    "time to ready": ("IVH", 40, [1000, 1000, 1100, 1200, 1500, 2000, 2500, 2800, 3000, 3000, 3000]),
    "preemption check: list": ("IVH", 10, [0] * 11),
}
AGGREGATED = ("", 210, [4, 4, 5, 5, 1000, 1200, 2000, 2800, 3000, 3000, 3000])


def _write(folder: Path) -> None:
    with (folder / "locust_stats.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(STATS)
        for name, (kind, count, values) in [*ENTRIES.items(), ("Aggregated", AGGREGATED)]:
            out.writerow([kind, name, count, 0, values[0], values[0], values[0], values[-1], 50, 2.0, 0.0, *values])
    with (folder / "locust_stats_history.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HISTORY)
        for t in range(1000, 1016):  # 6 idle seconds of warm-up (sessions preparing), then requests
            busy = t >= 1006
            for name, (kind, count, values) in ENTRIES.items():
                rate = (1.0 + (t % 3)) if busy and kind == "POST" else 0.0
                p95 = values[5] + (t % 2) if busy and t >= 1010 and kind == "POST" else 0
                out.writerow([t, 4, kind, name, rate, 0.0, *([p95] * 11), count, 0])
            out.writerow([t, 4, "", "Aggregated", 2.4 if busy else 0.0, 0.0, *([1000] * 11), 210, 0])


def test_latency_charts_show_the_requests_and_time_to_ready_gets_its_own(tmp_path: Path) -> None:
    folder = tmp_path / "load-create"
    folder.mkdir()
    _write(folder)
    run = read_load_summary("create", folder, ExitCode.OK)
    assert [op.name for op in run.series.operations] == ["createsession", "statsession"]
    assert [entry.name for entry in run.series.intervals] == ["time to ready"]
    assert all(t >= 6 for points in run.series.load.values() for t, _ in points), "idle warm-up trimmed"
    summary = VerifySummary(
        started="now",
        duration_s=16.0,
        profile="smoke",
        target=TargetInfo(base_url="", embedded=True, signed=True, project_id="p"),
        gate=GateSummary(exit_code=ExitCode.OK),
        load=[run],
    )
    svgs = {
        re.search(r"<title>(.*?)</title>", svg).group(1): svg  # type: ignore[union-attr]
        for svg in re.findall(r"<svg\b.*?</svg>", page.render(summary), re.DOTALL)
    }
    latency = svgs.pop("create: request latency by operation")
    values = sorted(float(v) for v in re.findall(r'<desc class="value">([\d.]+)</desc>', latency))
    requests = [values for kind, _, values in ENTRIES.values() if kind == "POST"]
    expected = sorted(float(ms[PERCENTILES.index(p)]) for ms in requests for p in ("50%", "95%", "99%"))
    assert values == expected, "p50, p95 and p99 of the requests, nothing else"
    over_time = svgs.pop("create: request p95 over time (recent answers)")
    assert max(y for points in run.series.latency.values() for _, y in points) < 10
    y_axis = over_time[over_time.index('class="axis y') : over_time.index('class="axis x')]
    assert max(float(tick) for tick in re.findall(r">([\d.]+)</text>", y_axis)) <= 10, "ticks of the requests' scale"
    ready = svgs.pop("create: time to ready and other intervals")
    assert "seconds" in ready and re.search(r'<desc class="value">1(\.0)?: 50</desc>', ready), (
        "time to ready in seconds, as a distribution"
    )
    assert list(svgs) == ["create: users and requests per second (users on the right)"]
    for title, svg in svgs.items():
        assert not re.search(r'<desc class="value">[^<]*\d,\d{3}', svg), f"{title} plots time to ready"
