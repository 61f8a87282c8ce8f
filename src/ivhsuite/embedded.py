"""The target of a run: the configured endpoint, or the embedded emulator when none is set.

The one place that decides "no base URL → start the emulator" and how each command hosts it
(:data:`HOSTING`): with what quota, how long a cold session prepares, and where it runs.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from ivhsuite.config import Target

log = logging.getLogger("ivhsuite")
# How long a cold session of an emulator a command started stays preparing (status 3): long
# enough for a client to see status 3, short enough for a quick run.
PREPARE_SECONDS = 1.0


@dataclass(frozen=True)
class Hosting:
    """How a command hosts the emulator it starts when no base URL is set.

    ``where``: ``thread`` (uvicorn on a thread of this process, :func:`endpoint`), ``asgi``
    (in-process, reached through httpx's ASGI transport: the proxy), ``child`` (a process of its
    own: gevent, which locust patches in, and uvicorn do not share a process).
    """

    quota: int
    where: str
    prepare_seconds: float = PREPARE_SECONDS
    channel_time_scale: float = 1.0  # the command channel's speaking time and StreamMaxInterval, scaled


HOSTING = {
    # a real project's quota is never assumed; the gate's own emulator has a small one, reached fast
    # the gate's channel scenarios wait on speaking time and StreamMaxInterval: a tenth of them is plenty
    "gate": Hosting(quota=5, where="thread", channel_time_scale=0.1),
    "verify": Hosting(quota=10, where="thread"),
    "proxy": Hosting(quota=10, where="asgi"),
    "load": Hosting(quota=200, where="child"),  # enough for every user of a load run
}


@contextmanager
def endpoint(target: Target, **emulator_settings: object) -> Iterator[Target]:
    """Yield ``target`` unchanged when it has a base URL; else start the emulator for the block.

    The emulator serves the target's project id and enforces the signature: with the
    target's credentials when they are set, else with a random pair made for this run
    (never printed), so the signature rules are checked on a default run too.
    """
    if target.base_url:
        yield target
        return
    from ivhsuite.emulator import EmulatorSettings, serve_in_thread

    if not target.signed:
        target = own_credentials(target)
    settings = EmulatorSettings(
        project_ids=(target.project_id,),
        appkey=target.appkey,
        access_token=target.access_token,
        mode=target.mode,
        **emulator_settings,  # type: ignore[arg-type]
    )
    with serve_in_thread(settings) as running:
        log.warning("no base URL set (IVH_BASE_URL): started the embedded emulator at %s", running.base_url)
        yield target.with_base_url(running.base_url)


def own_credentials(target: Target) -> Target:
    """``target`` with a fresh appkey and access token: only this run's emulator and client know them."""
    return replace(target, appkey=f"ivhsuite-{secrets.token_hex(4)}", access_token=secrets.token_urlsafe(24))
