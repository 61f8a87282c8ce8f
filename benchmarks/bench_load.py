"""Is the load generator the bottleneck? Signed + validated scenario calls vs. a bare FastHttpUser.

    .venv/bin/python benchmarks/bench_load.py [--users 20] [--seconds 5] [--rounds 3]

One emulator process, one locust process; the two user kinds take turns against the
same emulator in the same run (bare, scenario, bare, scenario, ...), each posting the
same request: statsession of one ready session. "bare" is a FastHttpUser with a
pre-signed URL and a fixed body; "scenario" is :class:`~ivhsuite.load.user.IvhUser`'s
``call``: fresh ReqId, signed query, response schema + ReqId echo checks, locust events.
The issue asks the scenario to reach at least 85% of the bare requests per second;
the exit code is 1 below that. Also printed: the generator's CPU use during each window,
and the per-call cost of signing and validation alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import timeit

APPKEY, TOKEN = "bench_appkey", "bench_accesstoken"
os.environ.update(IVH_APPKEY=APPKEY, IVH_ACCESS_TOKEN=TOKEN)  # before anything reads them

import gevent  # noqa: E402
from locust import FastHttpUser, events, task  # noqa: E402
from locust.env import Environment  # noqa: E402

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


def measure(host: str, user_class: type, users: int, seconds: float) -> tuple[float, float, int]:
    """Requests per second and generator CPU (share of one core) over a window after warm-up."""
    env = Environment(user_classes=[user_class], host=host, events=events)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=users)
    gevent.sleep(1.0)  # warm-up: connections open, users spawned
    env.stats.reset_all()
    wall, cpu = time.perf_counter(), time.process_time()
    gevent.sleep(seconds)
    requests = sum(e.num_requests for e in env.stats.entries.values() if e.method == "POST")
    failures = env.stats.total.num_failures
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    runner.quit()
    return requests / wall, cpu / wall, failures


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    emulator = emulator_proc.start(DEFAULT_PROJECT_ID, quota=10, prepare_seconds=0.0)
    try:
        with IvhClient(Target.from_env(base_url=emulator.base_url)) as ivh:
            SESSION["id"] = ivh.create_session("bench-user")["SessionId"]
            SESSION["url"] = f"{STAT_PATH}?{signed_query(APPKEY, TOKEN)}"  # valid for 5 minutes
            SESSION["body"] = json.dumps({"Header": {}, "Payload": {"ReqId": new_reqid(), "SessionId": SESSION["id"]}})
            bare, scenario = [], []
            for number in range(1, args.rounds + 1):
                for name, cls, results in (("bare", BareUser, bare), ("scenario", ScenarioUser, scenario)):
                    rps, cpu, failures = measure(emulator.base_url, cls, args.users, args.seconds)
                    results.append(rps)
                    print(f"round {number} {name:8} {rps:8.0f} req/s  generator CPU {cpu:4.0%}  failures {failures}")
    finally:
        emulator.stop()
    ratio = statistics.median(scenario) / statistics.median(bare)
    print(f"median: bare {statistics.median(bare):.0f} req/s, scenario {statistics.median(scenario):.0f} req/s")
    print(
        f"ratio scenario/bare: {ratio:.1%} (target >= {TARGET_RATIO:.0%}): {'OK' if ratio >= TARGET_RATIO else 'TOO SLOW'}"
    )
    for what, micros in per_call_costs(SESSION["id"]).items():
        print(f"  {what:20} {micros:7.1f} µs per call")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
