"""Network faults a client must survive, in the vocabulary of Toxiproxy and WireMock.

A *toxic* is one fault with a ``toxicity`` (the probability it hits a request) and an
optional ``operation`` it is limited to. They are a user feature, unlike ``faults.py``'s
test-only variants: a real endpoint behind a real network is slow, resets connections,
answers gateway pages and says "too frequent"; a client must survive all of it.

- ``latency``: delay ``before`` the emulator acts or ``after`` it (the answer is late,
  the session already exists); ``fixed`` (``latency`` ms), ``uniform`` (``lower`` to
  ``upper`` ms) or ``lognormal`` (``median`` ms, ``sigma``), plus ± ``jitter`` ms.
- ``reset_peer``: the connection is reset (TCP RST) without an answer, ``before`` or
  ``after`` the emulator acted, optionally ``timeout`` ms later (Toxiproxy's name).
- ``empty_response``: the connection is closed (FIN) without a byte (WireMock's name).
- ``malformed_body``: the real answer's status and headers, then a body that is not
  JSON: ``truncated`` (its first half), ``garbage`` or ``empty``.
- ``gateway_error``: an nginx-style HTML page with ``status`` 502, 503 or 504.
- ``slow_start``: the created session stays preparing (status 3) for ``seconds``.
- ``quota``: createsession is refused with ``code`` 100008 (or 100014), nothing created.
- ``rate_limit``: Code 100012 without acting, with ``Retry-After: retry_after`` if set.
- ``channel_drop``: the command channel is dropped (closed 1006-style, without a close frame
  where the server allows it) when a command arrives; the client must reconnect.
- ``late_status``: every status message of the command channel is sent ``latency`` ms late.

The two channel kinds apply to the command channel only (their operation is ``channel``).

Over a socket served by uvicorn, a reset really resets the TCP connection: the middleware
sits outermost, so its ``receive`` is uvicorn's own, bound to the connection's transport.
In process (``httpx.ASGITransport``) there is no connection: the request raises
``ConnectionResetError`` instead. The last three toxics are decided here and carried out by
the endpoint (through ``scope[SCOPE_KEY]``), so their answers echo the ReqId and follow the
choices like any other business error.

>>> Toxic.of("latency:distribution=lognormal,median=200,sigma=0.5,toxicity=0.3").describe()["median"]
200.0
"""

from __future__ import annotations

import asyncio
import math
import random
import socket
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ivhsuite.emulator.pages import html_page
from ivhsuite.errors import ConfigError
from ivhsuite.protocol import Code
from ivhsuite.spec import Spec, load_spec

SCOPE_KEY = "ivhsuite.toxic"
MAX_DELAY_SECONDS = 600.0  # a bound on any one delay, whatever the distribution draws
DISCONNECT_WAIT = 1.0  # seconds to let the server notice a connection it dropped

KINDS: dict[str, frozenset[str]] = {  # each kind and the attributes it takes
    "latency": frozenset({"when", "distribution", "latency", "jitter", "lower", "upper", "median", "sigma"}),
    "reset_peer": frozenset({"when", "timeout"}),
    "empty_response": frozenset({"when"}),
    "malformed_body": frozenset({"style"}),
    "gateway_error": frozenset({"when", "status"}),
    "slow_start": frozenset({"seconds"}),
    "quota": frozenset({"code"}),
    "rate_limit": frozenset({"retry_after"}),
    "channel_drop": frozenset(),
    "late_status": frozenset({"latency"}),
}
_CREATE_ONLY = frozenset({"slow_start", "quota"})
CHANNEL = "channel"  # the operation name of the command channel's toxics
CHANNEL_KINDS = frozenset({"channel_drop", "late_status"})
_ENDINGS = frozenset({"reset_peer", "empty_response", "gateway_error", "malformed_body"})
_CHOICES = {
    "when": ("before", "after"),
    "distribution": ("fixed", "uniform", "lognormal"),
    "style": ("truncated", "garbage", "empty"),
    "status": (502, 503, 504),
    "code": (Code.OVER_CONCURRENCY_LIMIT, Code.NO_QUOTA_LEFT),
}


