"""The HTML report: thresholds compact (failures first, units, integers), charts with a labelled time axis,
the contract at a glance, and load charts that keep requests and measured intervals apart."""

from __future__ import annotations

import re

from ivhsuite.protocol import ExitCode
from ivhsuite.report import charts, limits, markdown, page
from ivhsuite.summaries import (
    GateSummary,
    Latency,
    LoadSeries,
    LoadSummary,
    OperationRow,
    PromiseRow,
    TargetInfo,
    ThresholdRow,
    VerifySummary,
)

P95 = ThresholdRow("operations.createsession", "p95_ms", "<=", 3000.0, 12.4, "pass")
FAIL_RATIO = ThresholdRow("operations.createsession", "fail_ratio", "<=", 0.01, 0.0, "pass")
READY = ThresholdRow("time_to_ready", "p95_ms", "<=", 150000.0, 1200.0, "pass")
RATE = ThresholdRow("run", "min_rps", ">=", 0.2, 3.456, "pass")
NO_DATA = ThresholdRow("preemption", "min_checks", ">=", 1.0, None, "skip")
VIOLATIONS = ThresholdRow("preemption", "max_violations", "<=", 0.0, 2.0, "fail")
SERIES = LoadSeries(
    operations=[Latency("createsession", 40, 0, {"50%": 4.0, "95%": 9.0, "99%": 12.0}, 14.0)],
    intervals=[Latency("time to ready", 40, 0, {"50%": 1000.0, "95%": 1200.0, "100%": 1300.0}, 1300.0)],
    latency={"createsession": [(0.0, 10.0), (2.5, 12.0), (5.0, 12.0), (7.5, 12.0), (10.0, 11.0)]},
    load={
        "users": [(0.0, 1.0), (2.5, 2.0), (5.0, 4.0), (7.5, 4.0), (10.0, 4.0)],
        "requests/s": [(0.0, 1.0), (2.5, 2.0), (5.0, 4.0), (7.5, 5.0), (10.0, 5.0)],
    },
    preemption={"checks": [(0.0, 1.0), (2.5, 1.0), (5.0, 1.0), (7.5, 1.0), (10.0, 1.0)]},  # flat: not drawn
)


def render(*load: LoadSummary, gate: GateSummary | None = None) -> str:
    summary = VerifySummary(
        started="now",
        duration_s=1.0,
        profile="smoke",
        target=TargetInfo(base_url="", embedded=True, signed=True, project_id="p"),
        gate=gate or GateSummary(exit_code=ExitCode.OK),
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


def test_charts_have_a_labelled_time_axis_say_something_and_open_offline() -> None:
    html = render(LoadSummary("create", 0, "c", [P95], SERIES))
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.DOTALL)
    assert all('class="pygal-chart chart"' in svg for svg in svgs)
    titles = [re.search(r"<title>(.*?)</title>", svg).group(1) for svg in svgs]  # type: ignore[union-attr]
    assert titles == [
        "create: request latency by operation",
        "create: request p95 over time (recent answers)",
        "create: time to ready and other intervals",
        "create: users and requests per second (users on the right)",
    ], "no chart of a flat line (preemption checks at 1), none without data"
    over_time = svgs[1]
    assert charts.TIME_AXIS in over_time and ">ms<" in over_time
    assert re.search(r">\s*10 s\s*<", over_time), "x ticks are labelled in seconds"
    assert "<script" not in html and "<!--" not in html and "no data" not in html
    assert "http" not in re.sub(r'xmlns(?::\w+)?="http://www\.w3\.org/[^"]*"', "", html)


def test_a_run_too_short_for_a_time_series_shows_its_numbers() -> None:
    samples = {"users": [(6.0, 4.0), (7.0, 4.0)], "requests/s": [(6.0, 2.4), (7.0, 3.0)]}
    narrow = [Latency("time to ready", 4, 0, {"50%": 1000.0, "95%": 1050.0, "100%": 1100.0}, 1100.0)]
    short = LoadSeries(operations=SERIES.operations, intervals=narrow, load=samples, latency=SERIES.latency)
    html = render(LoadSummary("create", 0, "c", [P95], short))
    assert "4 users, 2.4–3 requests/s (too few samples for a chart)" in html
    assert len(re.findall(r"<svg\b", html)) == 2, "latency by operation and over time; time to ready 1.0-1.1 s: a table"
    assert "<td>time to ready</td>" in html and "1.10 s" in html
    none = LoadSeries(operations=SERIES.operations)
    assert "load: 40 requests in 0 s (too short for a time series)" in render(LoadSummary("c", 0, "c", [], none))


