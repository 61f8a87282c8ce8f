"""The emulator's HTTP surface: a Starlette app whose routes come from the spec.

Each request goes: signature (when credentials are set) → body read and parsed →
validated against the spec → one handler per operation → the store.

Answers, where the vendor docs are silent:
- every answer is ``{"Header": {"Code", "Message", "RequestID"}, "Payload": {...}}`` with
  ``Content-Type: application/json`` and a fresh uuid4 ``RequestID``;
- a business error is HTTP 200 with a non-zero Code; its Payload is ``{"ReqId": ...}``
  when the request carried a string ReqId, else ``{}``;
- a body the endpoint cannot read (not JSON, not an object, too large) and an unknown
  path or method get a 4xx (400, 413, 404, 405) with the same envelope and Code 100001;
- a spec violation is Code 100001 with a Message naming the field
  (``Invalid Payload.Protocol: 'RTMP' is not one of [...]``); the Header is not checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ivhsuite import fastjson
from ivhsuite.emulator.auth import SignatureMiddleware
from ivhsuite.emulator.faults import FaultMiddleware, request_check
from ivhsuite.emulator.settings import EmulatorSettings
from ivhsuite.emulator.store import BAD_PARAMETER, SessionInfo, Store, StoreError
from ivhsuite.ids import new_request_id
from ivhsuite.spec import Operation, Spec, load_spec

NOT_AUTHORIZED = 100005
INTERNAL_ERROR = -101000
Handler = Callable[[Store, dict[str, Any]], dict[str, Any]]


class _BadInput(Exception):
    """A request refused before any handler sees it, with its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _AsciiJSON(JSONResponse):
    """JSON escaped to ASCII: a lone surrogate echoed from a request (legal in JSON text,
    not encodable as UTF-8) must not turn an answer into a crash."""

    def render(self, content: Any) -> bytes:
        return _ASCII_ENCODER.encode(content).encode("ascii")


# What json.dumps(content, allow_nan=False, separators=(",", ":")) uses, built once, not per answer.
_ASCII_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


def envelope(code: int, message: str, payload: dict[str, Any], status: int = 200) -> JSONResponse:
    header = {"Code": code, "Message": message, "RequestID": new_request_id()}
    return _AsciiJSON({"Header": header, "Payload": payload}, status_code=status)


# --- one handler per operation: payload in, success payload out ---------------------


def _summary(info: SessionInfo) -> dict[str, Any]:
    item: dict[str, Any] = {"UserId": info.user_id, "SessionId": info.session_id}
    item["SessionStatus"] = info.status
    if info.play_stream_addr is not None:
        item["PlayStreamAddr"] = info.play_stream_addr
    item.update(DriverType=info.driver_type, IsSessionStarted=info.started)
    return item


def createsession(store: Store, p: dict[str, Any]) -> dict[str, Any]:
    option = p.get("ProtocolOption") or {}
    info = store.create(
        p["VirtualmanProjectId"],
        p["UserId"],
        p["DriverType"],
        session_id=p.get("SessionId"),
        custom_push=bool(option.get("CssCustomPushUrl")),
    )
    answer: dict[str, Any] = {"SessionId": info.session_id, "SessionStatus": info.status}
    if info.play_stream_addr is not None:
        answer["PlayStreamAddr"] = info.play_stream_addr
    return answer


def statsession(store: Store, p: dict[str, Any]) -> dict[str, Any]:
    info = store.stat(p["SessionId"])
    answer: dict[str, Any] = {"SessionStatus": info.status}
    if info.play_stream_addr is not None:
        answer["PlayStreamAddr"] = info.play_stream_addr
    answer.update(SpeakStatus=info.speak_status, IsSessionStarted=info.started)
    if info.error_code is not None:
        answer.update(ErrorCode=info.error_code, ErrorMessage=info.error_message or "")
    return answer


def startsession(store: Store, p: dict[str, Any]) -> dict[str, Any]:
    store.start(p["SessionId"])
    return {}