@dataclass(frozen=True)
class Toxic:
    """One network fault. Build it from what users type with :meth:`of`.

    >>> Toxic.of({"kind": "reset_peer", "when": "after", "toxicity": 0.1}).when
    'after'
    """

    kind: str
    toxicity: float = 1.0
    operation: str | None = None
    when: str = "before"
    distribution: str = "fixed"
    latency: float = 0.0  # ms
    jitter: float = 0.0  # ms, ± uniformly
    lower: float = 0.0  # ms
    upper: float = 0.0  # ms
    median: float = 0.0  # ms
    sigma: float = 0.0
    timeout: float = 0.0  # ms
    style: str = "truncated"
    status: int = 502
    seconds: float = 120.0
    code: int = Code.OVER_CONCURRENCY_LIMIT
    retry_after: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown fault kind {self.kind!r} (known: {', '.join(KINDS)})")
        allowed = KINDS[self.kind] | {"kind", "toxicity", "operation"}
        for f in fields(self):
            value = _typed(self.kind, f.name, getattr(self, f.name))
            object.__setattr__(self, f.name, value)
            if f.name not in allowed and value != f.default:
                raise ConfigError(f"fault {self.kind} takes no {f.name!r} (it takes: {', '.join(sorted(allowed))})")
        if not 0.0 <= self.toxicity <= 1.0:
            raise ConfigError(f"fault {self.kind}: toxicity must be from 0 to 1, not {self.toxicity}")
        if self.kind in _CREATE_ONLY:
            if self.operation not in (None, "createsession"):
                raise ConfigError(f"fault {self.kind} only applies to createsession")
            object.__setattr__(self, "operation", "createsession")
        elif self.kind in CHANNEL_KINDS:
            if self.operation not in (None, CHANNEL):
                raise ConfigError(f"fault {self.kind} only applies to the command channel")
            object.__setattr__(self, "operation", CHANNEL)
        elif self.operation is not None and self.operation not in load_spec().operation_ids:
            known = ", ".join(load_spec().operation_ids)
            raise ConfigError(f"fault {self.kind}: unknown operation {self.operation!r} (known: {known})")
        if self.lower > self.upper and self.distribution == "uniform":
            raise ConfigError(f"fault latency: lower ({self.lower}) is above upper ({self.upper})")
        if self.distribution == "lognormal" and self.median <= 0:
            raise ConfigError("fault latency: a lognormal distribution needs a median above 0 ms")

    @classmethod
    def of(cls, value: Toxic | str | Mapping[str, Any]) -> Toxic:
        """A toxic from ``"KIND[:key=value,...]"`` (the CLI) or a mapping (TOML, JSON)."""
        if isinstance(value, Toxic):
            return value
        if isinstance(value, str):
            kind, _, rest = value.partition(":")
            pairs: dict[str, Any] = {"kind": kind.strip()}
            for item in filter(None, (part.strip() for part in rest.split(","))):
                key, sep, raw = item.partition("=")
                if not sep:
                    raise ConfigError(f"--fault takes KIND[:key=value,...], not {value!r}")
                pairs[key.strip()] = raw.strip()
            value = pairs
        if not isinstance(value, Mapping):
            raise ConfigError(f"a fault is a mapping or KIND[:key=value,...], not {type(value).__name__}")
        given = {str(k).replace("-", "_"): v for k, v in value.items()}
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(given) - names)
        if unknown or "kind" not in given:
            what = f"unknown key(s) {', '.join(unknown)}" if unknown else "no kind"
            raise ConfigError(f"fault {dict(value)!r}: {what}")
        return cls(**given)

    def describe(self) -> dict[str, Any]:
        """The toxic as JSON: its kind, toxicity, operation and its own attributes only."""
        shown = KINDS[self.kind] | {"kind", "toxicity", "operation"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in shown}

    @property
    def acts_after(self) -> bool:
        """Whether it needs the emulator's finished answer."""
        return self.kind == "malformed_body" or ("when" in KINDS[self.kind] and self.when == "after")

    def delay(self, rng: random.Random) -> float:
        """Seconds to wait, drawn from the latency distribution."""
        if self.distribution == "uniform":
            ms = rng.uniform(self.lower, self.upper)
        elif self.distribution == "lognormal":
            ms = rng.lognormvariate(math.log(self.median), self.sigma)
        else:
            ms = self.latency
        if self.jitter:
            ms += rng.uniform(-self.jitter, self.jitter)
        return min(max(ms, 0.0) / 1000.0, MAX_DELAY_SECONDS)


_FLOATS = frozenset({"toxicity", "latency", "jitter", "lower", "upper", "median", "sigma", "timeout", "seconds"})
_INTS = frozenset({"status", "code", "retry_after"})


def _typed(kind: str, name: str, raw: Any) -> Any:
    """``raw`` (a CLI string or a TOML/JSON scalar) as the attribute's type, checked."""
    if raw is None and name in ("operation", "retry_after"):
        return None
    try:
        if isinstance(raw, bool) and name in _FLOATS | _INTS:
            raise ValueError
        if name in _FLOATS:
            value: Any = float(raw)
            if not math.isfinite(value) or value < 0:
                raise ValueError
        elif name in _INTS:
            value = int(raw)
            if value < 0 or str(raw).strip() != str(value):
                raise ValueError
        else:
            value = str(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"fault {kind}: {name} must be a number of 0 or more, not {raw!r}") from None
    if name in _CHOICES and value not in _CHOICES[name]:
        known = " | ".join(str(c) for c in _CHOICES[name])
        raise ConfigError(f"fault {kind}: {name} must be one of {known}, not {raw!r}")
    return value


@dataclass(frozen=True)
class Injected:
    """What the endpoint must do instead of its usual work, as decided by a toxic."""

    code: int | None = None  # answer this business error without acting
    message: str = ""
    retry_after: int | None = None
    prepare_seconds: float | None = None  # the created session prepares this long


