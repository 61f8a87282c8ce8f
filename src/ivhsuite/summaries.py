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
    sessions: SessionUse = field(default_factory=SessionUse)  # against the gate's --max-sessions
    choice_drift: list[str] = field(default_factory=list)  # --expect-choices: "close-twice: was ok, now error (...)"
    choices_not_observed: list[str] = field(default_factory=list)  # recorded choices this run could not see


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


@dataclass
class LoadSeries:
    """Time series for the charts, x in seconds since the first sample."""

    latency: dict[str, list[Point]] = field(default_factory=dict)
    rps: dict[str, list[Point]] = field(default_factory=dict)
    time_to_ready: list[tuple[str, float]] = field(default_factory=list)
    preemption: dict[str, list[Point]] = field(default_factory=dict)


@dataclass
class LoadSummary:
    scenario: str
    exit_code: int
    folder: str
    thresholds: list[ThresholdRow] = field(default_factory=list)
    series: LoadSeries = field(default_factory=LoadSeries)
    environment: EnvironmentSummary = field(default_factory=EnvironmentSummary)

    @property
    def failed_thresholds(self) -> list[ThresholdRow]:
        return [t for t in self.thresholds if not t.passed]


@dataclass(frozen=True)
class TargetInfo:
    base_url: str
    embedded: bool
    signed: bool
    project_id: str


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
