"""The emulator's HTTP surface: a Starlette app whose routes come from the spec.

Each request goes: network faults (``toxics``, outermost) → signature (when credentials
are set) → body read and parsed → the request-side choices (``refusals``) → validated
against the spec → one handler per operation → the store. ``/__admin/`` paths (``admin``)
skip the faults and the signature. The command channel (``channel``, a WebSocket on its
documented path) is served beside them and checks its own signature.

Answers with the default choices (each point where the docs are silent is a choice):
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
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp

from ivhsuite import fastjson
from ivhsuite.channel_spec import load_channel_spec
from ivhsuite.emulator import admin
from ivhsuite.emulator.auth import SignatureMiddleware
from ivhsuite.emulator.channel import ChannelHub
from ivhsuite.emulator.choices import Choices
from ivhsuite.emulator.faults import FaultMiddleware, request_check
from ivhsuite.emulator.pages import html_page
from ivhsuite.emulator.refusals import RequestPolicy
from ivhsuite.emulator.settings import EmulatorSettings
from ivhsuite.emulator.store import PREPARING, SessionInfo, Store, StoreError
from ivhsuite.emulator.toxics import SCOPE_KEY, Injected, ToxicBox, ToxicMiddleware
from ivhsuite.ids import new_hex_id, new_request_id
from ivhsuite.protocol import Code
from ivhsuite.spec import Operation, Spec, load_spec


@dataclass(frozen=True)
class Call:
    """What a handler may know besides the payload."""

    choices: Choices
    prepare_seconds: float | None = None  # a slow_start fault's preparation time


Handler = Callable[[Store, dict[str, Any], Call], dict[str, Any]]


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


def envelope(
    code: int, message: str, payload: dict[str, Any] | None, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The answer envelope; ``payload=None`` leaves Payload out."""
    answer: dict[str, Any] = {"Header": {"Code": code, "Message": message, "RequestID": new_request_id()}}
    if payload is not None:
        answer["Payload"] = payload
    return _AsciiJSON(answer, status_code=status, headers=headers)


class Answers:
    """Every error answer the emulator writes, shaped by the choices."""

    def __init__(self, choices: Choices) -> None:
        self.choices = choices

    def _payload(self, echo: dict[str, Any]) -> dict[str, Any] | None:
        return {"reqid": echo, "empty": {}, "absent": None}[self.choices.error_payload]

    def error(self, code: int, message: str, echo: dict[str, Any], *, retry_after: int | None = None) -> Response:
        """A business error: the chosen HTTP status and Payload; Retry-After on a 100012."""
        wait = self.choices.retry_after if retry_after is None else retry_after
        headers = {"Retry-After": str(wait)} if code == Code.TOO_FREQUENT and wait is not None else None
        return envelope(code, message, self._payload(echo), self.choices.status_of(code), headers)

    def unreadable(self, status: int, message: str) -> Response:
        """A body the endpoint cannot read (400, 413, 415): the envelope, or a gateway page."""
        if self.choices.unreadable_body == "html":
            return html_page(status)
        return envelope(Code.BAD_PARAMETER, message, self._payload({}), status)

    def undocumented(self, request: Request, status: int) -> Response:
        """An unknown path (404) or a verb other than POST (405), as the choice says."""
        what = {404: f"no such operation: {request.url.path}", 405: f"method {request.method} not allowed: use POST"}
        choice = self.choices.undocumented_method
        answer_status = int(choice) if choice.isdigit() else status
        headers = {"Allow": "POST"} if answer_status == 405 else None
        if choice == "html":
            return html_page(answer_status, headers)
        return envelope(Code.BAD_PARAMETER, what[status], self._payload({}), answer_status, headers)


# --- one handler per operation: payload in, success payload out ---------------------


def _play_addr(info: SessionInfo, call: Call) -> dict[str, str]:
    """``{"PlayStreamAddr": ...}`` when the session has one to show now, else ``{}``."""
    withheld = info.status == PREPARING and call.choices.play_addr_while_preparing == "no"
    return {} if info.play_stream_addr is None or withheld else {"PlayStreamAddr": info.play_stream_addr}


def _summary(info: SessionInfo, call: Call) -> dict[str, Any]:
    item: dict[str, Any] = {"UserId": info.user_id, "SessionId": info.session_id, "SessionStatus": info.status}
    item.update(_play_addr(info, call))
    item.update(DriverType=info.driver_type, IsSessionStarted=info.started)
    return item


