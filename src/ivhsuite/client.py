"""A signed httpx client for the IVH API, sync and async, sharing one request builder.

Every call is ``POST {base}{path}?appkey&timestamp&signature`` with ``{"Header": {},
"Payload": {...}}``; a non-zero ``Header.Code`` raises :class:`ApiError`. Sessions a
client creates are remembered and closed by :meth:`IvhClient.close_all`, which the
context manager calls on the way out, errors and Ctrl-C included: every real session
is a paid stream holding a concurrency slot.

Network faults follow :mod:`ivhsuite.retry`: a reset, a timeout or a 502/503/504 is retried
where that is safe; what is left raises :class:`TransportError` (``GatewayError`` for a
502/503/504), never an answer to judge. A 5xx that repeats on every attempt is the
endpoint's own and comes back as the answer. A ``tally`` (:class:`ivhsuite.environmental.Tally`)
counts every request and fault.

>>> with IvhClient(Target(base_url="http://127.0.0.1:8000")) as ivh:  # doctest: +SKIP
...     session = ivh.create_session("user-1")
...     ivh.wait_until_ready(session["SessionId"])
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

import httpx

from ivhsuite.channel import AsyncChannel, Channel, channel_url
from ivhsuite.config import DEFAULT_POLL_INTERVAL, DEFAULT_READY_TIMEOUT, Target, env_name
from ivhsuite.environmental import Tally
from ivhsuite.errors import ApiError, ConfigError, GatewayError, RequestTimeout, TransportError
from ivhsuite.protocol import ENDED_STATUSES, Answer, Code, SessionStatus
from ivhsuite.retry import DEFAULT_POLICY, GATEWAY_STATUSES, SAFE_OPERATIONS, Attempts, Fault, RetryPolicy
from ivhsuite.run_sessions import RunSessions, close_failed, close_ignoring_gone
from ivhsuite.signing import SignatureAuth
from ivhsuite.spec import Spec, load_spec

log = logging.getLogger("ivhsuite")
# The code an ApiError carries when the answer had no envelope to read a Header.Code from.
NO_ENVELOPE = -1
# listsessionofuin "not allowed": not authorized, refused as a bad request, or an unknown path (no envelope).
ACCOUNT_LIST_REFUSALS = frozenset({Code.NOT_AUTHORIZED, Code.BAD_PARAMETER, NO_ENVELOPE})

DEFAULT_TIMEOUT = 15.0


def new_reqid() -> str:
    """A 32-character hex UUID, as the docs ask for every request."""
    return uuid.uuid4().hex


def envelope(payload: dict[str, Any]) -> dict[str, Any]:
    return {"Header": {}, "Payload": payload}


def with_reqid(payload: dict[str, Any]) -> dict[str, Any]:
    return payload if "ReqId" in payload else {"ReqId": new_reqid(), **payload}


class _Base:
    """What both clients share: the target, the spec, payload builders and answer parsing."""

    def __init__(
        self, target: Target | None, spec: Spec | None, policy: RetryPolicy = DEFAULT_POLICY, tally: Tally | None = None
    ) -> None:
        self.target = target or Target.from_env()
        if not self.target.base_url:
            raise ConfigError(f"no endpoint: pass a base URL or set {env_name('base_url')}")
        self.spec = spec or load_spec()
        self.sessions = RunSessions()  # the sessions this client created and has not closed
        self.policy = policy
        self.tally = tally
        self.account_list_refused = False

    def _begin(self, operation_id: str) -> Attempts:
        if self.tally is not None:
            self.tally.request(operation_id)
        return self.policy.start(operation_id)

    def _end(self, attempts: Attempts) -> None:
        if self.tally is not None:
            self.tally.record(attempts)

    def _gave_up(self, attempts: Attempts, response: httpx.Response) -> httpx.Response:
        """After the last 502/503/504: the endpoint's own answer when it repeated, else a GatewayError."""
        if attempts.repeated_5xx:
            return response
        fault = attempts.faults[-1]
        raise GatewayError(
            f"{_fault_text(fault)} from {self.target.base_url}{_which(attempts)}", fault.label
        )

    def _auth(self) -> httpx.Auth | None:
        t = self.target
        return SignatureAuth(t.appkey, t.access_token) if t.appkey and t.access_token else None

    def path(self, operation_id: str) -> str:
        return self.spec.operation(operation_id).path

    def create_payload(
        self, user_id: str, protocol: str = "rtmp", driver_type: int = 1, **fields: Any
    ) -> dict[str, Any]:
        return {
            "VirtualmanProjectId": self.target.project_id,
            "UserId": user_id,
            "Protocol": protocol,
            "DriverType": driver_type,
            **fields,
        }

    @staticmethod
    def asset_payload(
        user_id: str, asset_key: str, protocol: str = "rtmp", driver_type: int = 1, **fields: Any
    ) -> dict[str, Any]:
        return {
            "AssetVirtualmanKey": asset_key,
            "UserId": user_id,
            "Protocol": protocol,
            "DriverType": driver_type,
            **fields,
        }

    @staticmethod
    def text_payload(session_id: str, text: str, **data: Any) -> dict[str, Any]:
        return {"SessionId": session_id, "Command": "SEND_TEXT", "Data": {"Text": text, **data}}

    def parse(self, operation_id: str, response: httpx.Response) -> dict[str, Any]:
        """The Payload of a successful answer; ApiError for a non-zero Code."""
        answer = Answer.read(response.status_code, response.content)
        if answer.body is None:
            raise ApiError(NO_ENVELOPE, f"HTTP {response.status_code}, body is not JSON", "", operation_id)
        if answer.code is None:
            raise ApiError(NO_ENVELOPE, f"HTTP {response.status_code}, no Header.Code in the answer", "", operation_id)
        if answer.code != Code.OK:
            raise ApiError(answer.code, answer.message, answer.request_id, operation_id)
        return answer.payload

    def remember(self, operation_id: str, payload: dict[str, Any], result: dict[str, Any]) -> None:
        """Track sessions created and forget closed ones, so cleanup knows what is open."""
        if self.spec.operation(operation_id).session_ref == "creates" and "SessionId" in result:
            self.sessions.track(str(result["SessionId"]), str(payload.get("UserId", "")))
        elif operation_id == "closesession":
            self.sessions.forget(str(payload.get("SessionId", "")))

    def forget(self, session_id: str) -> None:
        self.sessions.forget(session_id)

    def account_listing_refused(self, exc: ApiError) -> bool:
        """Whether listsessionofuin is not allowed here (refused, or unknown to the endpoint): from
        then on :meth:`list_all_sessions` lists the project, which never shows by-asset sessions."""
        if exc.code not in ACCOUNT_LIST_REFUSALS:
            return False
        if not self.account_list_refused:
            log.warning("listsessionofuin refused (%s): listing the project only", exc)
        self.account_list_refused = True
        return True

    def open_sessions(self) -> list[str]:
        return self.sessions.open_ids()


