"""The default gate against a near and a distant endpoint: wall time, requests, connections, live sessions.

    .venv/bin/python benchmarks/bench_gate.py [--latency-ms 0,200] [--rounds 1] [--seed 1] [--quota 5] [--bare] [--slowest N]

Real endpoints are 50-300 ms away; the budget (issue 21) is the default gate in at most
60 s at 200 ms a request, its session budget (``--max-sessions``) in force, with at least
1,000 generated requests, never more live sessions than the quota allows (the generated
half keeps quota - 1; only the quota scenario fills the quota, to check it), and never more
sessions created than ``--max-sessions``. Each round runs the default gate as CI would (the
library's ``run_gate``, ``--quota 5`` stated, in a fresh process pinned to 2 CPUs)
against an emulator in this process, once per latency (the emulator's ``latency`` fault,
every answer that late), and prints for each the wall time, the generated and scenario
requests, the requests the emulator saw, the connections they came on, and the most
live sessions at once; then the ratio of the distant round's time to the near one's,
measured in the same run; with ``--slowest N``, the N slowest scenarios of each round and their
share of the scenario requests' wall time (from the gate's own JUnit files). Exit code 1 when a round at 200 ms or less misses the budget or
any round fails, sends too few requests or exceeds the quota.

``--bare`` adds the older comparison: a bare ``schemathesis run`` of the same spec and
budget (no hooks, no ivh_* checks, no scenarios) against the embedded emulator, to show
what the gate's shaping, checks, session guard and scenarios cost per generated request.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from ivhsuite.emulator import EmulatorSettings, serve_in_thread
from ivhsuite.emulator.meter import serve_metered
from ivhsuite.gate.options import DEFAULT_MAX_EXAMPLES, DEFAULT_WORKERS, PHASES
from ivhsuite.spec import default_spec_path

BUDGET_SECONDS = 60.0  # at a latency of 200 ms or less
MIN_GENERATED = 1000
CPUS = 2
# A fresh interpreter per round, as CI would start one; the gate through the library, not the CLI.
_GATE_ROUND = """
import json, sys
from pathlib import Path
from ivhsuite.gate import GateOptions, run_gate
options = GateOptions.from_env(seed=int(sys.argv[1]), report_dir=Path(sys.argv[2]), quota=int(sys.argv[3]))
result = run_gate(options, out=sys.stderr)
print(json.dumps({"exit": result.exit_code, "generated": result.generated_requests, "scenario": result.scenario_requests,
                  "halves": result.half_seconds, "created": result.sessions.created, "allowed": result.sessions.allowed}))
