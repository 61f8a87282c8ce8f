"""Factories for in-process emulators: a fake clock, and an ``Api`` speaking the envelope."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from ivhsuite.config import DEFAULT_PROJECT_ID
from ivhsuite.emulator import EmulatorSettings, Store, create_app
from ivhsuite.spec import load_spec

PROJECT = DEFAULT_PROJECT_ID
SPEC = load_spec()


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def new_req_id() -> str:
    return uuid.uuid4().hex


class Api:
    """Calls operations by id, in process and synchronously (one private event loop).

    ``strict`` checks every answer against the spec's response schema.
    """

    def __init__(self, app: Starlette, strict: bool = True) -> None:
        self.app = app
        self.store: Store = app.state.store
        self.strict = strict
        self._loop = asyncio.new_event_loop()
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://emulator")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.request(method, url, **kwargs))

    def post(self, op_id: str, payload: dict[str, Any], **kwargs: Any) -> httpx.Response:
        body = {"Header": {}, "Payload": {"ReqId": new_req_id(), **payload}}
        return self.request("POST", SPEC.operation(op_id).path, json=body, **kwargs)

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()

    def call(self, op_id: str, **payload: Any) -> dict[str, Any]:
        answer = self.post(op_id, payload).json()
        if self.strict:
            assert SPEC.operation(op_id).response.first_violation(answer) is None, answer
        return answer

    def create(self, user: str = "user-1", **fields: Any) -> dict[str, Any]:
        payload = {"VirtualmanProjectId": PROJECT, "UserId": user, "Protocol": "rtmp", "DriverType": 1}
        return self.call("createsession", **{**payload, **fields})

    def session(self, user: str = "user-1", **fields: Any) -> str:
        """A new session's id (the create must succeed)."""
        answer = self.create(user, **fields)
        assert answer["Header"]["Code"] == 0, answer
        return answer["Payload"]["SessionId"]

    def started(self, user: str = "user-1") -> str:
        sid = self.session(user)
        assert code(self.call("startsession", SessionId=sid)) == 0
        return sid

    def send(self, sid: str, text: str = "hello") -> dict[str, Any]:
        return self.call("command", SessionId=sid, Command="SEND_TEXT", Data={"Text": text})

    def live(self) -> list[dict[str, Any]]:
        return self.call("listsessionofprojectid", VirtualmanProjectId=PROJECT)["Payload"]["Sessions"]


def code(answer: dict[str, Any]) -> int:
    return answer["Header"]["Code"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_api(clock: FakeClock) -> Iterator[Callable[..., Api]]:
    """``make_api(**settings)``: an emulator on the fake clock, ready at once unless told otherwise."""
    made: list[Api] = []

    def make(**overrides: Any) -> Api:
        settings = EmulatorSettings(**{"prepare_seconds": 0.0, **overrides})
        made.append(Api(create_app(settings, clock=clock), strict=not settings.faults))
        return made[-1]

    yield make
    for api in made:
        api.close()


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()
