"""Declarative pass/fail thresholds for a load run, in the spirit of k6, evaluated as pure functions.

The file (TOML) names limits per section; each limit is one :class:`Rule`::

    [run]
    min_rps = 0.2                 # API requests per second over the whole run
    abort_on_fail = false         # like --thresholds-abort
    [operations."*"]              # every operation seen, unless overridden below
    p95_ms = 2000
    fail_ratio = 0.01
    [operations.createsession]
    p99_ms = 5000
    [time_to_ready]
    p95_ms = 150000
    [preemption]
    max_violations = 0            # built in even when the file says nothing
    [contract]
    max_violations = 0            # built in too
    [cleanup]
    max_live_sessions = 0         # built in too
    [environmental]               # optional: busy codes are no failure unless limited here
    max_count = 50
    [environmental."100008"]
    max_count = 10
    [channel."time to TextStart"] # an IVH entry of the command channel, by its name
    p95_ms = 3000
    [channel."refused *"]         # a trailing * sums every entry starting with the rest
    max_count = 0

:func:`evaluate` takes a :class:`StatsSnapshot` (plain numbers, built from locust's
stats by ``snapshot_of``), so every rule is unit-tested without locust running.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivhsuite.errors import ConfigError
from ivhsuite.summaries import GENERATOR_SCOPE

API_METHOD = "POST"
IVH_METHOD = "IVH"
TIME_TO_READY = "time to ready"
PREEMPTION_VIOLATION = "preemption violation"
PREEMPTION_CHECK = "preemption check"
CONTRACT_PREFIX = "contract violation: "
ENVIRONMENTAL_PREFIX = "environmental "
# The command channel's entries (the conversation scenario; preemption with --hold-channels).
CHANNEL_CONNECT = "channel connect"
AUDIO_SEND_LAG = GENERATOR_SCOPE.removeprefix("channel.")  # the generator's own pace: its health, not the endpoint's
CHANNEL_DROPPED = "channel dropped"
REFUSED_PREFIX = "refused "
CHANNEL_CONTRACT = CONTRACT_PREFIX + "commandchannel"  # a broken channel promise (counted by the contract scope)


def time_to(speak_status: str) -> str:
    """``time to TextStart``: the entry timing one SpeakStatus."""
    return f"time to {speak_status}"


SPEAKING = tuple(time_to(status) for status in ("TextStart", "TextOver", "AudioStart", "AudioOver"))


_LATENCY = ("p50_ms", "p95_ms", "p99_ms", "max_ms")
_ALLOWED: dict[str, tuple[str, ...]] = {
    "operations": (*_LATENCY, "fail_ratio", "min_rps"),
    "time_to_ready": (*_LATENCY, "fail_ratio"),
    "preemption": ("max_violations", "min_checks"),
    "contract": ("max_violations",),
    "cleanup": ("max_live_sessions",),
    "environmental": ("max_count",),
    "channel": (*_LATENCY, "fail_ratio", "max_count"),
    "run": ("min_rps", "abort_on_fail", "abort_delay_s"),
}
BUILT_IN = {"preemption": {"max_violations": 0}, "contract": {"max_violations": 0}, "cleanup": {"max_live_sessions": 0}}
DEFAULT_ABORT_DELAY = 10.0


@dataclass(frozen=True)
class Rule:
    """One limit: ``scope`` (``operations.createsession``, ``preemption``, ...) and ``metric``."""

    scope: str
    metric: str
    limit: float

    @property
    def name(self) -> str:
        return f"{self.scope}.{self.metric}"

    @property
    def is_minimum(self) -> bool:
        return self.metric.startswith("min_")

    @property
    def generator(self) -> bool:
        """A limit on the load generator's own health: breached, the run is environmental (3), not failed."""
        return self.scope == GENERATOR_SCOPE

    @property
    def abortable(self) -> bool:
        """Whether a mid-run breach means anything: rates and the cleanup only count at the end."""
        return not self.is_minimum and self.scope != "cleanup" and not self.generator

    def describe(self) -> str:
        return f"{'>=' if self.is_minimum else '<='} {fmt(self.limit)}"


@dataclass(frozen=True)
class Thresholds:
    rules: tuple[Rule, ...]
    abort_on_fail: bool = False
    abort_delay_s: float = DEFAULT_ABORT_DELAY
    source: str = "(built in)"


