"""The rows of the web UI's "IVH checks" tab, from plain numbers."""

from __future__ import annotations

from ivhsuite.load import thresholds as th
from ivhsuite.load.thresholds import EntrySnapshot, StatsSnapshot
from ivhsuite.load.webtab import rows

SNAP = StatsSnapshot(
    (
        EntrySnapshot("IVH", th.CONTRACT_PREFIX + "createsession", 2, 2),
        EntrySnapshot("IVH", th.PREEMPTION_CHECK + ": superseded", 7, 0),
        EntrySnapshot("IVH", th.PREEMPTION_CHECK + ": list", 3, 0),
        EntrySnapshot("IVH", th.PREEMPTION_VIOLATION, 1, 1),
        EntrySnapshot("IVH", th.TIME_TO_READY, 10, 1, p50=900, p95=1000, p99=1100, max=1200),
        EntrySnapshot("IVH", th.ENVIRONMENTAL_PREFIX + "100008", 4, 0),
        EntrySnapshot("POST", "createsession", 20, 0),
    ),
    10.0,
)
ERRORS = [(th.PREEMPTION_VIOLATION, "session s1 of UserId u still live", 1), ("createsession", "HTTP 500", 3)]


def by_metric(table: list[dict]) -> dict[str, dict]:
    return {row["metric"]: row for row in table}


def test_rows_show_contract_preemption_and_time_to_ready() -> None:
    table = by_metric(rows(SNAP, ERRORS, "http://emu (embedded emulator)", th.evaluate(th.parse({}), SNAP)))
    assert table["target"]["value"] == "http://emu (embedded emulator)"
    assert table["contract violations"]["value"] == 2
    assert table["preemption checks"]["value"] == 10
    assert table["preemption checks"]["detail"] == "superseded: 7, list: 3"
    assert table["preemption violations"]["value"] == 1
    assert "session s1" in table["preemption violations"]["detail"]
    assert table["time to ready (sessions)"]["value"] == 9
    assert table["time to ready p95 (ms)"]["value"] == 1000
    assert table["environmental 100008"]["value"] == 4
    assert table["thresholds"]["value"] == "FAIL"
    assert "preemption.max_violations" in table["thresholds"]["detail"]


def test_rows_before_any_session() -> None:
    table = by_metric(rows(StatsSnapshot((), 0.0), [], "t"))
    assert table["time to ready (sessions)"]["value"] == 0
    assert table["preemption violations"]["value"] == 0
    assert "thresholds" not in table


def test_rows_show_the_channel_checks_once_a_channel_was_opened() -> None:
    snap = StatsSnapshot(
        (
            EntrySnapshot("IVH", th.CHANNEL_CONNECT, 5, 1, p50=10, p95=20, p99=30, max=40),
            EntrySnapshot("IVH", th.time_to("TextStart"), 8, 0, p95=250),
            EntrySnapshot("IVH", th.time_to("AudioOver"), 4, 2, p95=1100),
            EntrySnapshot("IVH", th.AUDIO_SEND_LAG, 4, 0, p99=15),
            EntrySnapshot("IVH", th.CHANNEL_DROPPED, 1, 1),
            EntrySnapshot("IVH", th.REFUSED_PREFIX + "100012", 3, 3),
        ),
        10.0,
    )
    errors = [(th.CHANNEL_CONNECT, "handshake refused: 110016: not started", 1)]
    table = by_metric(rows(snap, errors, "t"))
    assert (table["channels opened"]["value"], table["channels refused"]["value"]) == (4, 1)
    assert "110016" in table["channels refused"]["detail"]
    assert table["time to TextStart (ms)"]["value"] == 250
    assert table["time to AudioOver (ms)"]["detail"].startswith("2 never came")
    assert table["audio send lag p99 (ms)"]["value"] == 15
    assert table["channels dropped"]["value"] == 1
    assert (table["commands refused"]["value"], table["commands refused"]["detail"]) == (3, "100012: 3")


def test_no_channel_rows_without_a_channel() -> None:
    assert "channels opened" not in by_metric(rows(SNAP, ERRORS, "t"))
