"""10,000 random malformed requests to the default emulator over a real socket: each gets a
complete JSON answer, none a 5xx, and no connection is dropped without an answer.

The client is a bare HTTP/1.1 keep-alive loop on asyncio streams, so a connection the
server drops is seen as such (not retried away by a client library), and the run stays fast.
"""

from __future__ import annotations

import asyncio
import json
import random
import string
from collections import Counter
from dataclasses import dataclass

import pytest

from ivhsuite.emulator import EmulatorSettings, serve_in_thread

from .conftest import PROJECT, SPEC

REQUESTS = 10_000
CONNECTIONS = 8
SEED = 20240719
PATHS = [op.path for op in SPEC]
METHODS = ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
CONTENT_TYPES = [
    "text/plain",
    "application/xml",
    "multipart/form-data; boundary=x",
    "",
    "application/json; charset=latin-1",
]
ODD_VALUES = [
    None,
    True,
    0,
    -1,
    2**64,
    1.5,
    1e308,
    "",
    "x" * 5000,
    "\u0000",
    "é漢字",
    [],
    {},
    [1, "a"],
    {"a": {"b": []}},
]
FIELDS = [
    "ReqId",
    "SessionId",
    "VirtualmanProjectId",
    "UserId",
    "Protocol",
    "DriverType",
    "ProtocolOption",
    "Data",
    "Command",
    "StreamMaxInterval",
    "ExtraInfo",
]


@dataclass
class Request:
    method: str
    path: str
    body: bytes
    content_type: str | None = "application/json"


def _payload(rng: random.Random) -> dict:
    payload: dict = {"ReqId": rng.choice(["0" * 32, "short", 12, None]), "VirtualmanProjectId": PROJECT}
    for name in rng.sample(FIELDS, rng.randint(0, len(FIELDS))):
        payload[name] = rng.choice(ODD_VALUES)
    return payload


def _random_request(rng: random.Random) -> Request:
    path = rng.choice(PATHS)
    kind = rng.randrange(12)
    if kind == 0:  # not JSON
        text = "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 200)))
        return Request("POST", path, text.encode())
    if kind == 1:  # random bytes
        return Request("POST", path, rng.randbytes(rng.randint(1, 300)))
    if kind == 2:  # JSON, but not an object
        return Request("POST", path, json.dumps(rng.choice([[], [1, 2], "s", 3, None, True])).encode())
    if kind == 3:  # wrong method
        return Request(rng.choice(METHODS), path, b"" if rng.random() < 0.5 else b'{"Payload": {}}')
    if kind == 4:  # wrong content type
        body = json.dumps({"Payload": _payload(rng)}).encode()
        return Request("POST", path, body, rng.choice([*CONTENT_TYPES, None]))
    if kind == 5:  # random path
        segment = "".join(rng.choice(string.ascii_letters + string.digits + "%._~-") for _ in range(rng.randint(0, 40)))
        return Request(rng.choice(["POST", "GET"]), f"/{segment}".replace("%", "%25"), b"{}")
    if kind == 6:  # deep nesting
        depth = rng.randint(50, 5000)
        return Request("POST", path, b"[" * depth + b"]" * depth)
    if kind == 7 and rng.random() < 0.02:  # over the 1 MiB limit (rare: it costs a megabyte each)
        return Request("POST", path, b" " * ((1 << 20) + rng.randint(1, 4096)))
    if kind == 8:  # Payload of the wrong type, or no Payload
        return Request("POST", path, json.dumps({"Payload": rng.choice(ODD_VALUES)}).encode())
    if kind == 9:  # truncated JSON
        whole = json.dumps({"Header": {}, "Payload": _payload(rng)})
        return Request("POST", path, whole[: rng.randint(0, len(whole) - 1)].encode())
    if kind == 10:  # JSON extensions Python accepts and JSON does not, and lone surrogates
        return Request(
            "POST", path, rng.choice([b'{"Payload": NaN}', b'{"Payload": {"UserId": "\\ud800"}}', b"{'a': 1}"])
        )
    return Request("POST", path, json.dumps({"Header": rng.choice(ODD_VALUES), "Payload": _payload(rng)}).encode())


def _encode(request: Request) -> bytes:
    lines = [f"{request.method} {request.path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(request.body)}"]
    if request.content_type is not None:
        lines.append(f"Content-Type: {request.content_type}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + request.body


class Dropped(Exception):
    """The server closed the connection without a complete answer."""


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: Request
) -> tuple[int, dict[str, str], bytes]:
    writer.write(_encode(request))
    await writer.drain()
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        raise Dropped(f"{request.method} {request.path}: no answer") from exc
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines if line)
    headers = {k.lower(): v for k, v in headers.items()}
    length = 0 if request.method == "HEAD" else int(headers.get("content-length", "0"))
    try:
        body = await reader.readexactly(length)
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        raise Dropped(f"{request.method} {request.path}: answer cut short") from exc
    return int(status_line.split(" ")[1]), headers, body


async def _worker(host: str, port: int, requests: list[Request], statuses: Counter, bad: list[str]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for request in requests:
            status, headers, body = await _exchange(reader, writer, request)
            statuses[status] += 1
            envelope = json.loads(body) if request.method != "HEAD" else {"Header": {"Code": 0}}
            if status >= 500 or not isinstance(envelope.get("Header", {}).get("Code"), int):
                bad.append(f"{request.method} {request.path} {request.body[:80]!r} -> {status} {body[:200]!r}")
            if headers.get("connection", "").lower() == "close":
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


@pytest.mark.slow
def test_ten_thousand_malformed_requests_get_a_clear_answer() -> None:
    rng = random.Random(SEED)
    requests = [_random_request(rng) for _ in range(REQUESTS)]
    statuses: Counter = Counter()
    bad: list[str] = []
    with serve_in_thread(EmulatorSettings()) as running:
        host, port = running.base_url.removeprefix("http://").split(":")

        async def main() -> None:
            shares = [requests[i::CONNECTIONS] for i in range(CONNECTIONS)]
            await asyncio.gather(*(_worker(host, int(port), share, statuses, bad) for share in shares))

        asyncio.run(main())
    assert sum(statuses.values()) == REQUESTS
    assert bad == [], bad[:5]
    assert {400, 404, 405, 413} <= set(statuses)