class _SendTrace:
    """httpcore's trace hook: did writing the request fail? (httpcore then reads on, and fails there.)"""

    def __init__(self) -> None:
        self.send_failed = False

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event in ("http11.send_request_headers.failed", "http11.send_request_body.failed"):
            self.send_failed = True

    async def atrace(self, event: str, info: dict[str, Any]) -> None:
        self(event, info)


def _fault_of(exc: BaseException, trace: _SendTrace) -> Fault:
    """The fault an exception stands for. NOT_SENT only when the server cannot have read a whole request."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout) or trace.send_failed:
        return Fault.NOT_SENT
    if isinstance(exc, httpx.TimeoutException):
        return Fault.TIMEOUT
    return Fault.RESET


def _answer_fault(response: httpx.Response) -> Fault | None:
    if response.status_code not in GATEWAY_STATUSES:
        return None
    return Fault.gateway(response.status_code, page=Answer.read(response.status_code, response.content).code is None)


def _fault_text(fault: Fault) -> str:
    return {"not sent": "no connection", "reset": "connection reset or closed before an answer"}.get(
        fault.kind, fault.label
    )


def _which(attempts: Attempts) -> str:
    """`` (operation, N attempts)``, and for an operation not safe to repeat (a create, a command) that may have reached the server, what follows."""
    tries = f", {len(attempts.faults)} attempts" if len(attempts.faults) > 1 else ""
    text = f" ({attempts.operation}{tries})"
    if attempts.operation not in SAFE_OPERATIONS and attempts.faults[-1].kind != "not sent":
        text += "; the outcome is unknown (the run's sweep closes a session it may have created)"
    return text


def _translate(exc: BaseException, url: str, attempts: Attempts) -> TransportError:
    fault = attempts.faults[-1]
    if isinstance(exc, httpx.TimeoutException) and fault.kind == "timeout":
        return RequestTimeout(
            f"no answer from {url} in time: {type(exc).__name__}{_which(attempts)}",
            fault.label,
        )
    detail = f"{exc}" if str(exc) else type(exc).__name__
    return TransportError(f"cannot reach {url}: {detail}{_which(attempts)}", fault.label)


# What a failed exchange raises: httpx's errors, and ConnectionError from an in-process (ASGI) endpoint.
_NETWORK_ERRORS = (httpx.HTTPError, ConnectionError)


class IvhClient(_Base):
    """Synchronous client. Use as a context manager so its sessions are closed on exit."""

    def __init__(
        self,
        target: Target | None = None,
        *,
        spec: Spec | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        policy: RetryPolicy = DEFAULT_POLICY,
        tally: Tally | None = None,
    ) -> None:
        super().__init__(target, spec, policy, tally)
        self.http = httpx.Client(
            base_url=self.target.base_url or "", auth=self._auth(), transport=transport, timeout=timeout
        )

    def __enter__(self) -> IvhClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.close_all()
        finally:
            self.http.close()

    def channel(self, session_id: str, **options: Any) -> Channel:
        """The started session's WebSocket command channel, signed like every call.

        >>> with ivh.channel(session_id) as ch:  # doctest: +SKIP
        ...     ch.wait_for("TextOver", ch.send_text("Hello"))
        """
        t = self.target
        url = channel_url(t.base_url or "", session_id, t.appkey, t.access_token)
        return Channel(url, session_id, **options)

    def send(self, operation_id: str, payload: dict[str, Any], **kwargs: Any) -> httpx.Response:
        """POST the envelope as is (no ReqId added): the raw answer, for contract checks.

        Retried per :mod:`ivhsuite.retry`; :class:`TransportError` when no answer is left to judge.
        """
        attempts = self._begin(operation_id)
        try:
            while True:
                trace = _SendTrace()
                try:
                    response = self.http.post(
                        self.path(operation_id), json=envelope(payload), extensions={"trace": trace}, **kwargs
                    )
                except _NETWORK_ERRORS as exc:
                    delay = attempts.failed(_fault_of(exc, trace))
                    if delay is None:
                        raise _translate(exc, self.target.base_url or "", attempts) from None
                    time.sleep(delay)
                    continue
                fault = _answer_fault(response)
                if fault is None:
                    return response
                delay = attempts.failed(fault)
                if delay is None:
                    return self._gave_up(attempts, response)
                time.sleep(delay)
        finally:
            self._end(attempts)

    def call(self, operation_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        payload = with_reqid(payload)
        result = self.parse(operation_id, self.send(operation_id, payload))
        self.remember(operation_id, payload, result)
        return result

    def create_session(self, user_id: str, **fields: Any) -> dict[str, Any]:
        return self.call("createsession", self.create_payload(user_id, **fields))

    def create_session_by_asset(self, user_id: str, asset_key: str, **fields: Any) -> dict[str, Any]:
        """createsessionbyasset: a session from an avatar asset, tracked and closed like any other.

        >>> client.create_session_by_asset("user-1", "my-asset-key", protocol="trtc")  # doctest: +SKIP
        """
        return self.call("createsessionbyasset", self.asset_payload(user_id, asset_key, **fields))

    def stat_session(self, session_id: str) -> dict[str, Any]:
        return self.call("statsession", {"SessionId": session_id})

    def start_session(self, session_id: str) -> dict[str, Any]:
        return self.call("startsession", {"SessionId": session_id})

    def close_session(self, session_id: str) -> dict[str, Any]:
        return self.call("closesession", {"SessionId": session_id})

    def send_text(self, session_id: str, text: str, **data: Any) -> dict[str, Any]:
        return self.call("command", self.text_payload(session_id, text, **data))

    def list_sessions(self, project_id: str | None = None) -> list[dict[str, Any]]:
        payload = {"VirtualmanProjectId": project_id or self.target.project_id}
        return self.call("listsessionofprojectid", payload).get("Sessions", [])

    def list_account_sessions(self) -> list[dict[str, Any]]:
        """listsessionofuin: every live session of the account, by project and by asset."""
        return self.call("listsessionofuin", {}).get("Sessions", [])

    def list_asset_sessions(self, asset_key: str) -> list[dict[str, Any]]:
        return self.call("listsessionofassetvk", {"AssetVirtualmanKey": asset_key}).get("Sessions", [])

    def list_all_sessions(self) -> list[dict[str, Any]]:
        """The account's sessions (by asset too), or the project's where listsessionofuin is not allowed."""
        if not self.account_list_refused:
            try:
                return self.list_account_sessions()
            except ApiError as exc:
                if not self.account_listing_refused(exc):
                    raise
        return self.list_sessions()

    def wait_until_ready(
        self, session_id: str, timeout: float = DEFAULT_READY_TIMEOUT, interval: float = DEFAULT_POLL_INTERVAL
    ) -> dict[str, Any]:
        """Poll statsession until SessionStatus is 1; ApiError if it closes or fails, TimeoutError late."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.stat_session(session_id)
            state = _readiness(session_id, status)
            if state == "ready":
                return status
            if time.monotonic() + interval > deadline:
                raise TimeoutError(f"session {session_id} not ready within {timeout:g} s")
            time.sleep(interval)

    def close_all(self) -> list[str]:
        """Close every session this client created and has not closed; returns their ids."""
        closed = self.open_sessions()
        for session_id in closed:
            close_ignoring_gone(self.close_session, session_id)
            self.forget(session_id)
        return closed


