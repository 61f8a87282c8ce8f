"""``/__admin/faults``: read and change the network faults while the emulator runs.

WireMock's admin API is the model: a path no API operation can take, plain JSON, no
signature (the emulator listens on loopback). A load run in locust's web UI can switch
faults on and off mid-run with one ``curl``.

- ``GET /__admin/faults`` → ``{"faults": [...], "seed": N}``
- ``POST /__admin/faults`` with ``[...]`` or ``{"faults": [...], "seed": N}`` replaces the list
  (and re-seeds the dice when a seed is given); a bad fault is a 400 naming it, nothing changes.
- ``DELETE /__admin/faults`` removes every fault.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ivhsuite.emulator.toxics import Toxic, ToxicBox
from ivhsuite.errors import ConfigError

ADMIN_PREFIX = "/__admin/"
FAULTS_PATH = ADMIN_PREFIX + "faults"
MAX_ADMIN_BODY = 1 << 20


def _listing(box: ToxicBox) -> JSONResponse:
    return JSONResponse({"faults": [toxic.describe() for toxic in box.toxics], "seed": box.seed})


def _refused(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


def _parse(raw: bytes) -> tuple[list[Toxic], int | None]:
    try:
        body: Any = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"the body is not JSON: {exc}") from None
    if isinstance(body, dict):
        unknown = sorted(set(body) - {"faults", "seed"})
        if unknown:
            raise ConfigError(f"unknown key(s): {', '.join(unknown)} (expected faults, seed)")
        seed, items = body.get("seed"), body.get("faults", [])
    else:
        seed, items = None, body
    if not isinstance(items, list):
        raise ConfigError('faults must be a list, e.g. [{"kind": "latency", "latency": 200}]')
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ConfigError(f"seed must be an integer, not {seed!r}")
    return [Toxic.of(item) for item in items], seed


async def faults(request: Request) -> Response:
    box: ToxicBox = request.app.state.toxics
    if request.method == "DELETE":
        box.replace(())
    elif request.method == "POST":
        raw = await request.body()
        if len(raw) > MAX_ADMIN_BODY:
            return _refused(f"body larger than {MAX_ADMIN_BODY} bytes")
        try:
            toxics, seed = _parse(raw)
        except ConfigError as exc:
            return _refused(str(exc))
        box.replace(toxics, seed)
    return _listing(box)


ROUTES = [Route(FAULTS_PATH, faults, methods=["GET", "POST", "DELETE"])]
