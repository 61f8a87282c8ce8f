"""The baseline of ``bench_channel.py``: a bare Starlette WebSocket echo on uvicorn.

    python benchmarks/bare_ws_echo.py [--port 0]

One WebSocket route on the command channel's path: it accepts every connection and sends
each text message back, nothing else (no signature, no parsing, no state). It is served
the way the emulator serves its channel (uvicorn, the same WebSocket implementation, no
pings), so the ratio between the two is what the emulator's own work costs. Prints its
URL, then serves until terminated.
"""

from __future__ import annotations

import argparse
import socket

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

PATH = "/v2/ws/ivh/interactdriver/interactdriverservice/commandchannel"


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute(PATH, echo)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(4096)
    print(f"bare websocket echo on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(
        app, log_level="error", access_log=False, lifespan="off", ws="websockets-sansio", ws_ping_interval=None
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
