"""Test-only broken variants of the emulator, each breaking exactly one documented promise.

They exist so the contract gate and the load checks can prove they notice a broken
server. A fault is switched on only through ``EmulatorSettings(faults=...)`` (or the
CLI's ``IVHSUITE_EMULATOR_FAULTS``), never by default. Store-level faults are small
branches in ``store.py``; the others live here: a wrapper around the request check and
one pure-ASGI middleware that rewrites finished answers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ivhsuite.protocol import Code
from ivhsuite.spec import Operation, Spec, Violation

FAULTS: dict[str, str] = {
    "auth-not-enforced": "The signature is not checked even when credentials are set.",
    "boundary-off-by-one": "Values exactly on a documented bound (StreamMaxInterval 6000, a Text of 4000) are refused.",
    "close-keeps-slot": "closesession answers success but the session stays live and keeps its slot.",
    "command-before-start": "Drive commands are accepted on a session that was never started.",
    "external-trtc-unchecked": "TrtcUseExternalApp true is accepted without TrtcAppId, TrtcUserSig"
    " and TrtcPrivateMapKey.",
    "list-omits-sessions": "listsessionofprojectid leaves out live sessions that have not been started.",
    "no-preemption": "A new session with the same UserId does not close the previous one.",
    "no-preemption-by-asset": "createsessionbyasset does not close the previous session with the same UserId.",
    "no-quota": "The per-project concurrency quota is never enforced.",
    "no-rate-limit": "Commands less than the command interval apart are accepted.",
    "no-validation": "Payloads breaking the spec (Protocol 'RTMP', DriverType 2, out-of-range values) are accepted.",
    "play-addr-with-css": "PlayStreamAddr is returned although CssCustomPushUrl was given.",
    "reqid-not-echoed": "Payload.ReqId of a success differs from the request's ReqId.",
    "server-error-on-bad-input": "Bad input is answered with HTTP 500 instead of a 4xx or a business error.",
    "start-before-ready": "startsession is accepted while the session is still preparing (status 3).",
    "unknown-session-ok": "An unknown SessionId is answered with Code 0 instead of 110018.",
    "wrong-schema": "A successful createsession answer lacks the required SessionStatus.",
}

# --- the command channel's broken variants (wired in emulator/channel.py through the helpers below) ---
CHANNEL_FAULTS: dict[str, str] = {
    "channel-bad-message": "Status messages carry Type as a string, off the AsyncAPI schema.",
    "channel-no-text-interval": "Texts less than 1 s apart on the channel are spoken, not refused.",
    "channel-no-text-over": "A text gets TextStart but never TextOver.",
    "channel-open-before-start": "A channel opens for a session that was never started.",
    "channel-survives-close": "closesession leaves the session's channel open.",
    "channel-undocumented-refusal": "Refusals on the channel carry a code in no documented table.",
    "channel-wrong-reqid": "Status messages carry a fresh ReqId, not the command's.",
}
FAULTS.update(CHANNEL_FAULTS)
UNDOCUMENTED_CODE = 999001  # what channel-undocumented-refusal answers: in no table of the docs


def channel_status(payload: dict[str, Any], faults: frozenset[str]) -> dict[str, Any] | None:
    """A status payload as a broken channel sends it; None: not sent at all."""
    if "channel-no-text-over" in faults and payload.get("SpeakStatus") == "TextOver":
        return None
    if "channel-wrong-reqid" in faults:
        payload = {**payload, "ReqId": uuid.uuid4().hex}
    if "channel-bad-message" in faults:
        payload = {**payload, "Type": str(payload.get("Type"))}
    return payload


def channel_code(code: int, faults: frozenset[str]) -> int:
    """The code a broken channel refuses with."""
    return UNDOCUMENTED_CODE if code and "channel-undocumented-refusal" in faults else code


Check = Callable[[Any], Violation | None]
_RESPONSE_FAULTS = {
    "reqid-not-echoed",
    "server-error-on-bad-input",
    "unknown-session-ok",
    "wrong-schema",
    "list-omits-sessions",
}


def request_check(op: Operation, spec: Spec, faults: frozenset[str]) -> Check:
    """The operation's request check, broken as ``faults`` ask (faithful when they are empty)."""
    check: Check = op.request.first_violation
    if "no-validation" in faults:
        check = _structure_only(check)
    if "external-trtc-unchecked" in faults:
        check = _without_external_flag(check)
    if "boundary-off-by-one" in faults:
        check = _bounds_exclusive(check, spec.document, op.request.pointer)
    return check


