"""Is the emulator fast enough to be the backend of a team's own load test? Every figure in one run.

    .venv/bin/python benchmarks/bench_emulator.py [--seconds 4] [--rounds 5] [--live 100000]

The load is the issue's: wrk, 1 thread, 32 connections, createsession with UserIds from a
pool of 1,000 (so every create preempts the UserId's previous session). The servers take
turns, round after round, and each figure compares medians measured in this run:

1. ``ivhsuite emulate`` / a bare Starlette app that parses the body and answers canned
   JSON (``bare_starlette.py``, same uvicorn): goal >= 0.7;
2. ``ivhsuite emulate`` / Prism's mock server (``@stoplight/prism-cli``, ``prism mock``) on
   the same spec: goal >= 2 (the emulator is stateful and validates every request);
   Prism comes from ``--prism``, ``$PATH``, or ``npm install`` into a temporary folder;
3. the same emulator holding 100,000 live sessions (filled with fresh UserIds first) /
   one holding 1,000: goal >= 0.83, and its RSS at 100,000 live sessions <= 250 MB;
4. the load generator: ``bench_load.py`` (a subprocess), the signed and validating
   scenario user's capacity / a bare FastHttpUser's, requests per CPU-second of the
   generator while it is the bottleneck: goal >= 0.85.

wrk runs on one CPU, the server under test on another. A figure whose tool is missing
(wrk, npm) is skipped with the reason. Beside each throughput ratio: the same ratio per
server CPU-second (what each would serve with a core to itself), which other load on a
shared machine disturbs less. Exit code 1 when a measured figure misses its goal.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ivhsuite.config import DEFAULT_PROJECT_ID
from ivhsuite.spec import default_spec_path, load_spec

HERE = Path(__file__).resolve().parent
POOL = 1000
CONNECTIONS = 32
QUOTA = 1_000_000
IDLE_SECONDS = 3600  # nothing may expire while the figures are taken
STARTUP_TIMEOUT = 60.0
FILL_CHUNK_SECONDS = 4
GOAL_VS_BARE, GOAL_VS_PRISM, GOAL_LIVE, GOAL_RSS_MB, GOAL_GENERATOR = 0.7, 2.0, 0.83, 250.0, 0.85
CREATE_PATH = load_spec().operation("createsession").path
LIST_PATH = load_spec().operation("listsessionofprojectid").path
# Prism insists on the spec's security parameters; the unsigned emulator ignores them.
QUERY = "?appkey=bench&timestamp=1700000000&signature=bench"

# wrk script. Arguments: pool size (0: a fresh UserId per request), UserId prefix, first
# number, answers after which to stop (0: run the whole duration). Counts answers that
# are not HTTP 200 with Code 0: a load test that measures refusals measures nothing.
WRK_SCRIPT = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local threads = {}
local pool, prefix, first, stop_after = 1000, "user-", 0, 0
sent, answered, not_ok = 0, 0, 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  pool, prefix, first, stop_after = tonumber(args[1]), args[2], tonumber(args[3]), tonumber(args[4])
end

local function reqid()  -- 32 random hex digits, like the uuid4 hex a client sends
  local r = math.random
  return string.format("%04x%04x%04x%04x%04x%04x%04x%04x",
    r(0, 65535), r(0, 65535), r(0, 65535), r(0, 65535), r(0, 65535), r(0, 65535), r(0, 65535), r(0, 65535))
end

function request()
  sent = sent + 1
  local number = first + sent
  if pool > 0 then number = number % pool end
  local body = string.format(
    '{"Header":{},"Payload":{"ReqId":"%s","VirtualmanProjectId":"PROJECT","UserId":"%s%d","Protocol":"rtmp","DriverType":1}}',
    reqid(), prefix, number)
  return wrk.format(nil, "PATH", nil, body)
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 or not string.find(body, '"Code":0,', 1, true) then not_ok = not_ok + 1 end
  if stop_after > 0 and answered >= stop_after then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local total_not_ok = 0
  for _, thread in ipairs(threads) do total_not_ok = total_not_ok + thread:get("not_ok") end
  io.write(string.format("answers-not-ok: %d\n", total_not_ok))
end
"""


