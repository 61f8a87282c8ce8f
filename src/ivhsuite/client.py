"""A signed httpx client for the IVH API, sync and async, sharing one request builder.

Every call is ``POST {base}{path}?appkey&timestamp&signature`` with ``{"Header": {},
"Payload": {...}}``; a non-zero ``Header.Code`` raises :class:`ApiError`. Sessions a
client creates are remembered and closed by :meth:`IvhClient.close_all`, which the
context manager calls on the way out, errors and Ctrl-C included: every real session
is a paid stream holding a concurrency slot.

>>> with IvhClient(Target(base_url="http://127.0.0.1:8000")) as ivh:  # doctest: +SKIP
...     session = ivh.create_session("user-1")
...     ivh.wait_until_ready(session["SessionId"])
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from ivhsuite.config import Target
from ivhsuite.errors import ApiError, ConfigError, RequestTimeout, TransportError
from ivhsuite.signing import SignatureAuth
from ivhsuite.spec import Spec, load_spec

log = logging.getLogger("ivhsuite")

DEFAULT_TIMEOUT = 15.0
READY_TIMEOUT = 150.0
POLL_INTERVAL = 2.0
STATUS_READY, STATUS_CLOSED, STATUS_PREPARING, STATUS_FAILED = 1, 2, 3, 4
# Closing a session that is already gone is not a failure of the cleanup.
GONE_CODES = frozenset({110013, 110018, 110022})


def new_reqid() -> str:
    """A 32-character hex UUID, as the docs ask for every request."""
    return uuid.uuid4().hex


def envelope(payload: dict[str, Any]) -> dict[str, Any]:
    return {"Header": {}, "Payload": payload}


def with_reqid(payload: dict[str, Any]) -> dict[str, Any]:
    return payload if "ReqId" in payload else {"ReqId": new_reqid(), **payload}


class _Base:
    """What both clients share: the target, the spec, payload builders and answer parsing."""

    def __init__(self, target: Target | None, spec: Spec | None) -> None:
        self.target = target or Target.from_env()
        if not self.target.base_url:
            raise ConfigError("no endpoint: pass a base URL or set IVH_BASE_URL")
        self.spec = spec or load_spec()
        self.created: dict[str, str] = {}  # SessionId -> UserId, open sessions this client made
        self._lock = threading.Lock()

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
    def text_payload(session_id: str, text: str, **data: Any) -> dict[str, Any]:
        return {"SessionId": session_id, "Command": "SEND_TEXT", "Data": {"Text": text, **data}}

    def parse(self, operation_id: str, response: httpx.Response) -> dict[str, Any]:
        """The Payload of a successful answer; ApiError for a non-zero Code."""
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(-1, f"HTTP {response.status_code}, body is not JSON", "", operation_id) from None
        header = body.get("Header") if isinstance(body, dict) else None
        if not isinstance(header, dict) or not isinstance(header.get("Code"), int):
            raise ApiError(-1, f"HTTP {response.status_code}, no Header.Code in the answer", "", operation_id)
        if header["Code"] != 0:
            raise ApiError(
                header["Code"], str(header.get("Message", "")), str(header.get("RequestID", "")), operation_id
            )
        payload = body.get("Payload")
        return payload if isinstance(payload, dict) else {}

    def remember(self, operation_id: str, payload: dict[str, Any], result: dict[str, Any]) -> None:
        """Track sessions created and forget closed ones, so cleanup knows what is open."""
        with self._lock:
            if operation_id == "createsession" and "SessionId" in result:
                self.created[result["SessionId"]] = payload.get("UserId", "")
            elif operation_id == "closesession":
                self.created.pop(payload.get("SessionId", ""), None)

    def forget(self, session_id: str) -> None:
        with self._lock:
            self.created.pop(session_id, None)

    def open_sessions(self) -> list[str]:
        with self._lock:
            return list(self.created)


def _translate(exc: httpx.HTTPError, url: str) -> TransportError:
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeout(f"no answer from {url} in time ({type(exc).__name__})")
    return TransportError(f"cannot reach {url}: {exc or type(exc).__name__}")


class IvhClient(_Base):
    """Synchronous client. Use as a context manager so its sessions are closed on exit."""

    def __init__(
        self,
        target: Target | None = None,
        *,
        spec: Spec | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(target, spec)
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

    def send(self, operation_id: str, payload: dict[str, Any], **kwargs: Any) -> httpx.Response:
        """POST the envelope as is (no ReqId added): the raw answer, for contract checks."""
        try:
            return self.http.post(self.path(operation_id), json=envelope(payload), **kwargs)
        except httpx.HTTPError as exc:
            raise _translate(exc, self.target.base_url or "") from None

    def call(self, operation_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        payload = with_reqid(payload)
        result = self.parse(operation_id, self.send(operation_id, payload))
        self.remember(operation_id, payload, result)
        return result

    def create_session(self, user_id: str, **fields: Any) -> dict[str, Any]:
        return self.call("createsession", self.create_payload(user_id, **fields))

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

    def wait_until_ready(
        self, session_id: str, timeout: float = READY_TIMEOUT, interval: float = POLL_INTERVAL
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
            try:
                self.close_session(session_id)
            except (ApiError, TransportError) as exc:
                _report_close_failure(session_id, exc)
            self.forget(session_id)
        return closed

    @contextmanager
    def tracked(self) -> Iterator[IvhClient]:
        """Close what is created inside the block, on any exit."""
        try:
            yield self
        finally:
            self.close_all()


class AsyncIvhClient(_Base):
    """Asynchronous twin of :class:`IvhClient`; only the I/O differs."""

    def __init__(
        self,
        target: Target | None = None,
        *,
        spec: Spec | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(target, spec)
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

    async def send(self, operation_id: str, payload: dict[str, Any], **kwargs: Any) -> httpx.Response:
        try:
            return await self.http.post(self.path(operation_id), json=envelope(payload), **kwargs)
        except httpx.HTTPError as exc:
            raise _translate(exc, self.target.base_url or "") from None

    async def call(self, operation_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        payload = with_reqid(payload)
        result = self.parse(operation_id, await self.send(operation_id, payload))
        self.remember(operation_id, payload, result)
        return result

    async def create_session(self, user_id: str, **fields: Any) -> dict[str, Any]:
        return await self.call("createsession", self.create_payload(user_id, **fields))

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

    async def wait_until_ready(
        self, session_id: str, timeout: float = READY_TIMEOUT, interval: float = POLL_INTERVAL
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
                _report_close_failure(session_id, exc)
            self.forget(session_id)
        return closed


def _readiness(session_id: str, status: dict[str, Any]) -> str:
    """'ready', 'waiting', or ApiError when the session closed or failed while we waited."""
    state = status.get("SessionStatus")
    if state == STATUS_READY:
        return "ready"
    if state in (STATUS_CLOSED, STATUS_FAILED):
        code = status.get("ErrorCode") or (110013 if state == STATUS_CLOSED else -111003)
        raise ApiError(
            int(code),
            f"session {session_id} ended with status {state} while waiting for it",
            "",
            "statsession",
        )
    return "waiting"


def _report_close_failure(session_id: str, exc: BaseException) -> None:
    """A session already gone is not a failed cleanup; anything else is worth a warning."""
    if not (isinstance(exc, ApiError) and exc.code in GONE_CODES):
        log.warning("could not close session %s: %s", session_id, exc)
