"""A gate run's result: the value the runner returns, the lines it prints last, the typed summary verify reads."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from ivhsuite import environmental
from ivhsuite.contract.promises import PROMISES
from ivhsuite.gate.endpoint_choices import Drift
from ivhsuite.gate.findings import Finding, broken_promises
from ivhsuite.protocol import ExitCode
from ivhsuite.redact import redact
from ivhsuite.summaries import (
    CheckRow,
    EnvironmentSummary,
    GateFailure,
    GateSummary,
    OperationRow,
    PromiseRow,
    SessionUse,
)

VERDICTS = {
    ExitCode.OK: "PASS: the contract holds",
    ExitCode.FAILED: "FAIL: broken promises",
    ExitCode.USAGE: "ERROR: the run could not judge",
    ExitCode.UNSTABLE: "UNSTABLE: the endpoint was too unstable to judge (the network, not the contract)",
    ExitCode.INTERRUPTED: "INTERRUPTED (SIGINT), every session closed",
    ExitCode.TERMINATED: "TERMINATED (SIGTERM), every session closed",
}
MAX_EXAMPLES_SHOWN = 2


@dataclass
class GateResult:
    """What a run found and where it wrote it."""

    exit_code: int
    report_dir: Path
    findings: list[Finding] = field(default_factory=list)
    generated_requests: int = 0
    scenario_requests: int = 0
    left_open: int | None = 0  # None: the project could not be listed after the run
    elapsed: float = 0.0
    halves: dict[str, int] = field(default_factory=dict)  # each half's own exit code
    scenario_outcomes: dict[str, int] = field(default_factory=dict)
    scenario_errors: list[str] = field(default_factory=list)  # failed without naming a promise
    scenario_environmental: list[str] = field(default_factory=list)  # cut short by the network
    generated_errors: list[str] = field(default_factory=list)  # schemathesis errors that were not the network's
    environmental_errors: int = 0  # schemathesis errors that were
    environment: EnvironmentSummary = field(default_factory=EnvironmentSummary)
    base_url: str = ""
    observations: list[str] = field(default_factory=list)  # noticed, not violations: never in the exit code
    half_seconds: dict[str, float] = field(default_factory=dict)  # how long each half took
    promises: list[PromiseRow] = field(default_factory=list)  # how often each promise was checked, per operation
    operations: list[OperationRow] = field(default_factory=list)  # what each operation was sent and answered
    sessions: SessionUse = field(default_factory=SessionUse)  # against --max-sessions
    choices: dict[str, str] = field(default_factory=dict)  # the endpoint's observed choices (emulator names)
    drift: list[Drift] = field(default_factory=list)  # --expect-choices: each recorded choice compared


def summary_text(result: GateResult) -> str:
    verdict = VERDICTS.get(ExitCode(result.exit_code), "INTERRUPTED")
    if result.exit_code == ExitCode.FAILED and not result.findings and any(row.drifted for row in result.drift):
        verdict = "FAIL: the endpoint's choices drifted from the recording (--fail-on-drift)"
    lines = ["", f"ivhsuite gate: {verdict} (exit {result.exit_code})"]
    for key, group in broken_promises(result.findings).items():
        sources = ", ".join(sorted({f.source for f in group}))
        lines.append(f"  ✗ broken promise [{key}]: {group[0].title} — {len(group)} failure(s) ({sources})")
        for finding in group[:MAX_EXAMPLES_SHOWN]:
            first = finding.message.strip().splitlines()[0] if finding.message.strip() else ""
            lines.append(f"      {finding.where}: {first[:240]}")
    for nodeid in result.scenario_errors[: MAX_EXAMPLES_SHOWN * 2]:
        lines.append(f"  ! {nodeid} failed without naming a promise (an error, not a finding): see above")
    for text in result.generated_errors[: MAX_EXAMPLES_SHOWN * 2]:
        lines.append(f"  ! schemathesis error (not the network's): {text}")
    for half, code in result.halves.items():
        if code not in (ExitCode.OK, ExitCode.FAILED) and half != "interrupted":
            lines.append(f"  ! {half} ended with exit code {code}: see its output above")
    for note in result.observations:
        lines.append(f"  · observation: {note}")
    lines += _network_lines(result)
    lines += _drift_lines(result.drift)
    lines.append(result.sessions.words())
    outcomes = result.scenario_outcomes
    scenarios = ", ".join(f"{n} {k}" for k, n in outcomes.items() if n) or "not run"
    left = "unknown" if result.left_open is None else str(result.left_open)
    lines.append(
        f"requests: {result.generated_requests} generated + {result.scenario_requests} by scenarios"
        f" | scenarios: {scenarios} | sessions: {result.sessions.created} created,"
        f" {left} left open | {result.elapsed:.1f} s"
        + "".join(f" ({half} {seconds:.1f} s)" for half, seconds in result.half_seconds.items())
    )
    names = sorted(p.relative_to(result.report_dir).as_posix() for p in result.report_dir.rglob("*") if p.is_file())
    lines.append(f"reports: {result.report_dir}/ ({', '.join(names)})")
    return "\n".join(lines)


def _drift_lines(rows: list[Drift]) -> list[str]:
    """--expect-choices: each drift, then how many held and which the run could not observe."""
    if not rows:
        return []
    lines = [f"  ≠ drift: {row}" for row in rows if row.drifted]
    held = sum(1 for row in rows if row.now is not None and not row.drifted)
    unseen = [row.name for row in rows if row.now is None]
    lines.append(
        f"  = choices: {held} as recorded, {sum(r.drifted for r in rows)} drifted"
        + (f", not observed: {', '.join(unseen)}" if unseen else "")
    )
    return lines


def _network_lines(result: GateResult) -> list[str]:
    """What the network did, apart from the promises: the line, per operation, what was cut short, the sweep."""
    env = result.environment
    lines = [f"  ~ {environmental.describe(env)}"]
    why = environmental.verdict(env)
    if why:
        lines.append(f"  ~ {why}")
    lines += [f"      {line}" for line in environmental.per_operation(env)]
    if result.environmental_errors:
        lines.append(
            f"  ~ {result.environmental_errors} generated case(s) got no answer from the network (not judged, not findings)"
        )
    for text in result.scenario_environmental[: MAX_EXAMPLES_SHOWN * 2]:
        lines.append(f"  ~ scenario skipped, {text}")
    if env.swept:
        lines.append(f"  ~ {environmental.swept_words(env.swept)}")
    return lines


def gate_summary(result: GateResult, secrets: tuple[str | None, ...] = ()) -> GateSummary:
    """The typed summary of a run, for verify's reports: failures redacted, checks from its JUnit file."""
    return GateSummary(
        exit_code=result.exit_code,
        requests=result.generated_requests,
        scenario_requests=result.scenario_requests,
        duration_s=round(result.elapsed, 1),
        failures=[
            GateFailure(
                promise=finding.promise,
                title=finding.title,
                operation=finding.where,
                message=redact(finding.message, secrets),
                reproduce=redact("\n".join(finding.curl), secrets),
            )
            for finding in result.findings
        ],
        checks=junit_rows(result.report_dir / "junit.xml"),
        observations=list(result.observations),
        environment=result.environment,
        promises=result.promises,
        operations=result.operations,
        left_open=result.left_open,
        half_seconds={half: round(seconds, 1) for half, seconds in result.half_seconds.items()},
        sessions=result.sessions,
        choice_drift=[str(row) for row in result.drift if row.drifted],
        choices_not_observed=[row.name for row in result.drift if row.now is None],
    )


