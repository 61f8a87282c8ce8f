"""What does ``ivhsuite proxy`` add to each command-channel frame? Round trips direct and through the proxy.

    .venv/bin/python benchmarks/bench_proxy_channel.py [--frames 200] [--rounds 3]

Three servers, like ``bench_proxy.py`` (pinned to 2 CPUs): an emulator (``ivhsuite emulate``),
a proxy forwarding to it over loopback (``ivhsuite proxy --upstream``: the topology of a real
endpoint) and a proxy with the embedded emulator (``ivhsuite proxy --emulator``). This process
is the application: per path one started DriverType 3 session and its channel, signed, then
``--frames`` round trips, one at a time: a documented command the endpoint answers at once
(an Interrupt while nothing plays, answered by an error message: one frame up, one frame
down, both judged by the proxy) every 25 ms, under the channel's flood limit. The paths take
turns in each round; the baseline is the direct path of the same round.

Printed: the median round trip per path, the ratio proxy / direct (1.00 = no overhead) and
the milliseconds the proxy adds per frame (half the added round trip: a round trip is two
frames relayed). The proxies' reports are read back: exit code 1 when they found anything.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench_proxy import CPUS, Server, findings_of, pin_to_cpus
from websockets.asyncio.client import connect

from ivhsuite.channel import channel_url
from ivhsuite.client import IvhClient
from ivhsuite.config import DEFAULT_PROJECT_ID, Target

APPKEY, TOKEN = "bench-appkey", "bench-access-token"
SPACING = 0.025  # 40 frames a second: under the channel's flood limit


def client(url: str) -> IvhClient:
    return IvhClient(Target(base_url=url, project_id=DEFAULT_PROJECT_ID, appkey=APPKEY, access_token=TOKEN))


async def round_trips(url: str, sid: str, frames: int) -> list[float]:
    """Seconds for each frame sent until the endpoint's answer to it arrived."""
    times = []
    async with connect(channel_url(url, sid, APPKEY, TOKEN), max_size=None, ping_interval=None) as ws:
        for _ in range(frames):
            payload = {"ReqId": uuid.uuid4().hex, "SessionId": sid, "Command": "SEND_TEXT",
                       "Data": {"Text": "", "Interrupt": True}}  # fmt: skip
            frame = json.dumps({"Header": {}, "Payload": payload})
            began = time.perf_counter()
            await ws.send(frame)
            answer = json.loads(await ws.recv())
            times.append(time.perf_counter() - began)
            if answer["Payload"].get("ReqId") != payload["ReqId"]:
                raise SystemExit(f"unexpected answer: {answer}")
            await asyncio.sleep(SPACING)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="round trips per path and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"bench_proxy_channel: {pin_to_cpus(CPUS)}; {args.frames} round trips per path and round")
    with tempfile.TemporaryDirectory(prefix="bench-proxy-channel-") as tmp:
        emulator = Server("emulate", "--port", "0", "--prepare-seconds", "0")
        forwarding = Server("proxy", "--upstream", emulator.url, "--port", "0", "--report-dir", f"{tmp}/upstream")
        embedded = Server("proxy", "--emulator", "--port", "0", "--prepare-seconds", "0",
                          "--report-dir", f"{tmp}/embedded")  # fmt: skip
        paths = {"direct": emulator.url, "proxy --upstream": forwarding.url, "proxy --emulator": embedded.url}
        clients = {name: client(url) for name, url in paths.items()}
        medians: dict[str, list[float]] = {name: [] for name in paths}
        try:
            sessions = {}
            for n, (name, ivh) in enumerate(clients.items()):
                sessions[name] = ivh.create_session(f"bench-{n}", driver_type=3)["SessionId"]
                ivh.start_session(sessions[name])
            for name, url in paths.items():
                asyncio.run(round_trips(url, sessions[name], 20))  # warm up
            for n in range(args.rounds):
                line = []
                for name, url in paths.items():
                    median = statistics.median(asyncio.run(round_trips(url, sessions[name], args.frames)))
                    medians[name].append(median)
                    line.append(f"{name} {median * 1000:.2f} ms")
                print(f"round {n + 1}: median round trip: " + " | ".join(line))
            direct = statistics.median(medians["direct"])
            for name in paths:
                if name == "direct":
                    continue
                proxied = statistics.median(medians[name])
                ratios = [p / d for p, d in zip(medians[name], medians["direct"], strict=True)]
                print(f"{name}: round trip {proxied * 1000:.2f} ms vs direct {direct * 1000:.2f} ms,"
                      f" ratio {statistics.median(ratios):.2f}, adds {(proxied - direct) * 1000 / 2:.2f} ms a frame")  # fmt: skip
        finally:
            for ivh in clients.values():
                ivh.__exit__(None, None, None)  # closes the sessions it created
            codes = {name: server.stop() for name, server in (("upstream", forwarding), ("embedded", embedded))}
            emulator.stop()
        found = findings_of(Path(tmp), codes)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
