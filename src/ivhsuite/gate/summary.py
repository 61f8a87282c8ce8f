"""The few lines ``ivhsuite gate`` prints last: the verdict, each broken promise, the numbers, the reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivhsuite.gate.report import broken_promises

if TYPE_CHECKING:
    from ivhsuite.gate.runner import GateResult

VERDICTS = {0: "PASS: the contract holds", 1: "FAIL: broken promises", 2: "ERROR: the run could not judge"}
MAX_EXAMPLES_SHOWN = 2


def summarize(result: GateResult) -> str:
    verdict = VERDICTS.get(result.exit_code, "INTERRUPTED")
    lines = ["", f"ivhsuite gate: {verdict} (exit {result.exit_code})"]
    for key, group in broken_promises(result.findings).items():
        sources = ", ".join(sorted({f.source for f in group}))
        lines.append(f"  ✗ broken promise [{key}]: {group[0].title} — {len(group)} failure(s) ({sources})")
        for finding in group[:MAX_EXAMPLES_SHOWN]:
            first = finding.message.strip().splitlines()[0] if finding.message.strip() else ""
            lines.append(f"      {finding.where}: {first[:240]}")
    for nodeid in result.scenario_errors[: MAX_EXAMPLES_SHOWN * 2]:
        lines.append(f"  ! {nodeid} failed without naming a promise (an error, not a finding): see above")
    for half, code in result.halves.items():
        if code not in (0, 1) and half != "interrupted":
            lines.append(f"  ! {half} ended with exit code {code}: see its output above")
    outcomes = result.scenario_outcomes
    scenarios = ", ".join(f"{n} {k}" for k, n in outcomes.items() if n) or "not run"
    left_open = "unknown" if result.left_open is None else result.left_open  # None: the list failed
    lines.append(
        f"requests: {result.generated_requests} generated + {result.scenario_requests} by scenarios"
        f" | scenarios: {scenarios} | sessions: {result.sessions_created} created,"
        f" {left_open} left open | {result.elapsed:.1f} s"
    )
    names = sorted(p.relative_to(result.report_dir).as_posix() for p in result.report_dir.rglob("*") if p.is_file())
    lines.append(f"reports: {result.report_dir}/ ({', '.join(names)})")
    return "\n".join(lines)
