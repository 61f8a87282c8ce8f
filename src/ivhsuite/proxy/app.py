"""The validating proxy as a pure-ASGI app: forward every call unchanged, judge both directions.

Per call: read the body; judge the request alone (:mod:`~ivhsuite.proxy.request_checks`)
and against the sessions seen so far (:class:`~ivhsuite.proxy.rules.Tracker`); forward
method, path, query string, headers and body as they came (the query carries the
application's own signature: the proxy needs no credentials); judge the answer
(:mod:`~ivhsuite.proxy.answer_checks`) and feed it to the tracker; return the answer's
status, headers and body bytes unchanged, plus one header, ``x-ivhsuite-violations``, when
something was found (a JSON list like Prism's ``sl-violations``).

The upstream is reached through one pooled ``httpx.AsyncHTTPTransport`` (connection reuse),
opened on the first call and closed by the ASGI lifespan shutdown or :meth:`ProxyApp.aclose`. A
transport failure is the network, not the contract: the application gets a 502 (504 on
a timeout) from the proxy and nothing is held against either side.

>>> app = ProxyApp("http://127.0.0.1:8000", Findings())  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import anyio
import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from ivhsuite.channel_spec import ChannelSpec, load_channel_spec
from ivhsuite.contract import Issue
from ivhsuite.contract import channel as channel_promises
from ivhsuite.proxy.answer_checks import check_answer
from ivhsuite.proxy.findings import Call, Finding, Findings
from ivhsuite.proxy.relay import (
    DENIAL,
    GOING_AWAY,
    AsgiUpstream,
    Closed,
    Frame,
    Refused,
    Upstream,
    WebSocketUpstream,
    app_scope,
)
from ivhsuite.proxy.relay import sendable as _sendable
from ivhsuite.proxy.request_checks import (
    UNREADABLE,
    body_is_valid,
    check_query_secrets,
    check_request,
    check_signature,
    parse_body,
)
from ivhsuite.proxy.rules import ChannelTrack, Policy, Tracker
from ivhsuite.redact import redact
from ivhsuite.spec import Operation, Spec, load_spec

log = logging.getLogger("ivhsuite")

VIOLATIONS_HEADER = b"x-ivhsuite-violations"
MAX_HEADER_BYTES = 4096
MAX_BODY_BYTES = 16 << 20  # beyond this the proxy refuses instead of buffering
UPSTREAM_CLOSE_TIMEOUT = 2.0  # a relayed channel's upstream, closed when the proxy stops
UPSTREAM_TIMEOUT = 60.0  # a cold createsession may take long; the application's own timeout still applies
TIMEOUTS = httpx.Timeout(UPSTREAM_TIMEOUT).as_dict()
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
    }
)


class ProxyApp:
    """Forwards to ``upstream`` (a base URL; ``transport`` for an in-process upstream) and judges."""

    def __init__(
        self,
        upstream: str,
        findings: Findings,
        *,
        policy: Policy | None = None,
        signature_required: bool = True,
        spec: Spec | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        channel_app: ASGIApp | None = None,
        channel_spec: ChannelSpec | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.channel_app = channel_app  # an in-process upstream for the channel (the embedded emulator)
        self.channel_spec = channel_spec or load_channel_spec()
        self.findings = findings
        self.tracker = Tracker(policy or Policy())
        self.signature_required = signature_required
        self.spec = spec or load_spec()
        self.calls: Counter[str] = Counter()  # per operation (or "METHOD path" for undocumented ones)
        self.environmental: Counter[str] = Counter()  # busy codes, gateway pages, unreachable upstream
        self.internal_errors = 0  # judging bugs, logged; the calls still went through
        self._transport = transport
        self._client: httpx.AsyncBaseTransport | None = None
        self._clock = clock
        self._wall_clock = wall_clock
        self._started = clock()
        self._seq = itertools.count(1)

    def now(self) -> float:
        """Seconds since the proxy started: the time base of calls, findings and timelines."""
        return self._clock() - self._started

    def finish(self, why: str) -> list[Finding]:
        """Leaks at the end of the run (recorded in :attr:`findings` too)."""
        found = self.tracker.finish(self.now(), why)
        self.findings.add(found)
        return found

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _upstream_transport(self) -> httpx.AsyncBaseTransport:
        """httpx's pooled transport itself: the client layer (auth, redirects, cookies) has nothing
        to do for a proxy that forwards as is, and costs time on every call."""
        if self._client is None:
            limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
            self._client = self._transport or httpx.AsyncHTTPTransport(limits=limits)
        return self._client

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = await _read_body(receive)
        if raw is None:
            await _plain(send, 413, f"ivhsuite proxy: body larger than {MAX_BODY_BYTES} bytes")
            return
        method, path, query = scope["method"], scope["path"], scope.get("query_string", b"")
        op = self.spec.by_path(path)
        peer = scope.get("client")
        call = Call(
            next(self._seq),
            self.now(),
            method,
            path,
            op.operation_id if op else None,
            f"{peer[0]}:{peer[1]}" if peer else "?",
        )
        self.calls[call.label] += 1
        call.fingerprint = hash(raw)
        body = parse_body(raw) if op is not None else UNREADABLE
        payload = body.get("Payload") if isinstance(body, dict) else None
        if isinstance(payload, dict) and isinstance(payload.get("ReqId"), str):
            call.req_id = payload["ReqId"]
        valid = self._valid(op, body)
        found = self._judge_request(call, body, payload, query, valid)
        raw_path = scope.get("raw_path") or path.encode()
        url = f"{self.upstream}{raw_path.split(b'?')[0].decode('latin-1')}"
        if query:
            url += "?" + query.decode("latin-1")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]
        try:
            response = await self._forward(method, url, headers, raw)
        except httpx.HTTPError as exc:
            status = 504 if isinstance(exc, httpx.TimeoutException) else 502
            self.environmental[f"upstream {type(exc).__name__}"] += 1
            self.tracker.answer(call, None, None, self.now())
            self.findings.add(found)
            call.status, call.duration = status, self.now() - call.at
            extra = _violations_header(found)
            await _plain(send, status, f"ivhsuite proxy: upstream failed: {type(exc).__name__}", extra)
            return
        status, upstream_headers, content = response
        call.status, call.duration = status, self.now() - call.at
        found += self._judge_answer(call, body, valid, status, upstream_headers, content)
        self.findings.add(found)
        out = [(k, v) for k, v in upstream_headers.raw if k.lower() not in HOP_BY_HOP]
        out.append((b"content-length", str(len(content)).encode()))
        out += _violations_header(found)
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": content})

    async def _forward(
        self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, httpx.Headers, bytes]:
        request = httpx.Request(method, url, headers=headers, content=body, extensions={"timeout": TIMEOUTS})
        response = await self._upstream_transport().handle_async_request(request)
        try:
            if response.is_stream_consumed:  # built in memory (httpx.MockTransport): no raw bytes left
                content = response.content
            else:
                content = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
        return response.status_code, response.headers, content

    def _valid(self, op: Operation | None, body: Any) -> bool | None:
        try:
            return body_is_valid(op, body)
        except Exception:  # noqa: BLE001 - judged again, with the error logged, below
            return None

    def _judge_request(self, call: Call, body: Any, payload: Any, query: bytes, valid: bool | None) -> list[Finding]:
        """Stateless request checks, then the session rules; a bug here never stops the call."""
        try:
            found = [_redacted(f) for f in self.tracker.request(call, payload, call.at)]
            now = self._wall_clock()
            required = self.signature_required
            issues = check_request(self.spec, call.method, call.path, query, body, now, required, valid)
            if call.path == self.channel_spec.address:  # a path the AsyncAPI document defines, as a WebSocket
                upgrade = "the command channel is a WebSocket: open it with an upgrade, not a plain HTTP call"
                issues = [("request-schema", upgrade) if rule == "unknown-path" else (rule, m) for rule, m in issues]
        except Exception:  # noqa: BLE001 - the application's call goes through whatever the judge does
            log.exception("ivhsuite proxy: could not judge request #%d", call.seq)
            self.internal_errors += 1
            return []
        return [self._finding(rule, message, call) for rule, message in issues] + found

    def _judge_answer(
        self, call: Call, body: Any, valid: bool | None, status: int, headers: httpx.Headers, content: bytes
    ) -> list[Finding]:
        """The endpoint's promises on this answer, then the session rules fed with it."""
        try:
            op = self.spec.by_path(call.path)
            decoded = _decoded(status, headers, content)
            content_type = headers.get("content-type", "")
            verdict = check_answer(self.spec, op, call.method, body, status, content_type, decoded, valid)
            call.code = verdict.code
            if verdict.environmental:
                self.environmental[verdict.environmental] += 1
            found = [self._finding(rule, message, call) for rule, message in verdict.issues]
            return found + [_redacted(f) for f in self.tracker.answer(call, verdict.code, verdict.payload, self.now())]
        except Exception:  # noqa: BLE001
            log.exception("ivhsuite proxy: could not judge the answer to #%d", call.seq)
            self.internal_errors += 1
            return []

    # --- the command channel: a WebSocket relayed frame by frame ------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Accept the application's channel once the upstream accepted the same one; relay both ways."""
        if (await receive())["type"] != "websocket.connect":
            return
        path, query = scope["path"], scope.get("query_string", b"")
        peer = scope.get("client")
        operation = "commandchannel" if path == self.channel_spec.address else None
        call = Call(next(self._seq), self.now(), "GET", path, operation, f"{peer[0]}:{peer[1]}" if peer else "?")
        self.calls[call.label] += 1
        params = dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True))
        channel, found = self._judge_handshake(call, params.get("requestid"), query)
        try:
            upstream = await self._open_channel(scope, path, query)
        except Refused as refused:
            call.status = refused.status
            self.findings.add(found)
            await _deny(scope, send, refused.status, refused.headers, refused.body)
            return
        except Exception as exc:  # noqa: BLE001 - any failure to reach it is the network's, not the contract
            self.environmental[f"upstream channel {type(exc).__name__}"] += 1
            self.findings.add(found)
            body = f"ivhsuite proxy: upstream failed: {type(exc).__name__}".encode()
            await _deny(scope, send, 502, [(b"content-type", b"text/plain; charset=utf-8")], body)
            return
        call.status = 101
        self.findings.add(found)
        if channel is not None:
            self.tracker.channel_accepted(channel, self.now())
        await send({"type": "websocket.accept"})
        closed_by = "the endpoint"
        try:
            async with anyio.create_task_group() as tasks:

                async def downstream() -> None:
                    await self._down(upstream, send, channel, call)
                    tasks.cancel_scope.cancel()

                tasks.start_soon(downstream)
                code = await self._up(upstream, receive, channel, call)
                if code is not None:
                    closed_by = "the application"
                    await upstream.close(code)
                tasks.cancel_scope.cancel()
        finally:
            with anyio.move_on_after(UPSTREAM_CLOSE_TIMEOUT, shield=True):  # the proxy stopping: no channel left open
                await upstream.close(GOING_AWAY)
            if channel is not None:
                self._safe(lambda: self.tracker.channel_closed(channel, call, self.now(), closed_by))

    async def _open_channel(self, scope: Scope, path: str, query: bytes) -> Upstream:
        if self.channel_app is not None:
            return await AsgiUpstream(self.channel_app, app_scope(scope)).open()
        scheme, _, rest = self.upstream.partition("://")
        url = f"{'wss' if scheme == 'https' else 'ws'}://{rest}{path}"
        if query:
            url += "?" + query.decode("latin-1")
        return await WebSocketUpstream(url).open()

    async def _up(self, upstream: Upstream, receive: Receive, channel: ChannelTrack | None, opened: Call) -> int | None:
        """The application's frames, sent on at once, then judged. Its close code, or None if the upstream went first."""
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.disconnect":
                return int(message.get("code") or 1000)
            if kind != "websocket.receive":
                continue
            text = message.get("text")
            frame: Frame = text if text is not None else message.get("bytes") or b""
            body: Any = _loads(frame) if isinstance(frame, str) else UNREADABLE
            if channel is not None:  # before it goes: the endpoint's status may come back at once
                channel.sent(body)
            try:
                await upstream.send(frame)
            except Closed:
                return None
            self._judge_frame(frame, body, channel, opened)

    async def _down(self, upstream: Upstream, send: Send, channel: ChannelTrack | None, opened: Call) -> None:
        """The endpoint's frames to the application at once, then judged; its close passed on."""
        while True:
            try:
                frame = await upstream.recv()
            except Closed as closed:
                with contextlib.suppress(OSError, RuntimeError):
                    await send({"type": "websocket.close", "code": _sendable(closed.code), "reason": closed.reason})
                return
            message = (
                {"type": "websocket.send", "text": frame}
                if isinstance(frame, str)
                else {"type": "websocket.send", "bytes": frame}
            )
            try:
                await send(message)
            except (OSError, RuntimeError):
                return  # the application is gone; its disconnect ends the relay
            if channel is not None and isinstance(frame, str):
                self._judge_down(frame, channel, opened)

    def _judge_handshake(
        self, call: Call, session_id: str | None, query: bytes
    ) -> tuple[ChannelTrack | None, list[Finding]]:
        try:
            issues = check_signature(query, self._wall_clock(), self.signature_required) + check_query_secrets(query)
            found = [self._finding(rule, message, call) for rule, message in issues]
            if call.operation is None:
                found.append(self._finding("unknown-path", f"a WebSocket to {call.path}: the command channel is"
                                           f" {self.channel_spec.address}", call))  # fmt: skip
                return None, found
            channel, more = self.tracker.channel_open(call, session_id, call.at)
            return channel, found + [_redacted(f) for f in more]
        except Exception:  # noqa: BLE001 - the channel goes through whatever the judge does
            log.exception("ivhsuite proxy: could not judge the channel #%d", call.seq)
            self.internal_errors += 1
            return None, []

    def _judge_frame(self, frame: Frame, body: Any, channel: ChannelTrack | None, opened: Call) -> None:
        now = self.now()
        payload = body.get("Payload") if isinstance(body, dict) else None
        command = payload.get("Command") if isinstance(payload, dict) else None
        label = (
            f"channel {command}"
            if isinstance(command, str) and command in self.channel_spec.commands
            else "channel frame"
        )
        call = Call(next(self._seq), now, "WS", opened.path, label, opened.peer, fingerprint=hash(frame))
        self.calls[label] += 1
        try:
            found = []
            if body is UNREADABLE:
                found.append(self._finding("request-schema", "a channel message is a JSON text frame", call))
            else:
                violation = self.channel_spec.command_violation(body)
                if violation is not None:
                    found.append(self._finding("request-schema", f"{violation.field}: {violation.message[:300]}", call))
            if channel is not None:
                found += [_redacted(f) for f in self.tracker.channel_up(channel, call, body, now)]
            self.findings.add(found)
        except Exception:  # noqa: BLE001
            log.exception("ivhsuite proxy: could not judge channel frame #%d", call.seq)
            self.internal_errors += 1

    def _judge_down(self, frame: str, channel: ChannelTrack, opened: Call) -> None:
        """A downstream message by the contract's channel judge (schema, documented code, ReqId), then the
        session rules (a refused text, FinalType)."""
        body = _loads(frame)
        self._safe(lambda: self._channel_promises(body, channel, opened))
        self._safe(lambda: self.tracker.channel_down(channel, opened, body, self.now()))

    def _channel_promises(self, body: Any, channel: ChannelTrack, opened: Call) -> list[Finding]:
        if body is UNREADABLE:
            issues = [Issue("channel-message-schema", "a downstream message is not JSON")]
        else:
            issues = channel_promises.message_issues(self.channel_spec, body)
            if channel.req_ids_judged:
                issues += channel_promises.reqid_issues([body], channel.req_ids)
        return [self._finding(i.promise, i.detail[:300], opened) for i in issues]

    def _safe(self, judge: Callable[[], list[Finding]]) -> None:
        try:
            self.findings.add([_redacted(f) for f in judge()])
        except Exception:  # noqa: BLE001
            log.exception("ivhsuite proxy: could not judge the channel")
            self.internal_errors += 1

    @staticmethod
    def _finding(rule: str, message: str, call: Call) -> Finding:
        return Finding(rule, redact(message), call, call.session_id, call.user_id)


