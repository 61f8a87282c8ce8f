"""The target of a run: the configured endpoint, or the embedded emulator when none is set."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from ivhsuite.config import Target

log = logging.getLogger("ivhsuite")


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