def _structure_only(check: Check) -> Check:
    """Keep only "is the payload an object with its required fields" (so handlers can run)."""

    def inner(body: Any) -> Violation | None:
        found = check(body)
        if found and ("required property" in found.message or found.field in ("(body)", "Payload")):
            return found
        return None

    return inner


def _without_external_flag(check: Check) -> Check:
    def inner(body: Any) -> Violation | None:
        option = _get(body, "Payload", "ProtocolOption")
        if isinstance(option, dict) and option.get("TrtcUseExternalApp") is True:
            body = {**body, "Payload": {**body["Payload"], "ProtocolOption": {**option}}}
            del body["Payload"]["ProtocolOption"]["TrtcUseExternalApp"]
        return check(body)

    return inner


def _bounds_exclusive(check: Check, document: Mapping[str, Any], pointer: str) -> Check:
    def inner(body: Any) -> Violation | None:
        return check(body) or _on_bound(document, _resolve(document, pointer), body, "")

    return inner


def _on_bound(document: Mapping[str, Any], schema: Any, value: Any, where: str) -> Violation | None:
    """The first value sitting exactly on a documented min/max (treated, wrongly, as outside)."""
    if not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        return _on_bound(document, _resolve(document, schema["$ref"].removeprefix("#")), value, where)
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                found = _on_bound(document, sub, value[name], f"{where}.{name}".lstrip("."))
                if found:
                    return found
        return None
    size = len(value) if isinstance(value, str) else value
    if isinstance(size, int) and not isinstance(size, bool):
        for bound in ("minimum", "maximum", "minLength", "maxLength"):
            if schema.get(bound) == size and (bound.endswith("Length") == isinstance(value, str)):
                return Violation(where, f"{size} is outside the range")
    return None


def _resolve(document: Mapping[str, Any], pointer: str) -> Any:
    node: Any = document
    for part in pointer.strip("/").split("/"):
        node = node[part]
    return node


def _get(body: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


class FaultMiddleware:
    """Rewrites finished JSON answers for the response-side faults; a no-op without them."""

    def __init__(self, app: ASGIApp, faults: frozenset[str], spec: Spec) -> None:
        self.app = app
        self.faults = faults & _RESPONSE_FAULTS
        self.spec = spec

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.faults:
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                status, body = self._rewrite(scope["path"], start["status"], b"".join(chunks))
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)

    def _rewrite(self, path: str, status: int, raw: bytes) -> tuple[int, bytes]:
        answer = json.loads(raw)
        header, payload = answer["Header"], answer.setdefault("Payload", {})
        op = self.spec.by_path(path)
        name = op.operation_id if op else ""
        if "unknown-session-ok" in self.faults and header["Code"] == Code.SESSION_NOT_FOUND:
            header.update(Code=0, Message="success")
            if name == "statsession":
                payload.update(SessionStatus=1, SpeakStatus="TextOver", IsSessionStarted=False)
        if header["Code"] == 0:
            if "reqid-not-echoed" in self.faults and "ReqId" in payload:
                payload["ReqId"] = uuid.uuid4().hex
            if "wrong-schema" in self.faults and name == "createsession":
                payload.pop("SessionStatus", None)
            if "list-omits-sessions" in self.faults and name == "listsessionofprojectid":
                payload["Sessions"] = [s for s in payload["Sessions"] if s["IsSessionStarted"]]
        if "server-error-on-bad-input" in self.faults and (header["Code"] == Code.BAD_PARAMETER or 400 <= status < 500):
            status = 500
        return status, json.dumps(answer).encode()


# --- the conversation load run's channel variants (branches in emulator/channel.py) ---
CONVERSATION_FAULTS: dict[str, str] = {
    "channel-no-audio-over": "The command channel never sends AudioOver after an audio sequence.",
    "channel-survives-preemption": "A preempted session's command channel stays open.",
}
FAULTS.update(CONVERSATION_FAULTS)