def promise_rows(counts: list[tuple[str, str, int, int]], observations: dict[str, str]) -> list[PromiseRow]:
    """Every documented promise, with its counts per operation; one checked nowhere says why, when an observation does.

    An observation explains a promise when its key or its words name the promise's key
    (``quota-not-checked``; a scenario of ``test_auth.py`` that could not run).
    """
    rows = {key: PromiseRow(key, words) for key, words in PROMISES.items()}
    for promise, operation, checked, failed in counts:
        row = rows.get(promise)
        if row is None:
            continue
        row.checked[operation] = checked
        if failed:
            row.failed[operation] = failed
    for row in rows.values():
        if not row.checked:
            why = next((detail for key, detail in observations.items() if _names(row.promise, key, detail)), "")
            row.why_not = _reason(why)
    return list(rows.values())


def _reason(detail: str) -> str:
    """``test_auth.py::test_x: no credentials`` for ``src/.../test_auth.py::test_x could not run: no credentials``."""
    where, found, reason = detail.partition(" could not run: ")
    return f"{where.rsplit('/', 1)[-1]}: {reason}" if found else detail


def _names(promise: str, key: str, detail: str) -> bool:
    words = f"{key} {detail}".lower()
    return re.search(rf"(?<![a-z-]){re.escape(promise)}(?![a-z])", words) is not None


def junit_rows(path: Path) -> list[CheckRow]:
    """Per operation (suite and test case) and check: how many passed and failed."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return []
    rows = []
    for suite in root.iter("testsuite"):
        for case in suite.iter("testcase"):
            failed = case.find("failure") is not None or case.find("error") is not None
            skipped = case.find("skipped") is not None
            rows.append(
                CheckRow(
                    operation=case.get("classname") or suite.get("name", ""),
                    check=case.get("name", ""),
                    passed=0 if failed or skipped else 1,
                    failed=1 if failed else 0,
                    skipped=skipped,
                )
            )
    return rows
