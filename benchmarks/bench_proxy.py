"""What does ``ivhsuite proxy`` add to each call? The same client, direct to the emulator and through the proxy.

    .venv/bin/python benchmarks/bench_proxy.py [--sessions 200] [--rounds 3] [--threads 1 4]

Three processes at most, pinned to 2 CPUs like a CI runner: an emulator (``ivhsuite
emulate``), a proxy forwarding to it over loopback (``ivhsuite proxy --upstream``, the
topology of a real endpoint), and a proxy with the embedded emulator (``ivhsuite proxy
--emulator``, the offline CI mode). This process is the application: each session is a
well-behaved, signed lifecycle (createsession, statsession, startsession, one text,
closesession: 5 calls), over keep-alive connections, on 1 thread (latency) and on several
(throughput). The paths take turns in each round; the baseline is the direct path of the
same round. Printed: calls per second, milliseconds per call, the ratio of the proxy's
time per call to the direct one's (1.00 = no overhead), and the ratio of the CPU the
servers of each path burn per call (read from /proc: steadier than wall time on a busy
machine; for ``--upstream`` it counts the proxy and the emulator behind it). The proxies' own reports are read
back to check that the client really broke no rule (a benchmark of findings would measure
the terminal). Exit code 1 when a proxy found anything.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import httpx

from ivhsuite.config import DEFAULT_PROJECT_ID
from ivhsuite.signing import SignatureAuth
from ivhsuite.spec import load_spec

CPUS = 2
QUOTA = "100000"
PATHS = {op.operation_id: op.path for op in load_spec()}
_URL = re.compile(r"(http://127\.0\.0\.1:\d+)")


def pin_to_cpus(count: int) -> str:
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(available) >= count and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(available[:count]))
        return f"pinned to CPUs {available[:count]}"
    return f"{len(available) or os.cpu_count()} CPU(s) available, not pinned"


class Server:
    """An ``ivhsuite`` subcommand serving on a free port; its URL read from its first line."""

    def __init__(self, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IVH_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ivhsuite.cli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        stream = self.process.stdout if args[0] == "emulate" else self.process.stderr
        assert stream is not None
        found = _URL.search(stream.readline())
        if found is None:
            self.stop()
            sys.exit(f"{args[0]} did not start: {self.process.stderr.read() if self.process.stderr else ''}")
        self.url = found[1]
        # Drain the other stream so a chatty process never blocks on a full pipe.
        for other in (self.process.stdout, self.process.stderr):
            if other is not None and other is not stream:
                threading.Thread(target=other.read, daemon=True).start()
        threading.Thread(target=stream.read, daemon=True).start()

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the process used so far (Linux ``/proc``), None elsewhere."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def lifecycles(url: str, sessions: int, tag: str) -> int:
    """Run ``sessions`` well-behaved lifecycles; the number of calls made."""
    calls = 0
    with httpx.Client(base_url=url, auth=SignatureAuth("bench-appkey", "bench-access-token"), timeout=30) as http:

        def call(op: str, **payload: object) -> dict:
            nonlocal calls
            calls += 1
            body = {"Header": {}, "Payload": {"ReqId": uuid.uuid4().hex, **payload}}
            answer = http.post(PATHS[op], json=body).json()
            if answer["Header"]["Code"] != 0:
                raise SystemExit(f"{op} answered {answer['Header']}")
            return answer["Payload"]

        for n in range(sessions):
            created = call("createsession", VirtualmanProjectId=DEFAULT_PROJECT_ID, UserId=f"{tag}-{n}",
                           Protocol="rtmp", DriverType=1)  # fmt: skip
            sid = created["SessionId"]
            call("statsession", SessionId=sid)
            call("startsession", SessionId=sid)
            call("command", SessionId=sid, Command="SEND_TEXT", Data={"Text": "hello"})
            call("closesession", SessionId=sid)
    return calls


def measure(url: str, sessions: int, threads: int, tag: str) -> tuple[float, int]:
    """Seconds and calls for ``sessions`` lifecycles spread over ``threads`` clients."""
    done: list[int] = []
    per_thread = max(1, sessions // threads)
    workers = [
        threading.Thread(target=lambda i=i: done.append(lifecycles(url, per_thread, f"{tag}-t{i}")))
        for i in range(threads)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started, sum(done)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200, help="lifecycles per path, round and thread count")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    print(f"bench_proxy: {pin_to_cpus(CPUS)}; {args.sessions} lifecycles (5 calls each) per path and round")
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp:
        emulator = Server("emulate", "--port", "0", "--prepare-seconds", "0", "--quota", QUOTA)
        forwarding = Server("proxy", "--upstream", emulator.url, "--port", "0", "--report-dir", f"{tmp}/upstream")
        embedded = Server("proxy", "--emulator", "--port", "0", "--prepare-seconds", "0", "--quota", QUOTA,
                          "--report-dir", f"{tmp}/embedded")  # fmt: skip
        paths = {"direct": emulator.url, "proxy --upstream": forwarding.url, "proxy --emulator": embedded.url}
        # The CPU each path's server side burns per call: robust to a busy machine, unlike wall time.
        servers = {"direct": [emulator], "proxy --upstream": [forwarding, emulator], "proxy --emulator": [embedded]}
        try:
            lifecycles(emulator.url, 5, "warm-direct")
            lifecycles(forwarding.url, 5, "warm-upstream")
            lifecycles(embedded.url, 5, "warm-embedded")
            for threads in args.threads:
                ratios: dict[str, list[float]] = {name: [] for name in paths if name != "direct"}
                cpu: dict[str, list[float]] = {name: [] for name in paths}
                for n in range(args.rounds):
                    per_call: dict[str, float] = {}
                    line = []
                    for name, url in paths.items():
                        before = [server.cpu_seconds() or 0.0 for server in servers[name]]
                        seconds, calls = measure(url, args.sessions, threads, f"r{n}-{threads}-{name[-4:]}")
                        after = [server.cpu_seconds() or 0.0 for server in servers[name]]
                        cpu[name].append((sum(after) - sum(before)) / calls)
                        per_call[name] = seconds / calls
                        line.append(
                            f"{name} {calls / seconds:,.0f} calls/s ({per_call[name] * 1000:.2f} ms/call,"
                            f" server CPU {cpu[name][-1] * 1000:.2f} ms/call)"
                        )
                    for name in ratios:
                        ratios[name].append(per_call[name] / per_call["direct"])
                    print(f"{threads} thread(s), round {n + 1}: " + " | ".join(line))
                summary = ", ".join(f"{name} {statistics.median(r):.2f}" for name, r in ratios.items())
                print(f"{threads} thread(s): median time per call, proxy / direct: {summary}")
                direct_cpu = statistics.median(cpu["direct"])
                summary = ", ".join(
                    f"{name} {statistics.median(cpu[name]) / direct_cpu:.2f}" for name in paths if name != "direct"
                )
                print(f"{threads} thread(s): median server CPU per call, proxy path / direct: {summary}")
        finally:
            codes = {name: server.stop() for name, server in (("upstream", forwarding), ("embedded", embedded))}
            emulator.stop()
        found = findings_of(Path(tmp), codes)
    return 1 if found else 0


def findings_of(folder: Path, names: Iterable[str]) -> int:
    """Read back each proxy's report (``folder/<name>/summary.json``): print its counts, return its findings."""
    found = 0
    for name in names:
        report = json.loads((folder / name / "summary.json").read_text())
        found += report["counts"]["client"] + report["counts"]["endpoint"]
        print(f"proxy {name}: {report['counts']['calls']} calls and frames judged, {report['counts']['client']} client"
              f" and {report['counts']['endpoint']} endpoint findings, {report['counts']['leaked']} leaked")  # fmt: skip
    return found


if __name__ == "__main__":
    sys.exit(main())