@dataclass(frozen=True)
class EntrySnapshot:
    """One row of locust's stats, reduced to the numbers the rules need."""

    method: str
    name: str
    requests: int
    failures: int
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0


@dataclass(frozen=True)
class StatsSnapshot:
    entries: tuple[EntrySnapshot, ...]
    duration_s: float
    live_sessions_left: int | None = None  # None: not checked (yet), or the check failed

    def entry(self, method: str, name: str) -> EntrySnapshot | None:
        return next((e for e in self.entries if e.method == method and e.name == name), None)

    def failures_named(self, prefix: str) -> int:
        return sum(e.failures for e in self.entries if e.method == IVH_METHOD and e.name.startswith(prefix))

    def requests_named(self, prefix: str) -> int:
        return sum(e.requests for e in self.entries if e.method == IVH_METHOD and e.name.startswith(prefix))

    @property
    def operations(self) -> list[EntrySnapshot]:
        return [e for e in self.entries if e.method == API_METHOD]


@dataclass(frozen=True)
class Verdict:
    rule: Rule
    status: str  # "pass", "fail" or "skip"
    actual: float | None = None
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "fail"


@dataclass
class _Builder:
    rules: dict[tuple[str, str], float] = field(default_factory=dict)

    def add(self, scope: str, metric: str, value: Any, where: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{where}: {metric} must be a number of 0 or more, not {value!r}")
        self.rules[(scope, metric)] = float(value)


def parse(document: Mapping[str, Any], source: str = "(inline)") -> Thresholds:
    """Rules from a parsed TOML document; unknown sections or keys are errors (typos fail loudly)."""
    builder = _Builder()
    for section, metrics in BUILT_IN.items():
        for metric, value in metrics.items():
            builder.add(section, metric, value, "built in")
    run: Mapping[str, Any] = {}
    for section, body in document.items():
        if section not in _ALLOWED:
            raise ConfigError(f"{source}: unknown section [{section}] (known: {', '.join(_ALLOWED)})")
        if not isinstance(body, Mapping):
            raise ConfigError(f"{source}: [{section}] must be a table")
        if section == "run":
            run = body
        nested = section in ("operations", "environmental", "channel")
        for key, value in body.items():
            if nested and isinstance(value, Mapping):
                scope = f"{section}.{key}"
                for metric, limit in value.items():
                    _check_key(section, metric, f"{source} [{scope}]")
                    builder.add(scope, metric, limit, f"{source} [{scope}]")
            elif section == "operations":
                raise ConfigError(f'{source}: put limits under [operations."*"] or [operations.<operation>]')
            else:
                _check_key(section, key, f"{source} [{section}]")
                if section != "run" or key == "min_rps":
                    builder.add(section, key, value, f"{source} [{section}]")
    abort = run.get("abort_on_fail", False)
    delay = run.get("abort_delay_s", DEFAULT_ABORT_DELAY)
    if not isinstance(abort, bool):
        raise ConfigError(f"{source} [run]: abort_on_fail must be true or false")
    if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
        raise ConfigError(f"{source} [run]: abort_delay_s must be a number of 0 or more")
    rules = tuple(Rule(scope, metric, limit) for (scope, metric), limit in builder.rules.items())
    return Thresholds(rules, abort, float(delay), source)


def _check_key(section: str, key: str, where: str) -> None:
    if key not in _ALLOWED[section]:
        raise ConfigError(f"{where}: unknown threshold {key!r} (known: {', '.join(_ALLOWED[section])})")


def read_thresholds(path: str | Path | None) -> Thresholds:
    """The thresholds in ``path``; only the built-in ones when ``path`` is None."""
    if path is None:
        return parse({}, "(built in)")
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the thresholds file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the thresholds file {path} is not valid TOML: {exc}") from None
    return parse(document, str(path))


def evaluate(thresholds: Thresholds, snap: StatsSnapshot, rules: Iterable[Rule] | None = None) -> list[Verdict]:
    """One verdict per rule; ``operations.*`` expands to every operation that has requests."""
    chosen = list(thresholds.rules if rules is None else rules)
    specific = {(r.scope, r.metric) for r in chosen if r.scope.startswith("operations.") and r.scope != "operations.*"}
    verdicts: list[Verdict] = []
    for rule in chosen:
        if rule.scope == "operations.*":
            for entry in snap.operations:
                if (f"operations.{entry.name}", rule.metric) not in specific:
                    concrete = Rule(f"operations.{entry.name}", rule.metric, rule.limit)
                    verdicts.append(_entry_verdict(concrete, entry, snap))
            continue
        verdicts.append(_verdict(rule, snap))
    return verdicts


def _verdict(rule: Rule, snap: StatsSnapshot) -> Verdict:
    if rule.scope.startswith("operations."):
        entry = snap.entry(API_METHOD, rule.scope.removeprefix("operations."))
        return _entry_verdict(rule, entry, snap)
    if rule.scope == "time_to_ready":
        return _entry_verdict(rule, snap.entry(IVH_METHOD, TIME_TO_READY), snap)
    if rule.scope == "preemption":
        if rule.metric == "min_checks":
            return _compare(rule, snap.requests_named(PREEMPTION_CHECK))
        return _compare(rule, snap.failures_named(PREEMPTION_VIOLATION))
    if rule.scope == "contract":
        return _compare(rule, snap.failures_named(CONTRACT_PREFIX))
    if rule.scope == "cleanup":
        if snap.live_sessions_left is None:
            return Verdict(rule, "fail", None, "live sessions could not be listed after the run")
        return _compare(rule, snap.live_sessions_left)
    if rule.scope.startswith("environmental"):
        code = rule.scope.partition(".")[2]
        return _compare(rule, snap.requests_named(ENVIRONMENTAL_PREFIX + code))
    if rule.scope.startswith("channel."):
        return _channel_verdict(rule, snap)
    if rule.scope == "run":
        return _rps(rule, sum(e.requests for e in snap.operations), snap.duration_s)
    return Verdict(rule, "skip", None, "unknown scope")


def _channel_verdict(rule: Rule, snap: StatsSnapshot) -> Verdict:
    """A channel entry's latency or failures; ``max_count`` counts its events (none seen: 0)."""
    name = rule.scope.removeprefix("channel.")
    if name.endswith("*"):
        if rule.metric != "max_count":
            return Verdict(rule, "skip", None, "a * entry takes max_count only")
        return _compare(rule, snap.requests_named(name[:-1]))
    entry = snap.entry(IVH_METHOD, name)
    if rule.metric == "max_count":
        return _compare(rule, entry.requests if entry is not None else 0)
    return _entry_verdict(rule, entry, snap)


def _entry_verdict(rule: Rule, entry: EntrySnapshot | None, snap: StatsSnapshot) -> Verdict:
    if entry is None or entry.requests == 0:
        return Verdict(rule, "skip", None, "no requests")
    if rule.metric == "fail_ratio":
        return _compare(rule, entry.failures / entry.requests)
    if rule.metric == "min_rps":
        return _rps(rule, entry.requests, snap.duration_s)
    actual = {"p50_ms": entry.p50, "p95_ms": entry.p95, "p99_ms": entry.p99, "max_ms": entry.max}[rule.metric]
    return _compare(rule, actual)


def _rps(rule: Rule, requests: int, duration_s: float) -> Verdict:
    if duration_s <= 0:
        return Verdict(rule, "fail" if rule.limit > 0 else "pass", 0.0, "no requests")
    return _compare(rule, requests / duration_s)


def _compare(rule: Rule, actual: float) -> Verdict:
    ok = actual >= rule.limit if rule.is_minimum else actual <= rule.limit
    return Verdict(rule, "pass" if ok else "fail", float(actual))


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isfinite(value) and value == int(value):
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"


def snapshot_of(stats: Any, live_sessions_left: int | None = None) -> StatsSnapshot:
    """Reduce locust's ``RequestStats`` (aggregated, on the master) to a :class:`StatsSnapshot`."""
    entries = tuple(
        EntrySnapshot(
            method=str(entry.method),
            name=str(entry.name),
            requests=entry.num_requests,
            failures=entry.num_failures,
            p50=float(entry.get_response_time_percentile(0.5)),
            p95=float(entry.get_response_time_percentile(0.95)),
            p99=float(entry.get_response_time_percentile(0.99)),
            max=float(entry.max_response_time or 0),
        )
        for entry in stats.entries.values()
        if entry.num_requests or entry.num_failures
    )
    total = stats.total
    duration = (total.last_request_timestamp or total.start_time) - total.start_time if total.num_requests else 0.0
    return StatsSnapshot(entries, max(0.0, float(duration)), live_sessions_left)