def cpus() -> tuple[set[int] | None, set[int] | None]:
    """One CPU for wrk, another for the server under test (None, None: fewer than two CPUs)."""
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return ({available[0]}, {available[1]}) if len(available) >= 2 else (None, None)


WRK_CPUS, SERVER_CPUS = cpus()


@dataclass
class Run:
    """One wrk window against one server."""

    rps: float
    requests: int
    not_ok: int
    cpu_us: float  # the server's CPU time per request


@dataclass
class Server:
    """A server in a child process, with its URL and its CPU and memory as the kernel reports them."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    runs: list[Run] = field(default_factory=list)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status)[1]) / 1024

    def median_rps(self) -> float:
        return statistics.median(run.rps for run in self.runs)

    def median_cpu_us(self) -> float:
        return statistics.median(run.cpu_us for run in self.runs)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_announced(name: str, command: list[str], log: Path, env: dict[str, str] | None = None) -> Server:
    """Start a server that prints its URL on its first line (the emulator, the bare app)."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    pin(process.pid, SERVER_CPUS)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        found = re.search(r"on (http://[\d.]+:\d+)", log.read_text(errors="replace"))
        if found:
            return Server(name, process, found[1])
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{name} did not start: {log.read_text(errors='replace')[-2000:]}")


def pin(pid: int, cpus: set[int] | None) -> None:
    """Keep a process on its CPU, so the server and wrk never queue behind each other."""
    if cpus is not None:
        os.sched_setaffinity(pid, cpus)


def start_emulator(name: str, folder: Path) -> Server:
    command = [sys.executable, "-m", "ivhsuite.cli", "emulate", "--port", "0", "--quota", str(QUOTA)]
    command += ["--idle-seconds", str(IDLE_SECONDS)]
    env = {k: v for k, v in os.environ.items() if k != "IVHSUITE_EMULATOR_FAULTS"}  # the faithful emulator
    return start_announced(name, command, folder / f"{name}.log", env)


def find_prism(given: str | None, folder: Path) -> tuple[str | None, str]:
    """The prism executable, or None and why not: ``--prism``, ``$PATH``, else npm into a temp folder."""
    if given:
        return given, given
    on_path = shutil.which("prism")
    if on_path:
        return on_path, on_path
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm is not installed (Prism comes from npm: @stoplight/prism-cli)"
    prefix = folder / "ivhsuite-bench-prism"  # outside the repository, reused by the next run
    binary = prefix / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        print(f"installing @stoplight/prism-cli with npm into {prefix} ...", flush=True)
        done = subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "@stoplight/prism-cli"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0 or not binary.exists():
            return None, f"npm install @stoplight/prism-cli failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return str(binary), f"npm, {prefix}"


def start_prism(binary: str) -> Server:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [binary, "mock", str(default_spec_path()), "-h", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    pin(process.pid, SERVER_CPUS)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return Server("prism", process, f"http://127.0.0.1:{port}")
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("prism mock did not start")


def wrk(server: Server, script: Path, seconds: float, pool: int, prefix: str, first: int = 0, stop: int = 0) -> Run:
    cpu = server.cpu_seconds()
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(script)]
    command += [server.url, "--", str(pool), prefix, str(first), str(stop)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, preexec_fn=lambda: pin(0, WRK_CPUS)
    )
    cpu = server.cpu_seconds() - cpu
    rps = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    requests = re.search(r"(\d+) requests in", done.stdout)
    not_ok = re.search(r"answers-not-ok: (\d+)", done.stdout)
    if not (rps and requests and not_ok):
        raise SystemExit(f"wrk printed no result (exit {done.returncode}): {done.stdout}{done.stderr}")
    count = int(requests[1])
    return Run(float(rps[1]), count, int(not_ok[1]), cpu / max(count, 1) * 1e6)


def fill(server: Server, script: Path, sessions: int) -> int:
    """Create ``sessions`` sessions with fresh UserIds; returns how many were answered with Code 0."""
    created = 0
    for chunk in range(sessions // 1000 + 20):  # bounded: a chunk creates far more than 1,000
        if created >= sessions:
            break
        # Each chunk numbers its UserIds apart, so a create still in flight when the previous
        # chunk stopped cannot share a UserId with this one (and preempt instead of adding).
        run = wrk(server, script, FILL_CHUNK_SECONDS, 0, "fill-", chunk * 10_000_000, sessions - created)
        created += run.requests - run.not_ok
    return created


def live_sessions(server: Server) -> int:
    body = json.dumps({"Header": {}, "Payload": {"ReqId": "0" * 32, "VirtualmanProjectId": DEFAULT_PROJECT_ID}})
    request = urllib.request.Request(
        server.url + LIST_PATH, body.encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=120) as answer:
        return len(json.loads(answer.read())["Payload"]["Sessions"])


def generator_figure(rounds: int, seconds: float) -> tuple[float | None, str]:
    """Run bench_load.py in its own process (locust patches the process with gevent).

    Its figure: the scenario user's capacity / a bare FastHttpUser's, with the generator
    the bottleneck (it runs them against a stub server; the emulator, on the other of two
    cores, is about as fast as one locust core, so it is printed beside, not judged).
    """
    command = [sys.executable, str(HERE / "bench_load.py"), "--rounds", str(rounds), "--seconds", str(seconds)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=rounds * (seconds + 5) * 4 + 120)
    for line in done.stdout.splitlines():
        print(f"    bench_load | {line}")
        if line.startswith("RESULT "):
            result = json.loads(line.removeprefix("RESULT "))
            return result["capacity_ratio"], (
                f"from the medians {result['capacity_ratio_medians']:.2f}; requests per second"
                f" {result['throughput_ratio']:.2f}; against the emulator {result['emulator_capacity_ratio']:.2f}"
            )
    return None, f"bench_load.py printed no result (exit {done.returncode}): {done.stderr.strip()[-500:]}"


@dataclass
class Figure:
    name: str
    value: float | None
    goal: float
    higher_is_better: bool = True
    unit: str = ""
    why_skipped: str = ""
    note: str = ""

    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.goal if self.higher_is_better else self.value <= self.goal

    def line(self) -> str:
        sign = ">=" if self.higher_is_better else "<="
        if self.value is None:
            return f"  {self.name:52} skipped: {self.why_skipped}"
        verdict = "OK" if self.met() else "MISSED"
        line = f"  {self.name:52} {self.value:8.2f}{self.unit:3} (goal {sign} {self.goal:g}{self.unit})  {verdict}"
        return f"{line}  [{self.note}]" if self.note else line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one measuring window")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--live", type=int, default=100_000, help="live sessions of the filled emulator")
    parser.add_argument("--prism", help="a prism executable (default: $PATH, else npm into a temp folder)")
    parser.add_argument("--skip-generator", action="store_true", help="leave out the bench_load.py figure")
    args = parser.parse_args(argv)

    figures: list[Figure] = []
    names = (
        "emulator / bare Starlette, createsession rps",
        "emulator / Prism mock, createsession rps",
        f"emulator at {args.live:,} live / at {POOL:,} live, rps",
        f"emulator RSS at {args.live:,} live sessions",
    )
    if shutil.which("wrk") is None:
        why = "wrk is not installed (apt-get install wrk)"
        figures += [Figure(names[0], None, GOAL_VS_BARE, why_skipped=why)]
        figures += [Figure(names[1], None, GOAL_VS_PRISM, why_skipped=why)]
        figures += [Figure(names[2], None, GOAL_LIVE, why_skipped=why)]
        figures += [Figure(names[3], None, GOAL_RSS_MB, False, " MB", why_skipped=why)]
    else:
        figures += server_figures(args, names)
    if args.skip_generator:
        figures.append(
            Figure("scenario user / bare FastHttpUser, capacity", None, GOAL_GENERATOR, why_skipped="--skip-generator")
        )
    else:
        print("load generator (bench_load.py):", flush=True)
        ratio, why = generator_figure(args.rounds, args.seconds)
        name = "scenario user / bare FastHttpUser, capacity"
        figures.append(Figure(name, ratio, GOAL_GENERATOR, why_skipped=why, note=why if ratio is not None else ""))

    print("\nfigures (ratios of medians measured in this run):")
    for figure in figures:
        print(figure.line())
    return 1 if any(figure.met() is False for figure in figures) else 0


def server_figures(args: argparse.Namespace, names: tuple[str, ...]) -> list[Figure]:
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="bench-emulator-") as tmp:
        folder = Path(tmp)
        script = folder / "createsession.lua"
        script.write_text(WRK_SCRIPT.replace("PROJECT", DEFAULT_PROJECT_ID).replace("PATH", CREATE_PATH + QUERY))
        try:
            emulator = start_emulator("emulator", folder)
            filled = start_emulator("emulator-filled", folder)
            bare = start_announced("bare", [sys.executable, str(HERE / "bare_starlette.py")], folder / "bare.log")
            servers += [emulator, filled, bare]
            prism_binary, prism_note = find_prism(args.prism, Path(tempfile.gettempdir()))
            prism = start_prism(prism_binary) if prism_binary else None
            servers += [prism] if prism else []
            print(f"servers: {', '.join(f'{s.name} {s.url}' for s in servers)}; prism: {prism_note}", flush=True)

            fill_count = args.live - POOL
            started = time.monotonic()
            created = fill(filled, script, fill_count)
            print(
                f"filled {filled.name}: {created:,} sessions with fresh UserIds in {time.monotonic() - started:.0f} s"
            )
            turns = [emulator, bare] + ([prism] if prism else []) + [filled]
            for server in turns:  # warm-up: connections, caches, and the pool's 1,000 sessions
                wrk(server, script, 2, POOL, "user-")
            for number in range(1, args.rounds + 1):
                for server in turns:
                    run = wrk(server, script, args.seconds, POOL, "user-")
                    server.runs.append(run)
                    print(
                        f"round {number} {server.name:16} {run.rps:8.0f} req/s  server CPU {run.cpu_us:6.1f} µs/request"
                        f"  answers not Code 0: {run.not_ok}",
                        flush=True,
                    )
            rss = filled.rss_mb()
            live = live_sessions(filled)
            print(
                f"{filled.name}: {live:,} live sessions (listsessionofprojectid), RSS {rss:.0f} MB"
                f" (the other emulator: {live_sessions(emulator):,} live, RSS {emulator.rss_mb():.0f} MB)"
            )
            for server in turns:
                print(
                    f"median {server.name:16} {server.median_rps():8.0f} req/s  {server.median_cpu_us():6.1f} µs CPU/request"
                )
        finally:
            for server in servers:
                server.stop()

    def per_cpu(server: Server, baseline: Server) -> str:
        return f"per server CPU-second: {baseline.median_cpu_us() / server.median_cpu_us():.2f}"

    figures = [Figure(names[0], emulator.median_rps() / bare.median_rps(), GOAL_VS_BARE, note=per_cpu(emulator, bare))]
    if prism is not None:
        ratio = emulator.median_rps() / prism.median_rps()
        figures.append(Figure(names[1], ratio, GOAL_VS_PRISM, note=per_cpu(emulator, prism)))
    else:
        figures.append(Figure(names[1], None, GOAL_VS_PRISM, why_skipped=prism_note))
    live_ok = live >= args.live
    figures.append(
        Figure(
            names[2],
            filled.median_rps() / emulator.median_rps() if live_ok else None,
            GOAL_LIVE,
            why_skipped=f"only {live:,} live sessions",
            note=per_cpu(filled, emulator),
        )
    )
    figures.append(
        Figure(names[3], rss if live_ok else None, GOAL_RSS_MB, False, " MB", why_skipped=f"only {live:,} live")
    )
    return figures


if __name__ == "__main__":
    sys.exit(main())