def closesession(store: Store, p: dict[str, Any]) -> dict[str, Any]:
    store.close(p["SessionId"])
    return {}


def listsessionofprojectid(store: Store, p: dict[str, Any]) -> dict[str, Any]:
    return {"Sessions": [_summary(info) for info in store.sessions(p["VirtualmanProjectId"])]}


def command(store: Store, p: dict[str, Any]) -> dict[str, Any]:
    store.command(p["SessionId"])
    return {}


HANDLERS: dict[str, Handler] = {
    "createsession": createsession,
    "statsession": statsession,
    "startsession": startsession,
    "closesession": closesession,
    "listsessionofprojectid": listsessionofprojectid,
    "command": command,
}


# --- plumbing -----------------------------------------------------------------------


async def _read_json(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _BadInput(413, f"body larger than {limit} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise _BadInput(413, f"body larger than {limit} bytes")
    try:
        body = fastjson.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _BadInput(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _BadInput(400, 'body must be a JSON object {"Header": {...}, "Payload": {...}}')
    return body


def _req_id(body: Any) -> dict[str, Any]:
    payload = body.get("Payload") if isinstance(body, dict) else None
    req_id = payload.get("ReqId") if isinstance(payload, dict) else None
    return {"ReqId": req_id} if isinstance(req_id, str) else {}


def _endpoint(op: Operation, spec: Spec, settings: EmulatorSettings) -> Callable[[Request], Any]:
    handler = HANDLERS[op.operation_id]
    check = request_check(op, spec, settings.faults)
    # Only the no-validation fault lets malformed payloads reach a handler.
    malformed: tuple[type[Exception], ...] = (
        (KeyError, TypeError, AttributeError) if "no-validation" in settings.faults else ()
    )

    async def endpoint(request: Request) -> Response:
        try:
            body = await _read_json(request, settings.max_body_bytes)
        except _BadInput as exc:
            return envelope(BAD_PARAMETER, exc.message, {}, exc.status)
        echo = _req_id(body)
        violation = check(body)
        if violation is not None:
            return envelope(BAD_PARAMETER, f"Invalid {violation.field}: {violation.message}", echo)
        try:
            answer = handler(request.app.state.store, body["Payload"])
        except StoreError as exc:
            return envelope(exc.code, exc.message, echo)
        except malformed as exc:
            return envelope(BAD_PARAMETER, f"malformed payload: {exc!r}", echo)
        return envelope(0, "success", {**echo, **answer})

    endpoint.__name__ = op.operation_id
    return endpoint


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 400)
    what = {
        404: f"no such operation: {request.url.path}",
        405: f"method {request.method} not allowed: use POST",
    }
    response = envelope(BAD_PARAMETER, what.get(status, str(exc)), {}, status)
    response.headers.update(getattr(exc, "headers", None) or {})
    return response


async def _internal_error(request: Request, exc: Exception) -> Response:
    """A bug in the emulator: a JSON answer, never a traceback (the exception is re-raised)."""
    return envelope(INTERNAL_ERROR, "internal error", {}, 500)


def create_app(settings: EmulatorSettings | None = None, *, clock: Callable[[], float] | None = None) -> Starlette:
    """The emulator as an ASGI app; its sessions are at ``app.state.store``.

    >>> app = create_app(EmulatorSettings(prepare_seconds=0))
    >>> app.state.store.settings.quota
    10
    """
    settings = settings or EmulatorSettings()
    spec = load_spec()
    routes = [Route(op.path, _endpoint(op, spec, settings), methods=["POST"]) for op in spec]
    middleware = [Middleware(FaultMiddleware, faults=settings.faults, spec=spec)]
    if settings.signed and "auth-not-enforced" not in settings.faults:
        signature = Middleware(
            SignatureMiddleware,
            appkey=settings.appkey,
            access_token=settings.access_token,
            reject=lambda why: envelope(NOT_AUTHORIZED, why, {}),
        )
        middleware.append(signature)
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )
    app.state.store = Store(settings, clock) if clock else Store(settings)
    app.state.settings = settings
    return app
