"""Preemption and quota stay atomic when creates race: one live session per UserId, never over quota."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections import Counter
from typing import Any

import httpx
import pytest

from ivhsuite.emulator import EmulatorSettings, Store, StoreError, create_app

from .conftest import PROJECT, SPEC, Api, new_req_id

QUOTA, USERS, CREATES = 5, 10, 240
LOOPS = 4  # threads, each with its own event loop, sharing one app
SWITCH_INTERVAL = 1e-6


def invariant_breaks(store: Store, quota: int = QUOTA) -> list[str]:
    """What is wrong with the project's live sessions right now (empty when all is well)."""
    live = store.sessions(PROJECT)
    shared = [user for user, n in Counter(s.user_id for s in live).items() if n > 1]
    problems = [f"UserId {user} has two live sessions" for user in shared]
    if len(live) > quota:
        problems.append(f"{len(live)} live sessions over a quota of {quota}")
    return problems


def _race(settings: EmulatorSettings) -> tuple[list[int], list[str], list[dict[str, Any]]]:
    """Fire CREATES concurrent creates (and some closes), checking the store after each answer.

    One app, served to LOOPS threads, each with its own event loop: within one loop the
    store's calls never interleave (they never await), so only threads can race inside it,
    as they do when an emulator thread serves while a test lists its sessions.
    """
    app = create_app(settings)
    store: Store = app.state.store
    problems: list[str] = []
    codes: list[int] = []
    start = threading.Barrier(LOOPS)

    async def create(client: httpx.AsyncClient, i: int) -> int:
        payload = {
            "ReqId": new_req_id(),
            "VirtualmanProjectId": PROJECT,
            "UserId": f"user-{i % USERS}",
            "Protocol": "webrtc",
            "DriverType": 1,
        }
        answer = (await client.post(SPEC.operation("createsession").path, json={"Payload": payload})).json()
        problems.extend(invariant_breaks(store, settings.quota))
        if answer["Header"]["Code"] == 0 and i % 7 == 0:  # some closes race with the creates
            sid = answer["Payload"]["SessionId"]
            await client.post(
                SPEC.operation("closesession").path, json={"Payload": {"ReqId": new_req_id(), "SessionId": sid}}
            )
            problems.extend(invariant_breaks(store, settings.quota))
        return answer["Header"]["Code"]

    async def one_loop(first: int) -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://emulator") as client:
            start.wait()
            return list(await asyncio.gather(*(create(client, i) for i in range(first, CREATES, LOOPS))))

    def worker(first: int) -> None:
        try:
            codes.extend(asyncio.run(one_loop(first)))
        except Exception as exc:  # a crash in a thread must fail the test, not vanish
            problems.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(LOOPS)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)  # switch threads often, so a missing lock shows
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    api = Api(app)
    try:
        listed = api.call("listsessionofprojectid", VirtualmanProjectId=PROJECT)
    finally:
        api.close()
    return codes, problems, listed["Payload"]["Sessions"]


def test_concurrent_creates_keep_preemption_and_quota() -> None:
    codes, problems, sessions = _race(EmulatorSettings(quota=QUOTA))
    assert problems == []
    assert len(codes) == CREATES
    assert set(codes) <= {0, 100008} and codes.count(0) >= QUOTA
    assert len(sessions) <= QUOTA
    assert len({s["UserId"] for s in sessions}) == len(sessions)


# Without preemption a full project refuses the repeat create, so give it room to show.
@pytest.mark.parametrize(("fault", "quota"), [("no-preemption", 4 * USERS), ("no-quota", QUOTA)])
def test_the_race_check_catches_a_broken_store(fault: str, quota: int) -> None:
    _, problems, _ = _race(EmulatorSettings(quota=quota, faults=frozenset({fault})))
    assert problems


def test_threads_racing_on_the_store() -> None:
    store = Store(EmulatorSettings(quota=QUOTA, prepare_seconds=0))
    problems: list[str] = []
    barrier = threading.Barrier(8)

    def worker(n: int) -> None:
        barrier.wait()
        for i in range(50):
            try:
                info = store.create(PROJECT, f"user-{(n + i) % USERS}", 1)
                if i % 5 == 0:
                    store.close(info.session_id)
                problems.extend(invariant_breaks(store))
            except StoreError as exc:
                if exc.code != 100008:
                    problems.append(str(exc))
            except Exception as exc:  # a crash in a thread must fail the test, not vanish
                problems.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert len(store.sessions(PROJECT)) <= QUOTA
