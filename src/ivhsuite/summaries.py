"""What a verification found, as typed values that cross from the runners to the report writers.

The gate and the load runs fill these; the HTML page, the step summary and
``summary.json`` read them. :meth:`VerifySummary.to_json` is the one place they become JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

Point = tuple[float, float]


@dataclass(frozen=True)
class GateFailure:
    """One broken promise as the report shows it."""

    promise: str  # the key, e.g. "reqid-echoed"
    title: str  # what the docs promise, in words
    operation: str
    message: str
    reproduce: str = ""


@dataclass(frozen=True)
class CheckRow:
    """One test case of the gate's JUnit report: an operation (or scenario) and a check."""

    operation: str
    check: str
    passed: int
    failed: int
    skipped: bool = False


@dataclass
class NetworkRow:
    """One operation's brush with the network: logical requests, faults per kind, retries, requests left unanswered."""

    operation: str
    requests: int = 0
    faults: dict[str, int] = field(default_factory=dict)  # fault label ("reset", "HTTP 502 page") -> attempts
    retries: int = 0
    unanswered: int = 0  # ended without an answer to judge, after the safe retries


@dataclass
class EnvironmentSummary:
    """What the network did to a run, apart from what the endpoint promised (:mod:`ivhsuite.environmental`)."""

    rows: list[NetworkRow] = field(default_factory=list)
    tolerance: float = 0.05  # the share of unanswered requests a run may have and still judge
    swept: int = 0  # live sessions of the run its end-of-run sweep closed (a create answer lost)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.rows)

    @property
    def unanswered(self) -> int:
        return sum(r.unanswered for r in self.rows)

    @property
    def faults(self) -> int:
        return sum(sum(r.faults.values()) for r in self.rows)

    @property
    def unstable(self) -> bool:
        """More requests went unanswered than the tolerance allows: the run could not judge."""
        return self.requests > 0 and self.unanswered / self.requests > self.tolerance


@dataclass(frozen=True)
class SessionUse:
    """The sessions a gate run created against its budget (``--max-sessions``), and the longest it held one."""

    created: int = 0
    allowed: int = 0
    longest_held_s: float = 0.0
    cut: int = 0  # creates the budget did not send (generated) or skipped (scenarios)

    def words(self) -> str:
        """``sessions created: 37 of 40 allowed, longest held 8 s``."""
        return f"sessions created: {self.created} of {self.allowed} allowed, longest held {self.longest_held_s:.0f} s"


@dataclass
class PromiseRow:
    """One documented promise across the operations: how often the gate checked it on each, and how often it failed."""

    promise: str  # the key, e.g. "reqid-echoed"
    words: str  # what the docs promise
    checked: dict[str, int] = field(default_factory=dict)  # operation -> times checked (absent: not checked)
    failed: dict[str, int] = field(default_factory=dict)  # operation -> times found broken
    why_not: str = ""  # checked nowhere: the observation that says why ("" when none did)

    @property
    def times(self) -> int:
        return sum(self.checked.values())

    @property
    def failures(self) -> int:
        return sum(self.failed.values())


@dataclass
class OperationRow:
    """What one operation got during the gate: requests sent, answers by HTTP status and Header.Code, the slowest."""

    operation: str
    generated: int = 0  # requests schemathesis sent
    scenarios: int = 0  # requests the scenarios sent
    statuses: dict[str, int] = field(default_factory=dict)  # "200" -> answers
    codes: dict[str, int] = field(default_factory=dict)  # Header.Code ("none": no envelope) -> answers
    slowest_ms: float = 0.0

    @property
    def requests(self) -> int:
        return self.generated + self.scenarios


@dataclass
class GateSummary:
    exit_code: int
    requests: int = 0
    scenario_requests: int = 0
    duration_s: float = 0.0
    failures: list[GateFailure] = field(default_factory=list)
    checks: list[CheckRow] = field(default_factory=list)
    error: str = ""
    observations: list[str] = field(default_factory=list)  # noticed, not violations (the docs leave them open)
    environment: EnvironmentSummary = field(default_factory=EnvironmentSummary)
    promises: list[PromiseRow] = field(default_factory=list)  # the contract at a glance: promise x operation
    operations: list[OperationRow] = field(default_factory=list)  # every documented operation, in the spec's order
    left_open: int | None = 0  # None: the project could not be listed after the run
    half_seconds: dict[str, float] = field(default_factory=dict)  # how long each half took
    sessions: SessionUse = field(default_factory=SessionUse)  # against the gate's --max-sessions
    choice_drift: list[str] = field(default_factory=list)  # --expect-choices: "close-twice: was ok, now error (...)"
    choices_not_observed: list[str] = field(default_factory=list)  # recorded choices this run could not see