"""
_CASES = re.compile(r"(?P<cases>\d+) generated")


@dataclass
class Round:
    latency_ms: float
    seconds: float
    exit: int
    generated: int
    scenario: int
    halves: dict[str, float]
    seen: int  # requests the emulator answered (the run's own closes and lists included)
    connections: int
    peak_live: int
    created: int = 0  # sessions the run created, against
    allowed: int = 0  # its --max-sessions
    scenarios: dict[str, float] = field(default_factory=dict)  # scenario -> seconds, from the JUnit files

    def line(self, quota: int) -> str:
        halves = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in self.halves.items())
        return (
            f"{self.latency_ms:5.0f} ms: gate exit {self.exit}, {self.seconds:6.1f} s ({halves}) |"
            f" {self.generated} generated + {self.scenario} scenario requests; the emulator saw {self.seen}"
            f" on {self.connections} connections | at most {self.peak_live} live sessions (quota {quota})"
            f" | sessions created: {self.created} of {self.allowed} allowed"
        )


def pin_to_cpus(count: int) -> str:
    """Run this process and its children on ``count`` CPUs, as on a 2-core CI runner."""
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(available) >= count and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(available[:count]))
        return f"pinned to CPUs {available[:count]}"
    return f"{len(available) or os.cpu_count()} CPU(s) available, not pinned"


def gate_round(latency_ms: float, quota: int, seed: int, folder: Path) -> Round:
    """The default gate against an emulator whose every answer takes ``latency_ms``."""
    toxics = [f"latency:latency={latency_ms:g}"] if latency_ms else []
    with serve_metered(EmulatorSettings(quota=quota, toxics=toxics)) as (running, meter):
        env = {k: v for k, v in os.environ.items() if not k.startswith("IVH_")}
        env["IVH_BASE_URL"] = running.base_url
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", _GATE_ROUND, str(seed), str(folder), str(quota)],
            env=env,
            capture_output=True,
            text=True,
        )
        elapsed = time.monotonic() - started
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        sys.exit(f"the gate round failed (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return Round(
        latency_ms,
        elapsed,
        int(found["exit"]),
        int(found["generated"]),
        int(found["scenario"]),
        {str(k): float(v) for k, v in found["halves"].items()},
        meter.requests,
        meter.connections,
        meter.peak_live,
        int(found.get("created", 0)),
        int(found.get("allowed", 0)),
        scenario_times(folder),
    )


def scenario_times(folder: Path) -> dict[str, float]:
    """Each scenario's time as pytest wrote it in the gate's scenario JUnit files (setup to teardown)."""
    times: dict[str, float] = {}
    for path in sorted(folder.glob("scenarios*-junit.xml")):
        try:
            cases = ET.parse(path).getroot().iter("testcase")
        except (OSError, ET.ParseError):
            continue
        for case in cases:
            name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
            times[name] = times.get(name, 0.0) + float(case.get("time") or 0.0)
    return times


def slowest_lines(result: Round, count: int) -> list[str]:
    ranked = sorted(result.scenarios.items(), key=lambda item: -item[1])
    total = sum(result.scenarios.values())
    lines = [f"  {result.latency_ms:g} ms: {len(ranked)} scenarios, {total:.1f} s one after another; the slowest:"]
    lines += [f"    {seconds:5.1f} s  {name}" for name, seconds in ranked[:count]]
    return lines


def bare_round(seed: int, folder: Path) -> tuple[float, int]:
    """Stock schemathesis, same spec and budget, no repository config (so no ivhsuite hooks)."""
    config = folder / "bare.toml"
    config.write_text("")
    with serve_in_thread(EmulatorSettings(quota=DEFAULT_MAX_EXAMPLES)) as running:
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(config),
                "run",
                str(default_spec_path()),
                "--url",
                running.base_url,
                "--max-examples",
                str(DEFAULT_MAX_EXAMPLES),
                "--workers",
                str(DEFAULT_WORKERS),
                "--phases",
                ",".join(PHASES),
                "--seed",
                str(seed),
                "--checks",
                "not_a_server_error",
                "--generation-database",
                "none",
            ],
            capture_output=True,
            text=True,
            cwd=folder,
        )
        elapsed = time.monotonic() - started
    found = _CASES.search(done.stdout)
    return elapsed, int(found["cases"]) if found else 0


def fits(result: Round, quota: int) -> bool:
    in_time = result.latency_ms > 200 or result.seconds <= BUDGET_SECONDS  # the budget is for 200 ms or less
    within = result.peak_live <= quota and result.created <= result.allowed
    return result.exit == 0 and result.generated >= MIN_GENERATED and within and in_time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", default="0,200", help="comma-separated; the first is the baseline")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quota", type=int, default=5)
    parser.add_argument("--bare", action="store_true", help="also time a bare schemathesis run (see above)")
    parser.add_argument("--slowest", type=int, default=0, help="print the N slowest scenarios of each round")
    args = parser.parse_args()
    latencies = [float(value) for value in args.latency_ms.split(",")]
    print(
        f"bench_gate: {pin_to_cpus(CPUS)}; the default gate with --quota {args.quota} at {args.latency_ms} ms a request;"
        f" budget {BUDGET_SECONDS:g} s at 200 ms, >= {MIN_GENERATED} generated requests, <= {args.quota} live sessions"
    )
    ok = True
    ratios: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        for n in range(args.rounds):
            seed = args.seed + n
            results = [gate_round(ms, args.quota, seed, Path(tmp) / f"gate-{n}-{ms:g}") for ms in latencies]
            print(f"round {n + 1}:")
            for result in results:
                good = fits(result, args.quota)
                ok &= good
                print(f"  {result.line(args.quota)} | {'OK' if good else 'MISSED'}")
            for result in results if args.slowest else []:
                print("\n".join(slowest_lines(result, args.slowest)))
            for result in results[1:]:
                ratio = result.seconds / results[0].seconds
                ratios.append(ratio)
                print(f"  {result.latency_ms:g} ms / {results[0].latency_ms:g} ms wall time: {ratio:.2f}")
            if args.bare:
                bare_elapsed, bare_cases = bare_round(seed, Path(tmp))
                near = results[0]
                per_request = (near.seconds / max(near.generated, 1)) / (bare_elapsed / max(bare_cases, 1))
                print(
                    f"  bare schemathesis (embedded emulator, 0 ms): {bare_elapsed:.1f} s for {bare_cases} cases |"
                    f" gate/bare time per generated request at {near.latency_ms:g} ms: {per_request:.2f}"
                )
    if ratios:
        print(f"median wall-time ratio, distant to near: {statistics.median(ratios):.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
