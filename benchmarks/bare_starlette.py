"""The baseline of ``bench_emulator.py``: a bare Starlette app on uvicorn's defaults.

    python benchmarks/bare_starlette.py [--port 0]

One route, createsession's path: it parses the JSON body and answers a canned
success, nothing else (no validation, no state, no signature). It is served the way
the emulator is (uvicorn with its default HTTP parser and event loop, access log off),
so the ratio between the two is what the emulator's own work costs. Prints its URL,
then serves until terminated.
"""

from __future__ import annotations

import argparse
import socket

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PATH = "/v2/ivh/sessionmanager/sessionmanagerservice/createsession"
CANNED = {
    "Header": {"Code": 0, "Message": "success", "RequestID": "00000000-0000-4000-8000-000000000000"},
    "Payload": {"ReqId": "0" * 32, "SessionId": "0" * 32, "SessionStatus": 1},
}


async def createsession(request: Request) -> Response:
    await request.json()
    return JSONResponse(CANNED)


app = Starlette(routes=[Route(PATH, createsession, methods=["POST"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(2048)
    print(f"bare starlette on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="error", access_log=False, lifespan="off")).run(sockets=[sock])


if __name__ == "__main__":
    main()
