"""A server that is never the bottleneck: answers every POST with a valid statsession answer.

    python benchmarks/stub_server.py [--port 0]

``bench_load.py`` needs the load generator, not the server, to be what limits a run:
the emulator on the other core cannot outpace a locust core, this can. A bare asyncio
protocol, no framework: it splits pipelined HTTP/1.1 requests by Content-Length, echoes
each request's ``Payload.ReqId`` in a canned answer that matches the spec (checked at
start), and keeps connections open. Prints its URL, then serves until terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket

from ivhsuite.spec import load_spec

REQ_ID = re.compile(rb'"ReqId"\s*:\s*"([^"]*)"')
CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
ANSWER = (
    '{"Header":{"Code":0,"Message":"success","RequestID":"00000000-0000-4000-8000-000000000000"},'
    '"Payload":{"ReqId":"%s","SessionStatus":1,"SpeakStatus":"TextOver","IsSessionStarted":false}}'
)
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"


def answer(req_id: bytes) -> bytes:
    body = (ANSWER % req_id.decode("ascii", "replace")).encode()
    return HEAD % len(body) + body


class Stub(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        out = []
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            length = CONTENT_LENGTH.search(self.buffer, 0, end + 2)
            size = int(length[1]) if length else 0
            if len(self.buffer) < end + 4 + size:
                break
            body = self.buffer[end + 4 : end + 4 + size]
            self.buffer = self.buffer[end + 4 + size :]
            found = REQ_ID.search(body)
            out.append(answer(found[1] if found else b""))
        if out:
            self.transport.write(b"".join(out))


async def serve(sock: socket.socket) -> None:
    server = await asyncio.get_running_loop().create_server(Stub, sock=sock)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    sample = answer(b"0123456789abcdef0123456789abcdef").split(b"\r\n\r\n", 1)[1]
    violation = load_spec().operation("statsession").response.first_violation(json.loads(sample))
    if violation is not None:
        raise SystemExit(f"the canned answer breaks the spec: {violation}")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(1024)
    print(f"stub server on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    asyncio.run(serve(sock))


if __name__ == "__main__":
    main()
