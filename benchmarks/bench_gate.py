"""Does the default gate fit its budget? ``ivhsuite gate`` against the embedded emulator, on 2 CPUs.

    .venv/bin/python benchmarks/bench_gate.py [--rounds 2] [--seed 1]

The issue's budget: the default gate (no flags, embedded emulator) takes at most 120 s
on 2 cores and sends at least 1,000 generated requests. Each round runs it as CI would
(the library's ``run_gate`` with default options, in a fresh process pinned to 2 CPUs), then, as the baseline beside it, a
bare ``schemathesis run`` of the same spec with the same budget (no hooks, no ivh_*
checks, no scenarios) against an emulator, so the ratio shows what the gate's shaping,
checks, session guard and scenarios cost per generated request. Exit code 1 when a
round misses the budget.
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
from pathlib import Path

from ivhsuite.emulator import EmulatorSettings, serve_in_thread
from ivhsuite.gate.options import DEFAULT_MAX_EXAMPLES, DEFAULT_WORKERS, PHASES
from ivhsuite.spec import default_spec_path

BUDGET_SECONDS = 120.0
MIN_GENERATED = 1000
CPUS = 2
# A fresh interpreter per round, as CI would start one; the gate through the library, not the CLI.
_GATE_ROUND = """
import json, sys
from pathlib import Path
from ivhsuite.gate import GateOptions, run_gate
result = run_gate(GateOptions.from_env(seed=int(sys.argv[1]), report_dir=Path(sys.argv[2])), out=sys.stderr)
print(json.dumps({"exit": result.exit_code, "generated": result.generated_requests, "scenario": result.scenario_requests}))
"""
_CASES = re.compile(r"(?P<cases>\d+) generated")


def pin_to_cpus(count: int) -> str:
    """Run this process and its children on ``count`` CPUs, as on a 2-core CI runner."""
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(available) >= count and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(available[:count]))
        return f"pinned to CPUs {available[:count]}"
    return f"{len(available) or os.cpu_count()} CPU(s) available, not pinned"


def gate_round(seed: int, folder: Path) -> tuple[float, int, int, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVH_")}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _GATE_ROUND, str(seed), str(folder)], env=env, capture_output=True, text=True
    )
    elapsed = time.monotonic() - started
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        sys.exit(f"the gate round failed (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed, int(found["generated"]), int(found["scenario"]), int(found["exit"])


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"bench_gate: {pin_to_cpus(CPUS)}; budget {BUDGET_SECONDS:g} s and >= {MIN_GENERATED} generated requests")
    ok = True
    per_request: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        for n in range(args.rounds):
            seed = args.seed + n
            elapsed, generated, scenario, code = gate_round(seed, Path(tmp) / f"gate-{n}")
            bare_elapsed, bare_cases = bare_round(seed, Path(tmp))
            fits = code == 0 and elapsed <= BUDGET_SECONDS and generated >= MIN_GENERATED
            ok &= fits
            ratio = (elapsed / max(generated, 1)) / (bare_elapsed / max(bare_cases, 1))
            per_request.append(ratio)
            print(
                f"round {n + 1}: gate exit {code}, {elapsed:.1f} s ({elapsed / BUDGET_SECONDS:.0%} of the budget),"
                f" {generated} generated + {scenario} scenario requests | bare schemathesis:"
                f" {bare_elapsed:.1f} s for {bare_cases} cases | gate/bare time per generated request:"
                f" {ratio:.2f} | {'OK' if fits else 'OVER BUDGET'}"
            )
    print(f"median gate/bare time per generated request: {statistics.median(per_request):.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
