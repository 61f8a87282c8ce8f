"""The end-of-run sweep: no session of this run may stay live.

Every user closes its own sessions when it stops; this sweep is the check and the
safety net behind that (a create cut short by the stop, a worker that died). It lists
the project's sessions, waits ``settle`` seconds for owners still closing theirs, then
closes what is left itself, and reports what it saw. Every real session is a paid stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ivhsuite.client import GONE_CODES, IvhClient
from ivhsuite.config import Target
from ivhsuite.errors import ApiError, IvhsuiteError
from ivhsuite.load.preemption import live_sessions

log = logging.getLogger("ivhsuite")

DEFAULT_TIMEOUT = 20.0
POLL_INTERVAL = 0.5


@dataclass
class SweepResult:
    closed: list[str] = field(default_factory=list)  # left live by the users, closed by the sweep
    left: list[str] | None = None  # still live at the end; None when the listing failed
    error: str = ""

    @property
    def clean(self) -> bool:
        return self.left == []


def sweep(
    target: Target,
    prefix: str,
    *,
    settle: float = 0.0,
    timeout: float = DEFAULT_TIMEOUT,
    client_factory: Callable[[Target], IvhClient] = IvhClient,
    sleep: Callable[[float], None] = time.sleep,
) -> SweepResult:
    """List this run's live sessions (UserId starting with ``prefix``) until there are none."""
    result = SweepResult()
    start = time.monotonic()
    with client_factory(target) as ivh:
        while True:
            try:
                live = live_sessions(ivh.list_sessions(target.project_id), prefix)
            except IvhsuiteError as exc:
                result.error = str(exc)
                return result
            ids = [str(s["SessionId"]) for s in live]
            elapsed = time.monotonic() - start
            if not ids or elapsed >= timeout:
                result.left = ids
                return result
            if elapsed >= settle:
                for session_id in ids:
                    _close(ivh, session_id)
                    if session_id not in result.closed:
                        result.closed.append(session_id)
            sleep(POLL_INTERVAL)


def _close(ivh: IvhClient, session_id: str) -> None:
    try:
        ivh.close_session(session_id)
    except ApiError as exc:
        if exc.code not in GONE_CODES:
            log.warning("cleanup: could not close session %s: %s", session_id, exc)
    except IvhsuiteError as exc:
        log.warning("cleanup: could not close session %s: %s", session_id, exc)