def _account_summary(info: SessionInfo, call: Call) -> dict[str, Any]:
    """listsessionofuin's item: the project's fields plus how it was created. VirtualmanType and
    VirtualmanKey are left out: their values are undocumented."""
    by_asset = info.asset_key is not None
    item = _summary(info, call)
    item.update(
        CreateType=1 if by_asset else 0,
        AssetVirtualmanKey=info.asset_key or "",
        VirtualmanProjectId="" if by_asset else info.project_id,
    )
    return item


def _create_options(p: dict[str, Any], call: Call) -> dict[str, Any]:
    """What both create operations read besides the project or asset."""
    option = p.get("ProtocolOption") or {}
    return {
        "session_id": p.get("SessionId"),
        "custom_push": bool(option.get("CssCustomPushUrl")),
        "own_trtc": p["Protocol"] == "trtc" and option.get("TrtcUseExternalApp") is not True,
        "prepare_seconds": call.prepare_seconds,
        "stream_max_interval": p.get("StreamMaxInterval"),
        "protocol": p["Protocol"],
    }


def _created(info: SessionInfo, call: Call) -> dict[str, Any]:
    return {"SessionId": info.session_id, "SessionStatus": info.status, **_play_addr(info, call)}


def createsession(store: Store, p: dict[str, Any], call: Call) -> dict[str, Any]:
    info = store.create(p["VirtualmanProjectId"], p["UserId"], p["DriverType"], **_create_options(p, call))
    return _created(info, call)


def createsessionbyasset(store: Store, p: dict[str, Any], call: Call) -> dict[str, Any]:
    info = store.create_by_asset(p["AssetVirtualmanKey"], p["UserId"], p["DriverType"], **_create_options(p, call))
    return _created(info, call)


def statsession(store: Store, p: dict[str, Any], call: Call) -> dict[str, Any]:
    info = store.stat(p["SessionId"])
    answer: dict[str, Any] = {"SessionStatus": info.status, **_play_addr(info, call)}
    answer.update(SpeakStatus=info.speak_status, IsSessionStarted=info.started)
    if info.error_code is not None:
        answer.update(ErrorCode=info.error_code, ErrorMessage=info.error_message or "")
    return answer


def startsession(store: Store, p: dict[str, Any], call: Call) -> dict[str, Any]:
    store.start(p["SessionId"])
    return {}


def closesession(store: Store, p: dict[str, Any], call: Call) -> dict[str, Any]:
    store.close(p["SessionId"])
    return {}


def listsessionofprojectid(store: Store, p: dict[str, Any], call: Call) -> dict[str, Any]:
    return {"Sessions": [_summary(info, call) for info in store.sessions(p["VirtualmanProjectId"])]}


def listsessionofuin(store: Store, p: dict[str, Any], call: Call) -> dict[str, Any]:
    return {"Sessions": [_account_summary(info, call) for info in store.account_sessions()]}


def listsessionofassetvk(store: Store, p: dict[str, Any], call: Call) -> dict[str, Any]:
    return {"Sessions": [_account_summary(info, call) for info in store.asset_sessions(p["AssetVirtualmanKey"])]}


def gettrtcsign(store: Store, p: dict[str, Any], call: Call) -> dict[str, Any]:
    """Made-up credentials of the TRTC shape (both are secrets: ivhsuite.redact masks them)."""
    info = store.trtc_sign(p["SessionId"])
    return {"UserSig": f"eJw{new_hex_id()}", "PrivateMapKey": f"eJw{new_hex_id()}{info.session_id[:8]}"}


def command(store: Store, p: dict[str, Any], call: Call) -> dict[str, Any]:
    store.command(p["SessionId"])
    return {}


