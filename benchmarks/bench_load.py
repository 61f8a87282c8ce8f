"""What does the load generator's own work cost? Signed + validated scenario calls vs. a bare FastHttpUser.

    .venv/bin/python benchmarks/bench_load.py [--users 20] [--seconds 4] [--rounds 5]

The two user kinds take turns (neither always first) posting the same request,
statsession of one session: "bare" is a FastHttpUser with a pre-signed URL and a fixed
body; "scenario" is :class:`~ivhsuite.load.user.IvhUser`'s ``call``: fresh ReqId, signed
query, response schema + ReqId echo checks, locust events. Each window measures the
requests and the CPU time of this (the locust) process.

Requests per second measure whichever side is slower, so the figure is the generator's
capacity, requests per CPU-second of the locust process: the rate a generator core
reaches once it is what limits, from each kind's least disturbed window (other load on
the machine only ever adds CPU per request; the ratio of medians is printed too). It is
taken twice:

- against ``stub_server.py`` on the other CPU, a server that is never the bottleneck
  (the generator runs near 100% of its core): the goal figure, scenario/bare >= 0.85,
  exit code 1 below it;
- against the emulator (``emulator_proc``), for comparison.

Also printed: requests per second, the share of a core the generator used, the
per-call cost of signing and of judging an answer, and a last ``RESULT {json}`` line
that ``bench_emulator.py`` reads.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import timeit
from dataclasses import dataclass
from pathlib import Path

APPKEY, TOKEN = "bench_appkey", "bench_accesstoken"
os.environ.update(IVH_APPKEY=APPKEY, IVH_ACCESS_TOKEN=TOKEN)  # before anything reads them

import gevent  # noqa: E402
from locust import FastHttpUser, task  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.event import Events  # noqa: E402

from ivhsuite.client import IvhClient, new_reqid  # noqa: E402
from ivhsuite.config import DEFAULT_PROJECT_ID, Target  # noqa: E402
from ivhsuite.load import emulator_proc  # noqa: E402
from ivhsuite.load.user import IvhUser, QuerySigner, shared_checker  # noqa: E402
from ivhsuite.signing import signed_query  # noqa: E402
from ivhsuite.spec import load_spec  # noqa: E402

TARGET_RATIO = 0.85
STAT_PATH = load_spec().operation("statsession").path
SESSION: dict[str, str] = {}


class BareUser(FastHttpUser):
    """The baseline: the same POST, signed once up front, answer not looked at."""

    @task
    def stat(self) -> None:
        self.client.post(SESSION["url"], data=SESSION["body"], headers={"Content-Type": "application/json"})


class ScenarioUser(IvhUser):
    """The scenarios' request path, doing nothing but the same statsession."""

    @task
    def stat(self) -> None:
        self.call("statsession", {"SessionId": SESSION["id"]})


@dataclass
class Window:
    """One measuring window of one user kind."""

    requests: int
    wall: float
    cpu: float  # generator CPU seconds (this process: locust and its users)
    failures: int

    @property
    def rps(self) -> float:
        return self.requests / self.wall

    @property
    def cpu_share(self) -> float:
        return self.cpu / self.wall

    @property
    def capacity(self) -> float:
        """Requests per generator CPU-second: the rate one saturated generator core would reach."""
        return self.requests / max(self.cpu, 1e-9)


def measure(host: str, user_class: type, users: int, seconds: float) -> Window:
    """Requests, wall time and generator CPU over a window after warm-up."""
    # Fresh events per window: a runner registers its stats listener on the events it is given,
    # and listeners left on shared events by earlier windows would log every later request again.
    env = Environment(user_classes=[user_class], host=host, events=Events())
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=users)
    gevent.sleep(1.0)  # warm-up: connections open, users spawned
    env.stats.reset_all()
    wall, cpu = time.perf_counter(), time.process_time()
    gevent.sleep(seconds)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    requests = sum(e.num_requests for e in env.stats.entries.values() if e.method == "POST")
    failures = env.stats.total.num_failures
    runner.quit()
    return Window(requests, wall, cpu, failures)


def per_call_costs(session_id: str) -> dict[str, float]:
    """Microseconds per call for signing and for validating a typical answer, without I/O."""
    signer = QuerySigner(APPKEY, TOKEN)
    checker = shared_checker()
    reqid = new_reqid()
    answer = json.dumps(
        {
            "Header": {"Code": 0, "Message": "success", "RequestID": "r"},
            "Payload": {"ReqId": reqid, "SessionStatus": 1, "SpeakStatus": "TextOver", "IsSessionStarted": False},
        }
    ).encode()
    n = 2000
    sign_fresh = timeit.timeit(lambda: signed_query(APPKEY, TOKEN), number=n) / n * 1e6
    sign_cached = timeit.timeit(signer.query, number=n) / n * 1e6
    validate = timeit.timeit(lambda: checker.check("statsession", 200, answer, reqid), number=n) / n * 1e6
    return {"sign (fresh HMAC)": sign_fresh, "sign (same second)": sign_cached, "judge answer": validate}