class AsyncIvhClient(_Base):
    """Asynchronous twin of :class:`IvhClient`; only the I/O differs."""

    def __init__(
        self,
        target: Target | None = None,
        *,
        spec: Spec | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        policy: RetryPolicy = DEFAULT_POLICY,
        tally: Tally | None = None,
    ) -> None:
        super().__init__(target, spec, policy, tally)
        self.http = httpx.AsyncClient(
            base_url=self.target.base_url or "", auth=self._auth(), transport=transport, timeout=timeout
        )

    async def __aenter__(self) -> AsyncIvhClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self.close_all()
        finally:
            await self.http.aclose()

    def channel(self, session_id: str, **options: Any) -> AsyncChannel:
        """The started session's command channel for asyncio, signed and paced like :meth:`IvhClient.channel`.

        >>> async with aivh.channel(session_id) as ch:  # doctest: +SKIP
        ...     await ch.wait_for("TextOver", await ch.send_text("Hello"))
        """
        t = self.target
        return AsyncChannel(channel_url(t.base_url or "", session_id, t.appkey, t.access_token), session_id, **options)

    async def send(self, operation_id: str, payload: dict[str, Any], **kwargs: Any) -> httpx.Response:
        attempts = self._begin(operation_id)
        try:
            while True:
                trace = _SendTrace()
                try:
                    response = await self.http.post(
                        self.path(operation_id), json=envelope(payload), extensions={"trace": trace.atrace}, **kwargs
                    )
                except _NETWORK_ERRORS as exc:
                    delay = attempts.failed(_fault_of(exc, trace))
                    if delay is None:
                        raise _translate(exc, self.target.base_url or "", attempts) from None
                    await asyncio.sleep(delay)
                    continue
                fault = _answer_fault(response)
                if fault is None:
                    return response
                delay = attempts.failed(fault)
                if delay is None:
                    return self._gave_up(attempts, response)
                await asyncio.sleep(delay)
        finally:
            self._end(attempts)

    async def call(self, operation_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        payload = with_reqid(payload)
        result = self.parse(operation_id, await self.send(operation_id, payload))
        self.remember(operation_id, payload, result)
        return result

    async def create_session(self, user_id: str, **fields: Any) -> dict[str, Any]:
        return await self.call("createsession", self.create_payload(user_id, **fields))

    async def create_session_by_asset(self, user_id: str, asset_key: str, **fields: Any) -> dict[str, Any]:
        return await self.call("createsessionbyasset", self.asset_payload(user_id, asset_key, **fields))

    async def stat_session(self, session_id: str) -> dict[str, Any]:
        return await self.call("statsession", {"SessionId": session_id})

    async def start_session(self, session_id: str) -> dict[str, Any]:
        return await self.call("startsession", {"SessionId": session_id})

    async def close_session(self, session_id: str) -> dict[str, Any]:
        return await self.call("closesession", {"SessionId": session_id})

    async def send_text(self, session_id: str, text: str, **data: Any) -> dict[str, Any]:
        return await self.call("command", self.text_payload(session_id, text, **data))

    async def list_sessions(self, project_id: str | None = None) -> list[dict[str, Any]]:
        payload = {"VirtualmanProjectId": project_id or self.target.project_id}
        return (await self.call("listsessionofprojectid", payload)).get("Sessions", [])

    async def list_account_sessions(self) -> list[dict[str, Any]]:
        return (await self.call("listsessionofuin", {})).get("Sessions", [])

    async def list_asset_sessions(self, asset_key: str) -> list[dict[str, Any]]:
        return (await self.call("listsessionofassetvk", {"AssetVirtualmanKey": asset_key})).get("Sessions", [])

    async def list_all_sessions(self) -> list[dict[str, Any]]:
        if not self.account_list_refused:
            try:
                return await self.list_account_sessions()
            except ApiError as exc:
                if not self.account_listing_refused(exc):
                    raise
        return await self.list_sessions()

    async def wait_until_ready(
        self, session_id: str, timeout: float = DEFAULT_READY_TIMEOUT, interval: float = DEFAULT_POLL_INTERVAL
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = await self.stat_session(session_id)
            if _readiness(session_id, status) == "ready":
                return status
            if time.monotonic() + interval > deadline:
                raise TimeoutError(f"session {session_id} not ready within {timeout:g} s")
            await asyncio.sleep(interval)

    async def close_all(self) -> list[str]:
        closed = self.open_sessions()
        for session_id in closed:
            try:
                await self.close_session(session_id)
            except (ApiError, TransportError, asyncio.CancelledError) as exc:
                close_failed(session_id, exc)
            self.forget(session_id)
        return closed


def _readiness(session_id: str, status: dict[str, Any]) -> str:
    """'ready', 'waiting', or ApiError when the session closed or failed while we waited."""
    state = status.get("SessionStatus")
    if state == SessionStatus.READY:
        return "ready"
    if state in ENDED_STATUSES:
        closed = state == SessionStatus.CLOSED
        code = status.get("ErrorCode") or (Code.SESSION_CLOSED if closed else Code.MODEL_LOAD_ERROR)
        raise ApiError(
            int(code),
            f"session {session_id} ended with status {state} while waiting for it",
            "",
            "statsession",
        )
    return "waiting"
