"""The client against the emulator: signed calls, readiness polling, and closing what it made."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from ivhsuite.client import AsyncIvhClient, IvhClient
from ivhsuite.config import Target
from ivhsuite.emulator import EmulatorSettings, RunningEmulator, create_app, serve_in_thread
from ivhsuite.errors import ApiError

PROJECT = "client-test-project"
SIGNED = {"appkey": "ak-client", "access_token": "tok-client"}


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    settings = EmulatorSettings(project_ids=(PROJECT,), prepare_seconds=0.2, quota=3, **SIGNED)
    with serve_in_thread(settings) as running:
        yield running


def client_for(running: RunningEmulator, **overrides: str) -> IvhClient:
    credentials = {**SIGNED, **overrides}
    return IvhClient(Target(base_url=running.base_url, project_id=PROJECT, **credentials))


def live_ids(running: RunningEmulator) -> set[str]:
    return {info.session_id for info in running.app.state.store.sessions(PROJECT)}


def test_full_lifecycle_through_signed_calls(emulator: RunningEmulator) -> None:
    with client_for(emulator) as ivh:
        created = ivh.create_session("lifecycle-user")
        assert created["SessionStatus"] in (1, 3)
        status = ivh.wait_until_ready(created["SessionId"], timeout=10, interval=0.05)
        assert status["SessionStatus"] == 1
        ivh.start_session(created["SessionId"])
        ivh.send_text(created["SessionId"], "hello")
        assert [s["SessionId"] for s in ivh.list_sessions()] == [created["SessionId"]]
        ivh.close_session(created["SessionId"])
        assert ivh.stat_session(created["SessionId"])["SessionStatus"] == 2
        assert ivh.open_sessions() == []


def test_context_manager_closes_sessions_on_error(emulator: RunningEmulator) -> None:
    with pytest.raises(RuntimeError), client_for(emulator) as ivh:
        first = ivh.create_session("leak-a")["SessionId"]
        second = ivh.create_session("leak-b")["SessionId"]
        assert {first, second} <= live_ids(emulator)
        raise RuntimeError("the test failed half way")
    assert not {first, second} & live_ids(emulator)


def test_close_all_tolerates_sessions_already_gone(emulator: RunningEmulator) -> None:
    with client_for(emulator) as ivh:
        first = ivh.create_session("same-user")["SessionId"]
        second = ivh.create_session("same-user")["SessionId"]  # preempts the first
        assert ivh.close_all() == [first, second]
    assert not {first, second} & live_ids(emulator)


def test_wrong_credentials_are_an_api_error_100005(emulator: RunningEmulator) -> None:
    with client_for(emulator, access_token="wrong") as ivh, pytest.raises(ApiError) as caught:
        ivh.list_sessions()
    assert caught.value.code == 100005


def test_async_client_in_process() -> None:
    app = create_app(EmulatorSettings(project_ids=(PROJECT,), prepare_seconds=0))

    async def scenario() -> set[str]:
        target = Target(base_url="http://emulator", project_id=PROJECT)
        async with AsyncIvhClient(target, transport=httpx.ASGITransport(app=app)) as ivh:
            sessions = await asyncio.gather(*(ivh.create_session(f"async-{i}") for i in range(3)))
            ready = await ivh.wait_until_ready(sessions[0]["SessionId"], timeout=2, interval=0.01)
            assert ready["SessionStatus"] == 1
            with pytest.raises(ApiError) as caught:
                await ivh.start_session("no-such-session")
            assert caught.value.code == 110018
            return {s["SessionId"] for s in sessions}

    created = asyncio.run(scenario())
    assert len(created) == 3
    assert app.state.store.sessions(PROJECT) == []


def test_sessions_created_by_asset_are_signed_tracked_and_closed(emulator: RunningEmulator) -> None:
    store = emulator.app.state.store
    with client_for(emulator) as ivh:
        created = ivh.create_session_by_asset("asset-user", "my-asset", protocol="trtc", driver_type=3)
        sid = created["SessionId"]
        ivh.wait_until_ready(sid, timeout=10, interval=0.05)
        ivh.start_session(sid)
        assert ivh.open_sessions() == [sid]
        assert [s["SessionId"] for s in ivh.list_asset_sessions("my-asset")] == [sid]
        assert [s["CreateType"] for s in ivh.list_account_sessions() if s["SessionId"] == sid] == [1]
    assert store.stat(sid).status == 2  # closed on the way out, like any session it created


def _refusing_account_list(app: object) -> object:
    """The emulator, except that listsessionofuin answers 100005 (an account that may not list itself)."""
    path = "/v2/ivh/sessionmanager/sessionmanagerservice/listsessionofuin"

    async def asgi(scope: dict, receive: object, send: object) -> None:
        if scope["type"] == "http" and scope["path"] == path:
            body = b'{"Header": {"Code": 100005, "Message": "not authorized", "RequestID": "r"}, "Payload": {}}'
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)  # type: ignore[operator]

    return asgi


def test_list_all_sessions_falls_back_to_the_project_where_the_account_list_is_refused() -> None:
    app = create_app(EmulatorSettings(project_ids=(PROJECT,), prepare_seconds=0))
    transport = httpx.ASGITransport(app=_refusing_account_list(app))  # type: ignore[arg-type]

    async def scenario() -> list[str]:
        async with AsyncIvhClient(Target(base_url="http://emulator", project_id=PROJECT), transport=transport) as ivh:
            project = (await ivh.create_session("u-project"))["SessionId"]
            await ivh.create_session_by_asset("u-asset", "a1")
            listed = [s["SessionId"] for s in await ivh.list_all_sessions()]
            assert ivh.account_list_refused and listed == [project]
            return listed

    assert len(asyncio.run(scenario())) == 1
