"""The HTML report: thresholds compact (failures first, units, integers), charts with a labelled time axis."""

from __future__ import annotations

import re

from ivhsuite.protocol import ExitCode
from ivhsuite.report import charts, limits, page
from ivhsuite.summaries import GateSummary, LoadSeries, LoadSummary, TargetInfo, ThresholdRow, VerifySummary

P95 = ThresholdRow("operations.createsession", "p95_ms", "<=", 3000.0, 12.4, "pass")
FAIL_RATIO = ThresholdRow("operations.createsession", "fail_ratio", "<=", 0.01, 0.0, "pass")
READY = ThresholdRow("time_to_ready", "p95_ms", "<=", 150000.0, 1200.0, "pass")
RATE = ThresholdRow("run", "min_rps", ">=", 0.2, 3.456, "pass")
NO_DATA = ThresholdRow("preemption", "min_checks", ">=", 1.0, None, "skip")
VIOLATIONS = ThresholdRow("preemption", "max_violations", "<=", 0.0, 2.0, "fail")
SERIES = LoadSeries(
    latency={"p50": [(0.0, 10.0), (5.0, 12.0), (10.0, 11.0)], "p95": [(0.0, 20.0), (5.0, 25.0), (10.0, 22.0)]},
    rps={"requests/s": [(0.0, 1.0), (5.0, 4.0), (10.0, 5.0)]},
    time_to_ready=[("50%", 1000.0), ("95%", 1200.0)],
)


def render(*load: LoadSummary) -> str:
    summary = VerifySummary(
        started="now",
        duration_s=1.0,
        profile="smoke",
        target=TargetInfo(base_url="", embedded=True, signed=True, project_id="p"),
        gate=GateSummary(exit_code=ExitCode.OK),
        load=list(load),
    )
    return page.render(summary)


def test_limits_read_in_their_units_with_integers_as_integers() -> None:
    shown = [
        f"{limits.label(r)} {limits.actual_text(r)} {limits.limit_text(r)}" for r in (P95, FAIL_RATIO, READY, RATE)
    ]
    assert shown == [
        "p95 12 ms ≤ 3,000 ms",
        "failed 0 % ≤ 1 %",
        "p95 1,200 ms ≤ 150,000 ms",
        "rate 3.46 req/s ≥ 0.2 req/s",
    ]
    assert limits.actual_text(NO_DATA) == "no data"
    assert limits.scope_text("operations.createsession") == "createsession"
    assert limits.scope_text("environmental.100008") == "environmental 100008"


def test_a_failing_scope_comes_first_and_its_scenario_is_open() -> None:
    assert [scope for scope, _ in limits.grouped([P95, READY, NO_DATA, VIOLATIONS])] == [
        "preemption",
        "operations.createsession",
        "time_to_ready",
    ]
    assert limits.grouped([NO_DATA, VIOLATIONS])[0][1] == [VIOLATIONS, NO_DATA]
    html = render(LoadSummary("create", 0, "c", [P95, READY]), LoadSummary("preemption", 1, "p", [NO_DATA, VIOLATIONS]))
    sections = re.findall(r'<details class="thresholds"( open)?><summary class="(\w+)">([^<]*)</summary>', html)
    assert sections == [
        ("", "pass", "create: 2 passed, 0 failed"),
        (" open", "fail", "preemption: 0 passed, 1 failed, 1 without data"),
    ]
    assert "150000.0" not in html and "≤ 150,000 ms" in html


def test_charts_have_a_labelled_time_axis_and_open_offline() -> None:
    html = render(LoadSummary("create", 0, "c", [P95], SERIES))
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.DOTALL)
    assert len(svgs) == 4 and all('class="pygal-chart chart"' in svg for svg in svgs)
    latency = svgs[0]
    assert charts.TIME_AXIS in latency and ">ms<" in latency
    assert re.search(r">\s*10 s\s*<", latency), "x ticks are labelled in seconds"
    assert "<script" not in html and "<!--" not in html
    assert "http" not in re.sub(r'xmlns(?::\w+)?="http://www\.w3\.org/[^"]*"', "", html)
    assert "no data" in svgs[3], "a chart without data says so"


def test_a_talking_scenario_charts_time_to_speak_over_the_run() -> None:
    speaking = LoadSeries(speaking={"time to TextStart p95": [(0.0, 120.0), (5.0, 140.0)]})
    html = render(LoadSummary("conversation", 0, "v", [P95], speaking))
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.DOTALL)
    assert len(svgs) == 5 and "conversation: time to speak" in svgs[4]
    assert "time to TextStart p95" in svgs[4]