def test_each_scenario_links_locust_s_own_report() -> None:
    html = render(LoadSummary("create", 0, "load-create", [P95], SERIES, report="load-create/report.html"))
    assert '<a href="load-create/report.html">locust report</a>' in html


GATE = GateSummary(
    exit_code=ExitCode.FAILED,
    requests=30,
    scenario_requests=12,
    promises=[
        PromiseRow("reqid-echoed", "Payload.ReqId echoes the request's ReqId", {"statsession": 7}),
        PromiseRow(
            "no-server-error",
            "the endpoint never answers 5xx",
            {"statsession": 9, "closesession": 3},
            {"closesession": 1},
        ),
        PromiseRow("quota", "sessions beyond the quota are refused", why_not="quota not checked: pass --quota"),
    ],
    operations=[
        OperationRow("statsession", 6, 3, {"200": 8, "400": 1}, {"0": 8, "110018": 1}, 12.4),
        OperationRow("closesession", 3, 0, {"200": 2, "500": 1}, {"0": 2, "none": 1}, 40.0),
        OperationRow("gettrtcsign"),
    ],
)


def test_the_contract_at_a_glance_counts_checks_per_promise_and_operation_and_says_why_not() -> None:
    html = render(gate=GATE)
    matrix = re.search(r'<table class="matrix">.*?</table>', html, re.DOTALL).group(0)  # type: ignore[union-attr]
    rows = re.findall(r"<tr><th class=\"promise\"[^>]*><code>([a-z-]+)</code>(.*?)</tr>", matrix)
    assert [key for key, _ in rows] == ["no-server-error", "reqid-echoed", "quota"], "failures first, unchecked last"
    cells = {key: re.findall(r"<td class=\"(?:cell|num|why)[^\"]*\"[^>]*>([^<]*)</td>", rest) for key, rest in rows}
    assert cells["no-server-error"] == ["9", "✗ 1/3", "·", "✗ 1/12"]
    assert cells["reqid-echoed"] == ["7", "·", "·", "7"]
    assert cells["quota"] == ["not checked: quota not checked: pass --quota", "0"], "one line across the operations"
    assert 'title="not checked: no request sent to it"' in matrix  # gettrtcsign got nothing
    assert "2 of 3 documented promises checked, 19 checks in all; 1 broken; 1 not checked." in html
    per_operation = html[html.index("<h3>Per operation</h3>") :]
    assert "200 ×8, 400 ×1" in per_operation and "0 ×8, 110018 ×1" in per_operation and "12 ms" in per_operation


def test_the_first_screen_says_what_ran_and_why_the_verdict() -> None:
    html = render(gate=GATE)
    top = html[: html.index("The contract at a glance")]
    assert "the embedded emulator, project p, quota unknown (not checked), signed, profile smoke" in top
    assert "gate sessions: 0 created, 0 left open; network: 0 faults, 0 of 0 requests unanswered (0.0%)" in top
    green = render()
    assert "every promise checked held (0 checks over 0 requests) and all 0 load thresholds passed" in green


def test_the_step_summary_has_the_contract_compact() -> None:
    summary = VerifySummary(
        started="now",
        duration_s=1.0,
        profile="smoke",
        target=TargetInfo(base_url="", embedded=True, signed=True, project_id="p"),
        gate=GATE,
    )
    lines = markdown.render(summary).splitlines()
    assert "| `no-server-error` | 12 | **1** | statsession (9), closesession (3); failed on closesession (1) |" in lines
    assert "| `quota` | 0 | 0 | not checked: quota not checked: pass --quota |" in lines


def test_a_talking_scenario_charts_time_to_speak_over_the_run() -> None:
    points = [(float(t), 120.0 + 5 * t) for t in range(0, 30, 5)]
    speaking = LoadSeries(speaking={"time to TextStart p95": points})
    html = render(LoadSummary("conversation", 0, "v", [P95], speaking))
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.DOTALL)
    speak = [svg for svg in svgs if "conversation: time to speak" in svg]
    assert len(speak) == 1 and "time to TextStart p95" in speak[0]