def _injected(drawn: Iterable[Toxic]) -> Injected | None:
    found: dict[str, Any] = {}
    for toxic in drawn:
        if toxic.kind == "slow_start":
            found["prepare_seconds"] = toxic.seconds
        elif toxic.kind == "rate_limit" and "code" not in found:
            found.update(code=Code.TOO_FREQUENT, message="requests too frequent", retry_after=toxic.retry_after)
        elif toxic.kind == "quota" and "code" not in found:
            found.update(code=toxic.code, message="over the concurrency limit (quota fault)")
    return Injected(**found) if found else None


class ToxicBox:
    """The live toxics and the dice, shared by the middleware and the admin endpoints."""

    def __init__(self, toxics: Iterable[Toxic] = (), seed: int | None = None) -> None:
        self.toxics: tuple[Toxic, ...] = ()
        self.seed = seed
        self.rng = random.Random(seed)
        self.replace(toxics)

    def replace(self, toxics: Iterable[Toxic], seed: int | None = None) -> None:
        """Swap the whole list (and re-seed the dice when a seed is given)."""
        self.toxics = tuple(toxics)
        if seed is not None:
            self.seed, self.rng = seed, random.Random(seed)

    def draw(self, operation: str | None) -> list[Toxic]:
        """The toxics that hit this request, each with its own probability."""
        hits = []
        for toxic in self.toxics:
            if toxic.operation in (None, operation) and self.rng.random() < toxic.toxicity:
                hits.append(toxic)
        return hits


class ToxicMiddleware:
    """Applies the box's toxics to every request but those under ``exempt`` (the admin paths)."""

    def __init__(self, app: ASGIApp, box: ToxicBox, exempt: str, spec: Spec | None = None) -> None:
        self.app = app
        self.box = box
        self.exempt = exempt
        self.spec = spec or load_spec()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.box.toxics or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        op = self.spec.by_path(scope["path"])
        drawn = self.box.draw(op.operation_id if op else None)
        injected = _injected(drawn)
        if injected is not None:
            scope = {**scope, SCOPE_KEY: injected}
        await self._sleep(t for t in drawn if t.kind == "latency" and not t.acts_after)
        ending = next((t for t in drawn if t.kind in _ENDINGS and not t.acts_after), None)
        if ending is not None:
            await self._end(ending, scope, receive, send, None)
            return
        if not any(t.acts_after for t in drawn):
            await self.app(scope, receive, send)
            return
        answer = _Captured()
        await self.app(scope, receive, answer.send)
        await self._sleep(t for t in drawn if t.kind == "latency" and t.acts_after)
        ending = next((t for t in drawn if t.kind in _ENDINGS), None)
        if ending is None:
            await answer.replay(send)
        else:
            await self._end(ending, scope, receive, send, answer)

    async def _sleep(self, latencies: Iterable[Toxic]) -> None:
        for toxic in latencies:
            await asyncio.sleep(toxic.delay(self.box.rng))

    async def _end(self, toxic: Toxic, scope: Scope, receive: Receive, send: Send, answer: _Captured | None) -> None:
        if toxic.kind == "reset_peer":
            await asyncio.sleep(min(toxic.timeout / 1000.0, MAX_DELAY_SECONDS))
            await _drop(receive, reset=True)
        elif toxic.kind == "empty_response":
            await _drop(receive, reset=False)
        elif toxic.kind == "gateway_error":
            await html_page(toxic.status)(scope, receive, send)
        elif answer is not None:  # malformed_body
            await answer.replay(send, _mangled(toxic.style, answer.body, self.box.rng))


class _Captured:
    """A finished answer held back, to be sent late, mangled or not at all."""

    def __init__(self) -> None:
        self.start: Message = {"type": "http.response.start", "status": 500, "headers": []}
        self.body = b""

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    async def replay(self, send: Send, body: bytes | None = None) -> None:
        body = self.body if body is None else body
        headers = [(k, v) for k, v in self.start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**self.start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _mangled(style: str, body: bytes, rng: random.Random) -> bytes:
    if style == "empty":
        return b""
    if style == "garbage":
        return b"\xff" + bytes(rng.getrandbits(8) for _ in range(63))  # \xff: never UTF-8, never JSON
    return body[: len(body) // 2] or b"{"


async def _drop(receive: Receive, *, reset: bool) -> None:
    """Close the client's connection without an answer: RST when ``reset``, else FIN.

    uvicorn's ``receive`` is a method of the request cycle, which holds the transport.
    Once the transport is closed, uvicorn marks the cycle disconnected and sends nothing.
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        raise ConnectionResetError("connection reset by the emulator (reset_peer/empty_response fault)")
    if reset:
        sock = transport.get_extra_info("socket")
        try:
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass  # the peer is gone already: closing is all that is left
        transport.abort()
    else:
        transport.close()
    try:
        async with asyncio.timeout(DISCONNECT_WAIT):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        pass
