"""Thresholds: parsing the file, evaluating each kind of rule on plain numbers, the end table."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivhsuite import packaged
from ivhsuite.errors import ConfigError
from ivhsuite.load import threshold_files
from ivhsuite.load import thresholds as th
from ivhsuite.load.thresholds import EntrySnapshot, StatsSnapshot

REPO_FILE = packaged.thresholds_file()


def entry(name: str, requests: int = 100, failures: int = 0, method: str = "POST", **pct: float) -> EntrySnapshot:
    return EntrySnapshot(method, name, requests, failures, **pct)


def snap(*entries: EntrySnapshot, duration: float = 10.0, left: int | None = 0) -> StatsSnapshot:
    return StatsSnapshot(tuple(entries), duration, left)


def verdicts_by_name(thresholds: th.Thresholds, snapshot: StatsSnapshot) -> dict[str, th.Verdict]:
    return {v.rule.name: v for v in th.evaluate(thresholds, snapshot)}


def test_repository_file_parses_and_keeps_the_built_in_zero_limits() -> None:
    loaded = th.read_thresholds(REPO_FILE)
    names = {r.name: r.limit for r in loaded.rules}
    assert names["preemption.max_violations"] == 0
    assert names["contract.max_violations"] == 0
    assert names["cleanup.max_live_sessions"] == 0
    assert names["operations.*.p95_ms"] == 2000
    assert loaded.abort_on_fail is False


def test_built_in_rules_apply_without_a_file() -> None:
    names = {r.name for r in th.read_thresholds(None).rules}
    assert names == {"preemption.max_violations", "contract.max_violations", "cleanup.max_live_sessions"}


@pytest.mark.parametrize(
    "document, message",
    [
        ({"latency": {"p95_ms": 1}}, "unknown section"),
        ({"operations": {"*": {"p42_ms": 1}}}, "unknown threshold"),
        ({"operations": {"p95_ms": 1}}, "operations"),
        ({"preemption": {"max_violations": -1}}, "0 or more"),
        ({"preemption": {"max_violations": True}}, "0 or more"),
        ({"run": {"abort_on_fail": "yes"}}, "true or false"),
        ({"time_to_ready": {"p95_ms": "fast"}}, "number"),
    ],
    ids=["section", "metric", "flat-operations", "negative", "bool", "abort-flag", "string"],
)
def test_mistakes_in_the_file_are_config_errors(document: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        th.parse(document)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        th.read_thresholds(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        th.read_thresholds(bad)


def test_wildcard_expands_to_every_operation_and_specific_limits_override() -> None:
    rules = th.parse({"operations": {"*": {"p95_ms": 100}, "createsession": {"p95_ms": 500}}})
    got = verdicts_by_name(rules, snap(entry("createsession", p95=400), entry("statsession", p95=150)))
    assert got["operations.createsession.p95_ms"].status == "pass"
    assert got["operations.statsession.p95_ms"].status == "fail"
    assert got["operations.statsession.p95_ms"].actual == 150


def test_fail_ratio_and_rps_per_operation() -> None:
    rules = th.parse({"operations": {"closesession": {"fail_ratio": 0.01, "min_rps": 5}}})
    got = verdicts_by_name(rules, snap(entry("closesession", requests=100, failures=2), duration=10))
    assert got["operations.closesession.fail_ratio"].status == "fail"
    assert got["operations.closesession.fail_ratio"].actual == pytest.approx(0.02)
    assert got["operations.closesession.min_rps"].status == "pass"


def test_an_operation_without_requests_is_skipped() -> None:
    got = verdicts_by_name(th.parse({"operations": {"command": {"p95_ms": 1}}}), snap())
    assert got["operations.command.p95_ms"].status == "skip"


def test_run_min_rps_counts_api_calls_only() -> None:
    rules = th.parse({"run": {"min_rps": 2}})
    ivh = entry(th.TIME_TO_READY, requests=1000, method="IVH")
    got = verdicts_by_name(rules, snap(entry("createsession", requests=10), ivh, duration=10))
    assert got["run.min_rps"].status == "fail"
    assert got["run.min_rps"].actual == 1.0


def test_time_to_ready_uses_its_own_entry() -> None:
    rules = th.parse({"time_to_ready": {"p95_ms": 2000, "fail_ratio": 0}})
    ready = entry(th.TIME_TO_READY, requests=10, failures=1, method="IVH", p95=1500)
    got = verdicts_by_name(rules, snap(ready))
    assert got["time_to_ready.p95_ms"].status == "pass"
    assert got["time_to_ready.fail_ratio"].status == "fail"


def test_violations_count_failures_of_their_entries() -> None:
    found = snap(
        entry(th.PREEMPTION_VIOLATION, requests=2, failures=2, method="IVH"),
        entry(th.CONTRACT_PREFIX + "createsession", requests=1, failures=1, method="IVH"),
        entry(th.CONTRACT_PREFIX + "statsession", requests=3, failures=3, method="IVH"),
    )
    got = verdicts_by_name(th.parse({"contract": {"max_violations": 3}}), found)
    assert got["preemption.max_violations"].actual == 2
    assert got["preemption.max_violations"].failed
    assert got["contract.max_violations"].actual == 4
    assert got["contract.max_violations"].failed


def test_environmental_codes_count_only_when_limited() -> None:
    busy = entry(th.ENVIRONMENTAL_PREFIX + "100008", requests=7, method="IVH")
    assert all(not v.failed for v in th.evaluate(th.parse({}), snap(busy)))
    rules = th.parse({"environmental": {"max_count": 10, "100008": {"max_count": 5}}})
    got = verdicts_by_name(rules, snap(busy))
    assert got["environmental.max_count"].status == "pass"
    assert got["environmental.100008.max_count"].status == "fail"


def test_cleanup_fails_when_sessions_are_left_or_could_not_be_listed() -> None:
    rules = th.parse({})
    assert verdicts_by_name(rules, snap(left=2))["cleanup.max_live_sessions"].failed
    unknown = verdicts_by_name(rules, snap(left=None))["cleanup.max_live_sessions"]
    assert unknown.failed and "could not be listed" in unknown.detail


def test_abortable_rules_exclude_rates_and_cleanup() -> None:
    rules = th.parse({"run": {"min_rps": 1}, "operations": {"*": {"p95_ms": 1}}})
    assert {r.name for r in rules.rules if not r.abortable} == {"run.min_rps", "cleanup.max_live_sessions"}


def test_table_lists_failures_first_with_a_summary() -> None:
    found = snap(entry(th.PREEMPTION_VIOLATION, requests=1, failures=1, method="IVH"))
    text = threshold_files.table(th.evaluate(th.parse({}), found), "x.toml")
    lines = text.splitlines()
    assert lines[0] == "Thresholds (x.toml)"
    assert "FAIL" in lines[2] and "preemption.max_violations" in lines[2]
    assert lines[-1].strip() == "2 passed, 1 failed, 0 skipped"


class _Entry:
    def __init__(self, method: str, name: str, times: list[int], failures: int = 0) -> None:
        self.method, self.name, self.times = method, name, sorted(times)
        self.num_requests, self.num_failures = len(times), failures
        self.max_response_time = max(times) if times else 0

    def get_response_time_percentile(self, percent: float) -> int:
        return self.times[min(len(self.times) - 1, int(percent * len(self.times)))] if self.times else 0


class _Total:
    num_requests, start_time, last_request_timestamp = 3, 100.0, 104.0


class _Stats:
    entries = {("a", "POST"): _Entry("POST", "createsession", [1, 2, 30]), ("b", "IVH"): _Entry("IVH", "x", [])}
    total = _Total()


def test_snapshot_of_locust_stats_duck_typed() -> None:
    snapshot = th.snapshot_of(_Stats(), live_sessions_left=0)
    assert snapshot.duration_s == 4.0
    assert [e.name for e in snapshot.entries] == ["createsession"]
    assert snapshot.entries[0].max == 30


def test_channel_entries_by_name_and_by_prefix() -> None:
    rules = th.parse(
        {
            "channel": {
                "time to TextStart": {"p95_ms": 3000, "fail_ratio": 0.01},
                "channel dropped": {"max_count": 0},
                "refused *": {"max_count": 0},
            }
        }
    )
    healthy = snap(entry(th.time_to("TextStart"), 10, 0, "IVH", p95=200))
    assert all(v.status == "pass" for v in th.evaluate(rules, healthy) if v.rule.scope.startswith("channel."))
    broken = snap(
        entry(th.time_to("TextStart"), 10, 1, "IVH", p95=4000),
        entry(th.CHANNEL_DROPPED, 2, 2, "IVH"),
        entry(th.REFUSED_PREFIX + "100012", 1, 1, "IVH"),
        entry(th.REFUSED_PREFIX + "110015", 2, 2, "IVH"),
    )
    found = verdicts_by_name(rules, broken)
    assert found["channel.time to TextStart.p95_ms"].failed
    assert found["channel.time to TextStart.fail_ratio"].failed
    assert found["channel.channel dropped.max_count"].actual == 2
    assert found["channel.refused *.max_count"].actual == 3


def test_the_generators_pace_is_its_own_kind_of_rule() -> None:
    rules = th.read_thresholds(REPO_FILE).rules
    lag = next(r for r in rules if r.scope == f"channel.{th.AUDIO_SEND_LAG}")
    assert lag.generator and not lag.abortable
    assert not any(r.generator for r in rules if r is not lag)


def test_unknown_channel_metric_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="min_checks"):
        th.parse({"channel": {"channel connect": {"min_checks": 1}}})