def _loads(frame: str) -> Any:
    try:
        return json.loads(frame)
    except (ValueError, RecursionError):
        return UNREADABLE


async def _deny(scope: Scope, send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    """Refuse the application's handshake as the upstream did: its HTTP answer where the server can send one."""
    if DENIAL in (scope.get("extensions") or {}):
        kept = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
        kept.append((b"content-length", str(len(body)).encode()))
        await send({"type": f"{DENIAL}.start", "status": status, "headers": kept})
        await send({"type": f"{DENIAL}.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})


def _redacted(finding: Finding) -> Finding:
    return dataclasses.replace(finding, message=redact(finding.message))


async def _read_body(receive: Receive) -> bytes | None:
    chunks = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks += message.get("body", b"")
        if len(chunks) > MAX_BODY_BYTES:
            return None
        if not message.get("more_body", False):
            break
    return bytes(chunks)


def _decoded(status: int, headers: httpx.Headers, content: bytes) -> bytes:
    """The body as the application's HTTP library will read it (gzip and the like undone)."""
    if not headers.get("content-encoding"):
        return content
    try:
        return httpx.Response(status, headers=headers, content=content).content
    except httpx.DecodingError:
        return content


def _violations_header(found: list[Finding]) -> list[tuple[bytes, bytes]]:
    """``x-ivhsuite-violations: [{"side", "rule", "message"}, ...]``, kept under 4 KiB."""
    if not found:
        return []
    items: list[dict[str, Any]] = []
    for finding in found:
        item = {"side": finding.side, "rule": finding.rule, "message": finding.message[:300]}
        if len(json.dumps([*items, item])) > MAX_HEADER_BYTES:
            items.append({"side": "proxy", "rule": "truncated", "message": f"{len(found) - len(items)} more"})
            break
        items.append(item)
    return [(VIOLATIONS_HEADER, json.dumps(items, ensure_ascii=True).encode("ascii"))]


async def _plain(send: Send, status: int, text: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})