def alternate(host: str, rounds: int, users: int, seconds: float, label: str) -> tuple[list[Window], list[Window]]:
    """Windows of each user kind against ``host``, taking turns (neither always goes first)."""
    bare: list[Window] = []
    scenario: list[Window] = []
    kinds = [("bare", BareUser, bare), ("scenario", ScenarioUser, scenario)]
    for number in range(1, rounds + 1):
        for name, cls, results in kinds if number % 2 else kinds[::-1]:
            window = measure(host, cls, users, seconds)
            results.append(window)
            print(
                f"{label} round {number} {name:8} {window.rps:7.0f} req/s  generator CPU {window.cpu_share:4.0%}"
                f"  {1e6 / window.capacity:6.1f} µs CPU/request  failures {window.failures}",
                flush=True,
            )
    return bare, scenario


def start_stub() -> tuple[subprocess.Popen[bytes], str]:
    """The stub server on the other CPU than this process (when there are two)."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("stub_server.py"))],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    line = process.stdout.readline().decode() if process.stdout else ""
    if "http://" not in line:
        process.kill()
        raise SystemExit(f"the stub server did not start: {line!r}")
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(available) >= 2:
        os.sched_setaffinity(0, {available[0]})
        os.sched_setaffinity(process.pid, {available[1]})
    return process, line.split(" on ", 1)[1].strip()


def best_cpu_us(windows: list[Window]) -> float:
    """Generator µs of CPU per request in the least disturbed window."""
    return 1e6 / max(w.capacity for w in windows)


def medians(windows: list[Window]) -> tuple[float, float, float]:
    """Median requests per second, generator CPU share and generator µs of CPU per request."""
    return (
        statistics.median(w.rps for w in windows),
        statistics.median(w.cpu_share for w in windows),
        1e6 / statistics.median(w.capacity for w in windows),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    emulator = emulator_proc.start(DEFAULT_PROJECT_ID, quota=10, prepare_seconds=0.0)
    try:
        with IvhClient(Target.from_env(base_url=emulator.base_url)) as ivh:
            SESSION["id"] = ivh.create_session("bench-user")["SessionId"]
            SESSION["url"] = f"{STAT_PATH}?{signed_query(APPKEY, TOKEN)}"  # valid for 5 minutes
            SESSION["body"] = json.dumps({"Header": {}, "Payload": {"ReqId": new_reqid(), "SessionId": SESSION["id"]}})
            on_emulator = alternate(emulator.base_url, args.rounds, args.users, args.seconds, "emulator")
    finally:
        emulator.stop()
    stub, stub_url = start_stub()
    try:
        saturated = alternate(stub_url, args.rounds, args.users, args.seconds, "stub    ")
    finally:
        stub.terminate()
        stub.wait(10)

    (e_bare, e_scen), (s_bare, s_scen) = on_emulator, saturated
    # CPU per request only grows when other processes disturb a window (caches, the core taken
    # away), so each kind's least disturbed window is its cost; the same rule for both kinds.
    e_ratio = best_cpu_us(e_bare) / best_cpu_us(e_scen)
    s_ratio = best_cpu_us(s_bare) / best_cpu_us(s_scen)
    s_median = medians(s_bare)[2] / medians(s_scen)[2]
    s_throughput = medians(s_scen)[0] / medians(s_bare)[0]
    for label, (bare, scenario) in (("emulator", on_emulator), ("stub", saturated)):
        (b_rps, b_cpu, b_us), (c_rps, c_cpu, c_us) = medians(bare), medians(scenario)
        print(
            f"median against the {label}: bare {b_rps:.0f} req/s at {b_cpu:.0%} CPU, {b_us:.1f} µs/request;"
            f" scenario {c_rps:.0f} req/s at {c_cpu:.0%} CPU, {c_us:.1f} µs/request"
        )
    saturated_cpu = statistics.median(w.cpu_share for w in s_bare + s_scen)
    verdict = "OK" if s_ratio >= TARGET_RATIO else "TOO SLOW"
    print(
        f"scenario/bare capacity, the generator the bottleneck (stub server; median window at {saturated_cpu:.0%}"
        f" of a core): {s_ratio:.1%} (target >= {TARGET_RATIO:.0%}): {verdict}; from the medians: {s_median:.1%};"
        f" requests per second: {s_throughput:.1%}"
    )
    print(f"scenario/bare capacity against the emulator: {e_ratio:.1%}")
    for what, micros in per_call_costs(SESSION["id"]).items():
        print(f"  {what:20} {micros:7.1f} µs per call")
    result = {
        "capacity_ratio": round(s_ratio, 4),
        "capacity_ratio_medians": round(s_median, 4),
        "throughput_ratio": round(s_throughput, 4),
        "emulator_capacity_ratio": round(e_ratio, 4),
    }
    print("RESULT " + json.dumps(result))
    return 0 if s_ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