HANDLERS: dict[str, Handler] = {
    "createsession": createsession,
    "statsession": statsession,
    "startsession": startsession,
    "closesession": closesession,
    "listsessionofprojectid": listsessionofprojectid,
    "createsessionbyasset": createsessionbyasset,
    "listsessionofuin": listsessionofuin,
    "listsessionofassetvk": listsessionofassetvk,
    "gettrtcsign": gettrtcsign,
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


def _endpoint(
    op: Operation, spec: Spec, settings: EmulatorSettings, policy: RequestPolicy, answers: Answers
) -> Callable[[Request], Any]:
    handler = HANDLERS[op.operation_id]
    check = request_check(op, spec, settings.faults)
    # Only the no-validation fault lets malformed payloads reach a handler.
    malformed: tuple[type[Exception], ...] = (
        (KeyError, TypeError, AttributeError) if "no-validation" in settings.faults else ()
    )

    async def endpoint(request: Request) -> Response:
        if policy.refuses_content_type(request.headers):
            return answers.unreadable(415, "Content-Type must be application/json")
        try:
            body = await _read_json(request, settings.max_body_bytes)
        except _BadInput as exc:
            return answers.unreadable(exc.status, exc.message)
        echo = _req_id(body)
        injected: Injected | None = request.scope.get(SCOPE_KEY)
        if injected is not None and injected.code is not None:
            return answers.error(injected.code, injected.message, echo, retry_after=injected.retry_after)
        if policy.too_frequent():
            return answers.error(Code.TOO_FREQUENT, "requests too frequent", echo)
        body = policy.normalised(body)
        violation = check(body)
        if violation is not None:
            return answers.error(Code.BAD_PARAMETER, f"Invalid {violation.field}: {violation.message}", echo)
        refusal = policy.edge(op.operation_id, body["Payload"])
        if refusal is not None:
            return answers.error(Code.BAD_PARAMETER, refusal, echo)
        call = Call(settings.choices, injected.prepare_seconds if injected else None)
        try:
            answer = handler(request.app.state.store, body["Payload"], call)
        except StoreError as exc:
            return answers.error(exc.code, exc.message, echo)
        except malformed as exc:
            return answers.error(Code.BAD_PARAMETER, f"malformed payload: {exc!r}", echo)
        return envelope(0, "success", {**echo, **answer})

    endpoint.__name__ = op.operation_id
    return endpoint


async def _http_error(request: Request, exc: Exception) -> Response:
    answers: Answers = request.app.state.answers
    status = getattr(exc, "status_code", 400)
    if status in (404, 405):
        return answers.undocumented(request, status)
    response = answers.unreadable(status, str(exc))
    response.headers.update(getattr(exc, "headers", None) or {})
    return response


async def _internal_error(request: Request, exc: Exception) -> Response:
    """A bug in the emulator: a JSON answer, never a traceback (the exception is re-raised)."""
    return envelope(Code.INTERNAL_ERROR, "internal error", {}, 500)


class _Emulator(Starlette):
    """Starlette with the network faults outside everything, Starlette's own error
    handling included: a reset must reach uvicorn's connection, not become a 500."""

    def __init__(self, toxics: ToxicBox, spec: Spec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._toxics = toxics
        self._spec = spec

    def build_middleware_stack(self) -> ASGIApp:
        return ToxicMiddleware(super().build_middleware_stack(), self._toxics, admin.ADMIN_PREFIX, self._spec)


def create_app(settings: EmulatorSettings | None = None, *, clock: Callable[[], float] | None = None) -> Starlette:
    """The emulator as an ASGI app; its sessions are at ``app.state.store``, its live
    network faults at ``app.state.toxics``.

    >>> app = create_app(EmulatorSettings(prepare_seconds=0))
    >>> app.state.store.settings.quota
    10
    """
    settings = settings or EmulatorSettings()
    spec = load_spec()
    answers = Answers(settings.choices)
    policy = RequestPolicy(settings.choices, clock or time.monotonic)
    routes = [Route(op.path, _endpoint(op, spec, settings, policy, answers), methods=["POST"]) for op in spec]
    middleware = [Middleware(FaultMiddleware, faults=settings.faults, spec=spec)]
    if settings.signed and "auth-not-enforced" not in settings.faults:
        signature = Middleware(
            SignatureMiddleware,
            appkey=settings.appkey,
            access_token=settings.access_token,
            reject=lambda why: answers.error(Code.NOT_AUTHORIZED, why, {}),
            exempt=admin.ADMIN_PREFIX,
        )
        middleware.append(signature)
    toxics = ToxicBox(settings.toxics, settings.seed)
    store = Store(settings, clock) if clock else Store(settings)
    channel_spec = load_channel_spec()
    channels = ChannelHub(settings, store, toxics, channel_spec)
    app = _Emulator(
        toxics,
        spec,
        routes=[*routes, WebSocketRoute(channel_spec.address, channels), *admin.ROUTES],
        middleware=middleware,
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )
    app.state.store = store
    app.state.channels = channels
    app.state.settings = settings
    app.state.answers = answers
    app.state.toxics = toxics
    return app
