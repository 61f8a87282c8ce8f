"""The client under a flaky network (httpx.MockTransport): safe retries, no second create, faults counted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from ivhsuite.client import AsyncIvhClient, IvhClient
from ivhsuite.config import Target
from ivhsuite.environmental import Tally
from ivhsuite.errors import GatewayError, TransportError
from ivhsuite.retry import RetryPolicy

FAST = RetryPolicy(first_delay=0.0)
TARGET = Target(base_url="http://127.0.0.1:9", project_id="p1")
PAGE = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"

Step = Callable[[httpx.Request], httpx.Response]


def ok(request: httpx.Request) -> httpx.Response:
    req_id = json.loads(request.content)["Payload"].get("ReqId")
    payload = {"ReqId": req_id, "SessionId": "s1", "SessionStatus": 1, "Sessions": []}
    return httpx.Response(200, json={"Header": {"Code": 0, "Message": "", "RequestID": "r"}, "Payload": payload})


def page(status: int) -> Step:
    return lambda request: httpx.Response(status, content=PAGE, headers={"content-type": "text/html"})


def envelope(status: int) -> Step:
    return lambda request: httpx.Response(status, json={"Header": {"Code": -101000, "Message": "internal"}})


def raising(exc: type[Exception]) -> Step:
    def step(request: httpx.Request) -> httpx.Response:
        raise exc("simulated", request=request)  # type: ignore[call-arg]

    return step


class Script:
    """A MockTransport handler answering with the given steps, in order; counts the requests."""

    def __init__(self, *steps: Step) -> None:
        self.steps: Iterator[Step] = iter(steps)
        self.sent = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return next(self.steps)(request)


def client(script: Script, tally: Tally | None = None) -> IvhClient:
    return IvhClient(TARGET, transport=httpx.MockTransport(script), policy=FAST, tally=tally)


@pytest.mark.parametrize(
    "fault",
    [page(502), page(503), envelope(504), raising(httpx.ReadError), raising(httpx.RemoteProtocolError), raising(httpx.ReadTimeout)],
    ids=["502-page", "503-page", "504-envelope", "read-error", "server-disconnected", "read-timeout"],
)
def test_a_safe_operation_is_retried_until_it_gets_an_answer(fault: Step) -> None:
    script, tally = Script(fault, fault, ok), Tally()
    with client(script, tally) as ivh:
        assert ivh.stat_session("s1")["SessionStatus"] == 1
    assert script.sent == 3
    row = tally.summary().rows[0]
    assert (row.operation, row.requests, row.retries, row.unanswered) == ("statsession", 1, 2, 0)
    assert sum(row.faults.values()) == 2


@pytest.mark.parametrize("operation", ["createsession", "createsessionbyasset", "command"])
@pytest.mark.parametrize(
    "fault", [page(502), raising(httpx.ReadError), raising(httpx.ReadTimeout)], ids=["502-page", "reset", "timeout"]
)
def test_create_and_command_are_never_sent_twice_after_an_ambiguous_fault(operation: str, fault: Step) -> None:
    script, tally = Script(fault, ok), Tally()
    with client(script, tally) as ivh, pytest.raises(TransportError) as raised:
        if operation == "createsession":
            ivh.create_session("u1")
        elif operation == "createsessionbyasset":
            ivh.create_session_by_asset("u1", "asset-1")
        else:
            ivh.send_text("s1", "hello")
    assert script.sent == 1
    assert "outcome is unknown" in str(raised.value) and raised.value.fault
    assert tally.summary().rows[0].unanswered == 1


def test_a_create_that_never_left_is_sent_again() -> None:
    script = Script(raising(httpx.ConnectError), ok, ok)
    with client(script) as ivh:
        assert ivh.create_session("u1")["SessionId"] == "s1"
        assert ivh.open_sessions() == ["s1"]
    assert script.sent == 3  # the create twice, then close_all's closesession


def test_a_gateway_page_left_after_the_retries_is_a_gateway_error_not_an_answer() -> None:
    script = Script(page(502), envelope(500))
    with client(script) as ivh, pytest.raises(GatewayError) as raised:
        ivh.send("createsession", {"UserId": "u1"})
    assert raised.value.fault == "HTTP 502 page" and script.sent == 1


def test_a_500_is_the_endpoints_answer_and_never_retried() -> None:
    script = Script(envelope(500), ok)
    with client(script) as ivh:
        assert ivh.send("statsession", {"SessionId": "s1"}).status_code == 500
    assert script.sent == 1


def test_a_5xx_on_every_attempt_comes_back_as_the_endpoints_answer() -> None:
    script, tally = Script(page(502), page(502), page(502)), Tally()
    with client(script, tally) as ivh:
        assert ivh.send("statsession", {"SessionId": "s1"}).status_code == 502
    assert script.sent == 3 and tally.summary().faults == 0


def test_the_async_client_follows_the_same_policy() -> None:
    async def scenario() -> tuple[int, int]:
        script = Script(page(503), ok, raising(httpx.ReadError))
        async with AsyncIvhClient(TARGET, transport=httpx.MockTransport(script), policy=FAST) as ivh:
            await ivh.stat_session("s1")
            with pytest.raises(TransportError):
                await ivh.create_session("u1")
        return script.sent, len(ivh.open_sessions())

    assert asyncio.run(scenario()) == (3, 0)
