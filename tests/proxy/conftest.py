"""Factories for the proxy's tests: the proxy in front of an in-process emulator, on one fake clock."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import httpx
import pytest

from ivhsuite.client import AsyncIvhClient
from ivhsuite.config import Target
from ivhsuite.emulator import EmulatorSettings, create_app
from ivhsuite.proxy import Findings, Policy, ProxyApp
from ivhsuite.spec import load_spec

PROJECT = "proxy-test-project"
SPEC = load_spec()
PEER = ("127.0.0.1", 50123)


@pytest.fixture(autouse=True)
def _no_ivh_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's IVH_* settings must not point these tests at a real endpoint."""
    for name in [k for k in os.environ if k.startswith("IVH_")]:
        monkeypatch.delenv(name)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Rig:
    """An application's view: calls go to the proxy, which forwards to the emulator in process."""

    def __init__(
        self,
        *faults: str,
        policy: Policy | None = None,
        signature_required: bool = False,
        prepare_seconds: float = 0.0,
        upstream: httpx.AsyncBaseTransport | None = None,
        credentials: dict[str, str] | None = None,
    ) -> None:
        self.clock = FakeClock()
        settings = EmulatorSettings(
            project_ids=(PROJECT,), prepare_seconds=prepare_seconds, quota=5, faults=frozenset(faults)
        )
        self.emulator = create_app(settings, clock=self.clock)
        self.findings = Findings()
        self.proxy = ProxyApp(
            "http://emulator",
            self.findings,
            policy=policy or Policy(),
            signature_required=signature_required,
            transport=upstream or httpx.ASGITransport(app=self.emulator),
            clock=self.clock,
        )
        self._loop = asyncio.new_event_loop()
        to_proxy = httpx.ASGITransport(app=self.proxy, client=PEER)
        self.http = httpx.AsyncClient(transport=to_proxy, base_url="http://proxy")
        target = Target(base_url="http://proxy", project_id=PROJECT, **(credentials or {}))
        self.client = AsyncIvhClient(target, transport=httpx.ASGITransport(app=self.proxy, client=PEER))

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return self._loop.run_until_complete(coroutine)

    def post(self, op: str, query: str = "", **payload: Any) -> httpx.Response:
        body = {"Header": {}, "Payload": {"ReqId": uuid.uuid4().hex, **payload}}
        url = SPEC.operation(op).path + (f"?{query}" if query else "")
        return self.run(self.http.post(url, json=body))

    def create(self, user: str = "user-1", **fields: Any) -> httpx.Response:
        payload = {"VirtualmanProjectId": PROJECT, "UserId": user, "Protocol": "rtmp", "DriverType": 1}
        return self.post("createsession", **{**payload, **fields})

    def session(self, user: str = "user-1", **fields: Any) -> str:
        answer = self.create(user, **fields).json()
        assert answer["Header"]["Code"] == 0, answer
        return answer["Payload"]["SessionId"]

    def rules(self, side: str | None = None) -> list[str]:
        found = [f for fs in self.findings.by_rule().values() for f in fs]
        return sorted({f.rule for f in found if side is None or f.side == side})

    def close(self) -> None:
        self.run(self.http.aclose())
        self.run(self.client.http.aclose())
        self.run(self.proxy.aclose())
        self._loop.close()


@pytest.fixture
def make_rig() -> Iterator[Callable[..., Rig]]:
    made: list[Rig] = []

    def make(*faults: str, **kwargs: Any) -> Rig:
        made.append(Rig(*faults, **kwargs))
        return made[-1]

    yield make
    for rig in made:
        rig.close()


@pytest.fixture
def rig(make_rig: Callable[..., Rig]) -> Rig:
    return make_rig()
