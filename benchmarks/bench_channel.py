"""Does one core hold 1,000 command channels streaming audio at the documented pace?

    .venv/bin/python benchmarks/bench_channel.py [--channels 1000] [--seconds 10]

Two servers take turns, each on CPU 0 (the load generator runs on CPU 1):

1. ``ivhsuite emulate``: ``--channels`` started DriverType 3 sessions, each with its channel
   open, each streaming audio as the AsyncAPI document says (the first packets at once, then
   one every send interval, 5120-byte packets, an empty final packet closing each sequence,
   ReqId per sequence), the emulator checking every packet and answering AudioStart/AudioOver;
2. a bare Starlette WebSocket echo (``bare_ws_echo.py``, same uvicorn and WebSocket
   implementation) fed the same messages by the same generator.

Figures, all measured in this run:
- the emulator's CPU while the channels stream, as a share of its one core: goal < 1
  (one core holds them), with the share of packets the generator sent on time;
- its CPU per packet / the bare echo's CPU per packet (the echo also writes each one back);
- its CPU while the same channels are open and idle, as a share of a core: goal < 0.02.

Exit code 1 when a figure misses its goal.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from ivhsuite.channel_spec import load_channel_spec
from ivhsuite.config import DEFAULT_PROJECT_ID
from ivhsuite.spec import load_spec

HERE = Path(__file__).resolve().parent
RULES = load_channel_spec().rules
AUDIO = RULES.audio
ADDRESS = load_channel_spec().address
PACKETS_PER_SEQUENCE = 25  # 4 s of audio, then the empty final packet
GOAL_CORE_SHARE, GOAL_IDLE_SHARE = 1.0, 0.02
LATE = 0.05  # a packet sent this much after its due time counts as late
CONNECT_BATCH = 100


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pin(pid: int, cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(pid, {cpu})


@dataclass
class Server:
    proc: subprocess.Popen[str]
    base_url: str

    @classmethod
    def start(cls, argv: list[str]) -> Server:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        line = proc.stdout.readline() if proc.stdout else ""
        pin(proc.pid, 0)
        return cls(proc, line.split(" on ", 1)[1].split(" ", 1)[0])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass
class Tally:
    sent: int = 0
    late: int = 0
    received: int = 0
    errors: int = 0


def started_sessions(base_url: str, n: int) -> list[str]:
    spec = load_spec()
    ids = []
    with httpx.Client(base_url=base_url, timeout=30) as http:
        for i in range(n):
            body = {
                "Payload": {
                    "ReqId": uuid.uuid4().hex,
                    "VirtualmanProjectId": DEFAULT_PROJECT_ID,
                    "UserId": f"bench-{i}",
                    "Protocol": "webrtc",
                    "DriverType": 3,
                }
            }
            sid = http.post(spec.operation("createsession").path, json=body).json()["Payload"]["SessionId"]
            start = {"Payload": {"ReqId": uuid.uuid4().hex, "SessionId": sid}}
            http.post(spec.operation("startsession").path, json=start).raise_for_status()
            ids.append(sid)
    return ids


async def stream(ws: object, sid: str, stop_at: float, tally: Tally, echo: bool) -> None:
    """Sequences of paced audio packets until ``stop_at``: head start, then one every interval."""
    packet = base64.b64encode(b"\x00\x01" * (AUDIO.packet_bytes // 2)).decode()
    loop = asyncio.get_running_loop()
    while loop.time() < stop_at:
        req_id = uuid.uuid4().hex
        began = loop.time()
        for seq in range(1, PACKETS_PER_SEQUENCE + 2):
            due = began + max(0, seq - AUDIO.head_start_packets) * AUDIO.send_interval_seconds
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -LATE:
                tally.late += 1
            final = seq == PACKETS_PER_SEQUENCE + 1
            data = {"Audio": "" if final else packet, "Seq": seq, "IsFinal": final}
            body = {"Payload": {"ReqId": req_id, "SessionId": sid, "Command": "SEND_AUDIO", "Data": data}}
            await ws.send(json.dumps(body))  # type: ignore[attr-defined]
            tally.sent += 1
        if not echo:  # the next sequence may start once this one is over, as a client would wait
            await asyncio.sleep(max(0.0, began + PACKETS_PER_SEQUENCE * AUDIO.packet_seconds - loop.time()))


async def drain(ws: object, tally: Tally) -> None:
    async for message in ws:  # type: ignore[attr-defined]
        tally.received += 1
        if '"Code":0' not in message[:80] and "SEND_AUDIO" not in message[:200]:
            tally.errors += 1


async def run_load(server: Server, sids: list[str], seconds: float, idle_seconds: float, echo: bool) -> dict[str, float]:
    url = server.base_url.replace("http://", "ws://") + ADDRESS
    tally = Tally()
    connections = []
    for first in range(0, len(sids), CONNECT_BATCH):
        batch = sids[first : first + CONNECT_BATCH]
        connections += await asyncio.gather(
            *(connect(f"{url}?requestid={sid}", max_size=None, ping_interval=None) for sid in batch)
        )
    readers = [asyncio.create_task(drain(ws, tally)) for ws in connections]
    await asyncio.sleep(1.0)  # settle after the connects
    cpu0, t0 = cpu_seconds(server.proc.pid), time.monotonic()
    await asyncio.sleep(idle_seconds)
    idle_share = (cpu_seconds(server.proc.pid) - cpu0) / (time.monotonic() - t0)
    loop = asyncio.get_running_loop()
    warmup = 2.0
    stop_at = loop.time() + warmup + seconds
    streams = [asyncio.create_task(stream(ws, sid, stop_at, tally, echo)) for ws, sid in zip(connections, sids, strict=True)]
    await asyncio.sleep(warmup)
    cpu1, t1, sent1 = cpu_seconds(server.proc.pid), time.monotonic(), tally.sent
    await asyncio.sleep(seconds)
    busy = cpu_seconds(server.proc.pid) - cpu1
    elapsed, packets = time.monotonic() - t1, tally.sent - sent1
    late = tally.late
    await asyncio.gather(*streams, return_exceptions=True)
    for ws in connections:
        await ws.close()
    for reader in readers:
        reader.cancel()
    return {
        "core_share": busy / elapsed,
        "cpu_per_packet": busy / max(packets, 1),
        "packets": packets,
        "late_share": late / max(tally.sent, 1),
        "idle_share": idle_share,
        "received": tally.received,
        "errors": tally.errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    args = parser.parse_args()
    pin(0, 1)
    emulate = [sys.executable, "-m", "ivhsuite.cli", "emulate", "--port", "0", "--prepare-seconds", "0"]
    emulate += ["--quota", str(args.channels * 2)]
    emulator = Server.start(emulate)
    try:
        sids = started_sessions(emulator.base_url, args.channels)
        ours = asyncio.run(run_load(emulator, sids, args.seconds, args.idle_seconds, echo=False))
    finally:
        emulator.stop()
    bare = Server.start([sys.executable, str(HERE / "bare_ws_echo.py")])
    try:
        base = asyncio.run(run_load(bare, sids, args.seconds, args.idle_seconds, echo=True))
    finally:
        bare.stop()
    ratio = ours["cpu_per_packet"] / base["cpu_per_packet"]
    print(f"{args.channels} channels streaming audio at the documented pace, {args.seconds:g} s, server on one core:")
    print(
        f"  emulator: {ours['core_share']:.2f} of a core (goal < {GOAL_CORE_SHARE:g}), {ours['packets']:.0f} packets,"
        f" {ours['cpu_per_packet'] * 1e6:.0f} µs CPU a packet, {ours['late_share']:.1%} sent late by the generator,"
        f" {ours['received']:.0f} statuses, {ours['errors']:.0f} error messages"
    )
    print(
        f"  bare Starlette WebSocket echo: {base['core_share']:.2f} of a core,"
        f" {base['cpu_per_packet'] * 1e6:.0f} µs CPU a packet, {base['late_share']:.1%} late"
    )
    print(f"  CPU a packet, emulator / bare echo: {ratio:.2f}")
    print(
        f"  {args.channels} channels open and idle: emulator {ours['idle_share']:.3f} of a core"
        f" (goal < {GOAL_IDLE_SHARE:g}), bare echo {base['idle_share']:.3f}"
    )
    missed = ours["core_share"] >= GOAL_CORE_SHARE or ours["idle_share"] >= GOAL_IDLE_SHARE or ours["errors"] > 0
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
