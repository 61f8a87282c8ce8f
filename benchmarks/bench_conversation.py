"""Does one locust core keep 500 audio conversations at the documented pace? And at what cost?

    .venv/bin/python benchmarks/bench_conversation.py [--users 500] [--seconds 20]

The emulator runs in its own process on CPU 1 (``emulator_proc``, as a load run starts it);
this process, the load generator, on CPU 0. Two kinds take turns on the same emulator:

1. ``ConversationUser``'s steps (:func:`ivhsuite.load.scenarios.converse`, ``--driver audio``)
   as locust users in this process: create, ready, start, open the channel, then paced audio
   sequences (head start, then one packet every send interval, the empty final packet), each
   awaited to its AudioOver, every status timed as a locust stats entry;
2. a bare sender: the same client library (websocket-client under gevent), the same packets
   and pacing on the same number of started sessions, nothing measured or awaited.

Figures, all from this run, over a window after every user has its channel open:
- audio send lag p99 of the conversations (how late the worst packet of a sequence left,
  against its documented time): goal < one send interval (120 ms) with ``--users`` open;
- the generator's CPU per second of audio sent, conversation / bare: what the user's
  bookkeeping (statuses awaited and timed, locust events) costs over the bare pacing;
- how much of the window the generator waited for a CPU (``/proc/self/schedstat``): on a
  shared machine, lag with a core far from busy is other load, not the generator's cost.

Exit code 1 when the lag misses its goal.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # before anything opens a socket: what locust does when imported first

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from argparse import Namespace  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
import httpx  # noqa: E402
import websocket  # noqa: E402
from locust import task  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.event import Events  # noqa: E402

from ivhsuite.channel import channel_url  # noqa: E402
from ivhsuite.channel_spec import load_channel_spec  # noqa: E402
from ivhsuite.config import DEFAULT_PROJECT_ID  # noqa: E402
from ivhsuite.fastjson import dumps  # noqa: E402
from ivhsuite.ids import new_hex_id  # noqa: E402
from ivhsuite.load import emulator_proc, scenarios  # noqa: E402
from ivhsuite.load.conversation import TONE_SECONDS, tone_packets  # noqa: E402
from ivhsuite.load.thresholds import AUDIO_SEND_LAG, time_to  # noqa: E402
from ivhsuite.load.user import IvhUser  # noqa: E402
from ivhsuite.spec import load_spec  # noqa: E402

AUDIO = load_channel_spec().rules.audio
GOAL_LAG_MS = AUDIO.send_interval_seconds * 1000


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def waited() -> float:
    """Seconds this process was runnable but waiting for a CPU (Linux schedstat; 0 elsewhere): other load."""
    try:
        return int(open("/proc/self/schedstat").read().split()[1]) / 1e9  # noqa: SIM115
    except (OSError, IndexError, ValueError):
        return 0.0


def pin(pid: int, cpu_index: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(pid, {cpu_index})


class BenchConversation(IvhUser):
    @task
    def converse(self) -> None:
        scenarios.converse(self, scenarios.unique_user_id(self, "b"))


def conversations(base_url: str, users: int, seconds: float) -> dict[str, float]:
    """Locust users in this process; the window starts once every user has had its first AudioOver."""
    events = Events()
    options = Namespace(driver="audio", hold_seconds=3600.0, poll_interval=0.2, ivh_run_id="bec0ffee")
    env = Environment(user_classes=[BenchConversation], events=events, host=base_url, parsed_options=options)
    lags: list[float] = []
    done: dict[str, int] = {"sequences": 0, "failures": 0}
    measuring = {"on": False}

    def on_request(name: str, response_time: float, exception: Any = None, **_: Any) -> None:
        if exception is not None:
            done["failures"] += 1
        if measuring["on"] and name == AUDIO_SEND_LAG:
            lags.append(response_time)
        if measuring["on"] and name == time_to("AudioOver"):
            done["sequences"] += 1

    events.request.add_listener(on_request)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=max(1, users / 5))
    warm = time.monotonic() + users / max(1, users / 5) + 2 * TONE_SECONDS + 3
    while time.monotonic() < warm:
        gevent.sleep(0.5)
    measuring["on"], began, cpu0, wait0 = True, time.monotonic(), cpu(), waited()
    gevent.sleep(seconds)
    measuring["on"], wall, used = False, time.monotonic() - began, cpu() - cpu0
    wait = waited() - wait0
    runner.quit()
    audio_seconds = done["sequences"] * TONE_SECONDS
    lags.sort()
    return {
        "users": users,
        "cpu_share": used / wall,
        "cpu_wait_share": wait / wall,
        "audio_seconds": audio_seconds,
        "cpu_ms_per_audio_second": 1000 * used / audio_seconds if audio_seconds else float("inf"),
        "lag_p50_ms": statistics.median(lags) if lags else float("nan"),
        "lag_p99_ms": lags[min(len(lags) - 1, int(len(lags) * 0.99))] if lags else float("nan"),
        "sequences": done["sequences"],
        "failures": done["failures"],
    }


def started_sessions(base_url: str, n: int) -> list[str]:
    spec, ids = load_spec(), []
    with httpx.Client(base_url=base_url, timeout=30) as http:
        for i in range(n):
            payload = {"VirtualmanProjectId": DEFAULT_PROJECT_ID, "UserId": f"bare-{i}", "Protocol": "rtmp", "DriverType": 3}
            answer = http.post(spec.operation("createsession").path, json={"Payload": {"ReqId": new_hex_id(), **payload}})
            sid = answer.json()["Payload"]["SessionId"]
            http.post(spec.operation("startsession").path, json={"Payload": {"ReqId": new_hex_id(), "SessionId": sid}})
            ids.append(sid)
    return ids


def bare(base_url: str, users: int, seconds: float) -> dict[str, float]:
    """The same pacing with nothing but websocket-client: packets precomputed, statuses read and dropped."""
    sids = started_sessions(base_url, users)
    packets = (*tone_packets(AUDIO), "")
    count = {"audio_seconds": 0.0}
    measuring = {"on": False}

    def sender(sid: str) -> None:
        ws = websocket.create_connection(channel_url(base_url, sid), timeout=30, enable_multithread=False)
        try:
            while True:
                req_id, began = new_hex_id(), time.perf_counter()
                for seq, packet in enumerate(packets, start=1):
                    due = began + max(0, seq - AUDIO.head_start_packets) * AUDIO.send_interval_seconds
                    drain(ws, due)
                    data = {"Audio": packet, "Seq": seq, "IsFinal": seq == len(packets)}
                    body = {"Payload": {"ReqId": req_id, "SessionId": sid, "Command": "SEND_AUDIO", "Data": data}}
                    ws.send(dumps(body).decode())
                if measuring["on"]:
                    count["audio_seconds"] += TONE_SECONDS
        finally:
            ws.close()

    greenlets = [gevent.spawn(sender, sid) for sid in sids]
    gevent.sleep(2 * TONE_SECONDS + 3)
    measuring["on"], began, cpu0, wait0 = True, time.monotonic(), cpu(), waited()
    gevent.sleep(seconds)
    measuring["on"], wall, used = False, time.monotonic() - began, cpu() - cpu0
    wait = waited() - wait0
    gevent.killall(greenlets)
    audio_seconds = count["audio_seconds"]
    return {
        "cpu_share": used / wall,
        "cpu_wait_share": wait / wall,
        "audio_seconds": audio_seconds,
        "cpu_ms_per_audio_second": 1000 * used / audio_seconds if audio_seconds else float("inf"),
    }


def drain(ws: websocket.WebSocket, until: float) -> None:
    while (left := until - time.perf_counter()) > 0:
        ws.settimeout(left)
        try:
            ws.recv()
        except websocket.WebSocketTimeoutException:
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    emulator = emulator_proc.start(DEFAULT_PROJECT_ID, quota=args.users * 3, prepare_seconds=0.0)
    pin(emulator.process.pid, 1)
    pin(0, 0)
    try:
        kinds: dict[str, Callable[[str, int, float], dict[str, float]]] = {"conversation": conversations, "bare": bare}
        results = {name: run(emulator.base_url, args.users, args.seconds) for name, run in kinds.items()}
    finally:
        emulator.stop()
    conv, base = results["conversation"], results["bare"]
    ratio = conv["cpu_ms_per_audio_second"] / base["cpu_ms_per_audio_second"]
    ok = conv["lag_p99_ms"] < GOAL_LAG_MS
    print(f"{args.users} audio conversations on one generator core, {args.seconds:g} s window:")
    print(
        f"  audio send lag p50 {conv['lag_p50_ms']:.0f} ms, p99 {conv['lag_p99_ms']:.0f} ms "
        f"(goal < {GOAL_LAG_MS:.0f} ms): {'ok' if ok else 'MISSED'}"
    )
    print(f"  generator core busy: conversation {conv['cpu_share']:.2f}, bare {base['cpu_share']:.2f}")
    print(
        f"  waiting for a CPU (other load on the machine): conversation {conv['cpu_wait_share']:.2f}, "
        f"bare {base['cpu_wait_share']:.2f} of the window"
    )
    print(
        f"  CPU per audio-second: conversation {conv['cpu_ms_per_audio_second']:.1f} ms, "
        f"bare {base['cpu_ms_per_audio_second']:.1f} ms, ratio {ratio:.2f}"
    )
    print(f"  sequences {conv['sequences']}, failed entries {conv['failures']}")
    print("RESULT " + json.dumps({"conversation": conv, "bare": base, "ratio": ratio}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