# The load generator's own pace (the conversation's "audio send lag"): breached, the run is
# environmental (exit 3, "behind the documented pace"), never a failure of the endpoint.
GENERATOR_SCOPE = "channel.audio send lag"


@dataclass(frozen=True)
class ThresholdRow:
    """One threshold's verdict: ``scope`` (``operations.createsession``, ``time_to_ready``, ...) and ``metric``."""

    scope: str
    metric: str  # p95_ms, fail_ratio, min_rps, max_violations, ...
    comparison: str  # "<=" or ">="
    limit: float
    actual: float | None  # None: no data
    status: str  # "pass", "fail" or "skip" (no data)

    @property
    def name(self) -> str:
        return f"{self.scope}.{self.metric}"

    @property
    def passed(self) -> bool:
        return self.status != "fail"

    @property
    def generator(self) -> bool:
        return self.scope == GENERATOR_SCOPE


@dataclass
class Latency:
    """One stats entry over the whole run, in milliseconds: an operation's requests, or a measured interval."""

    name: str
    count: int
    failures: int = 0
    percentiles: dict[str, float] = field(default_factory=dict)  # "50%" -> ms, as locust reports them
    max_ms: float = 0.0


@dataclass
class LoadSeries:
    """What a load run's charts and tables read; time series have x in seconds since the first sample.

    Requests (``operations``, ``latency``, ``load``) and measured intervals (``intervals``: time to
    ready, time to TextStart, ...) are kept apart: an interval is never a request's latency.
    """

    operations: list[Latency] = field(default_factory=list)  # per operation: the requests' own latency
    intervals: list[Latency] = field(default_factory=list)  # "time to ..." entries: how long something took
    latency: dict[str, list[Point]] = field(default_factory=dict)  # operation -> p95 ms of its recent requests
    load: dict[str, list[Point]] = field(default_factory=dict)  # "users", "requests/s", "failures/s"
    preemption: dict[str, list[Point]] = field(default_factory=dict)
    speaking: dict[str, list[Point]] = field(default_factory=dict)  # p95 "time to TextStart" ... over the run


@dataclass
class LoadSummary:
    scenario: str
    exit_code: int
    folder: str
    thresholds: list[ThresholdRow] = field(default_factory=list)
    series: LoadSeries = field(default_factory=LoadSeries)
    environment: EnvironmentSummary = field(default_factory=EnvironmentSummary)
    duration_s: float = 0.0
    report: str = ""  # locust's own report.html, relative to the verification's folder ("" when none was written)

    @property
    def failed_thresholds(self) -> list[ThresholdRow]:
        """The endpoint's failed limits (the generator's own pace is not one of them: see ``behind_pace``)."""
        return [t for t in self.thresholds if not t.passed and not t.generator]

    @property
    def behind_pace(self) -> list[ThresholdRow]:
        return [t for t in self.thresholds if not t.passed and t.generator]


@dataclass(frozen=True)
class TargetInfo:
    base_url: str
    embedded: bool
    signed: bool
    project_id: str
    quota: int | None = None  # the quota the gate checked against (None: unknown, not checked)


@dataclass
class VerifySummary:
    started: str
    duration_s: float
    profile: str
    target: TargetInfo
    gate: GateSummary
    load: list[LoadSummary] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    unstable: list[str] = field(default_factory=list)  # why the endpoint was too unstable to judge
    versions: dict[str, str] = field(default_factory=dict)  # ivhsuite and the tools it drove

    @property
    def verdict(self) -> str:
        """``red`` (a broken promise or threshold: it wins), ``unstable`` (could not judge) or ``green``."""
        return "red" if self.reasons else "unstable" if self.unstable else "green"

    @property
    def green(self) -> bool:
        return not self.reasons and not self.unstable

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict
        for run, written in zip(self.load, data["load"], strict=True):
            for row, item in zip(run.thresholds, written["thresholds"], strict=True):
                item.update(name=row.name, passed=row.passed)  # as summary.json always had them
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)
