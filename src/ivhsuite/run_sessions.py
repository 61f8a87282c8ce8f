"""The sessions one run created: tracked, closed (already gone is fine), and swept by the run's UserId tag.

Every real session is a paid stream holding a concurrency slot, so whatever a run
creates it must close. The client, the gate and the load users all keep their sessions
in a :class:`RunSessions`; :func:`close_ignoring_gone` is the one rule for a close that
finds the session already gone; :func:`sweep` is the safety net at the end of a run: it
lists the account (listsessionofuin, so sessions created by asset too; the project where
that is not allowed) and closes every live session whose UserId carries the run's tag,
which also catches a session whose create answer was lost on the network.

The tag is the one format every run uses (:func:`run_tag`): ``ivhs-<run id>-`` at the
start of each UserId it creates, the run id being 8 lowercase hex digits (:func:`new_run_id`),
so a UserId of someone else's is unlikely to pass for one.
``ivhsuite sweep`` (:func:`sweep_tagged`) closes what killed runs left behind, and never a
session whose UserId does not carry such a tag.

>>> run_tag("3fa9c1d2")
'ivhs-3fa9c1d2-'
>>> run_id_of("ivhs-3fa9c1d2-l0a1b2"), run_id_of("someone-else")
('3fa9c1d2', None)
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ivhsuite.errors import ApiError, IvhsuiteError
from ivhsuite.protocol import GONE_CODES, LIVE_STATUSES


class SweepingClient(Protocol):
    """What a sweep needs of a client (``ivhsuite.client.IvhClient`` is one): the seam keeps this
    module below the client, which uses it to track what it creates."""

    account_list_refused: bool

    def list_all_sessions(self) -> list[dict[str, Any]]: ...

    def close_session(self, session_id: str) -> dict[str, Any]: ...

log = logging.getLogger("ivhsuite")

SWEEP_TIMEOUT = 20.0
SWEEP_POLL = 0.5
TAG_PREFIX = "ivhs-"
RUN_ID = re.compile(r"[0-9a-f]{8}")
_TAGGED = re.compile(r"ivhs-([0-9a-f]{8})-")


def new_run_id() -> str:
    """A fresh run id: 8 random hex digits."""
    return secrets.token_hex(4)


def run_tag(run_id: str) -> str:
    """The UserId prefix of every session the run ``run_id`` creates."""
    if not RUN_ID.fullmatch(run_id):
        raise ValueError(f"a run id is 8 lowercase hex digits, not {run_id!r}")
    return f"{TAG_PREFIX}{run_id}-"


def run_id_of(user_id: object) -> str | None:
    """The run id a UserId is tagged with, or None when it carries no ivhsuite tag."""
    found = _TAGGED.match(user_id) if isinstance(user_id, str) else None
    return found.group(1) if found else None


class RunSessions:
    """Thread-safe: SessionId → UserId of the sessions still open, and every SessionId ever created."""

    def __init__(self) -> None:
        self._open: dict[str, str] = {}
        self._ever: set[str] = set()
        self._lock = threading.Lock()

    def track(self, session_id: str, user_id: str = "") -> None:
        with self._lock:
            self._open[session_id] = user_id
            self._ever.add(session_id)

    def forget(self, session_id: str) -> None:
        """The session was closed (or is gone): nothing left to close."""
        with self._lock:
            self._open.pop(session_id, None)

    def open_ids(self) -> list[str]:
        with self._lock:
            return list(self._open)

    def is_open(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._open

    def created(self, session_id: str) -> bool:
        """Whether this run ever created ``session_id`` (open or closed since)."""
        with self._lock:
            return session_id in self._ever

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)


def is_live(session: Mapping[str, Any]) -> bool:
    return session.get("SessionStatus") in LIVE_STATUSES


def live_of_run(listed: Iterable[Mapping[str, Any]], prefix: str) -> list[Mapping[str, Any]]:
    """The listed sessions of a run (UserId starts with ``prefix``) that are ready or preparing."""
    return [s for s in listed if str(s.get("UserId", "")).startswith(prefix) and is_live(s)]


def close_failed(session_id: str, exc: BaseException) -> bool:
    """Judge a close that raised: True when the session is gone anyway, else False with a warning."""
    if isinstance(exc, ApiError) and exc.code in GONE_CODES:
        return True
    log.warning("could not close session %s: %s", session_id, exc)
    return False


def close_ignoring_gone(close: Callable[[str], Any], session_id: str) -> bool:
    """Close one session; True when it is closed or already gone, False (with a warning) otherwise."""
    try:
        close(session_id)
    except IvhsuiteError as exc:
        return close_failed(session_id, exc)
    return True


@dataclass
class SweepResult:
    closed: list[str] = field(default_factory=list)  # live sessions of the run the sweep closed itself
    left: list[str] | None = None  # still live at the end; None when the listing failed
    error: str = ""

    @property
    def clean(self) -> bool:
        return self.left == []


def sweep(
    client: SweepingClient,
    prefix: str,
    *,
    settle: float = 0.0,
    timeout: float = SWEEP_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
) -> SweepResult:
    """List the run's live sessions until there are none, closing them once ``settle`` seconds have passed.

    ``settle`` gives owners still closing their own sessions time to do so first.
    """
    result = SweepResult()
    start = time.monotonic()
    while True:
        try:
            live = live_of_run(client.list_all_sessions(), prefix)
        except IvhsuiteError as exc:
            result.error = str(exc)
            return result
        ids = [str(s.get("SessionId")) for s in live if s.get("SessionId")]
        elapsed = time.monotonic() - start
        if not ids or elapsed >= timeout:
            result.left = ids
            return result
        if elapsed >= settle:
            for session_id in ids:
                close_ignoring_gone(client.close_session, session_id)
                if session_id not in result.closed:
                    result.closed.append(session_id)
        sleep(SWEEP_POLL)


@dataclass
class TaggedSweep:
    """What ``ivhsuite sweep`` found and did: live tagged sessions per run id."""

    found: dict[str, list[str]] = field(default_factory=dict)  # run id -> live SessionIds
    closed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # could not be closed (still live or unknown)
    account: bool = True  # listed the whole account (by-asset sessions too), not only the project


def live_tagged(listed: Iterable[Mapping[str, Any]], run_id: str | None = None) -> dict[str, list[str]]:
    """Live sessions carrying an ivhsuite tag, per run id (only ``run_id``'s when given)."""
    found: dict[str, list[str]] = {}
    for session in listed:
        owner = run_id_of(session.get("UserId"))
        if owner is None or (run_id is not None and owner != run_id) or not is_live(session):
            continue
        if session.get("SessionId"):
            found.setdefault(owner, []).append(str(session["SessionId"]))
    return found


def sweep_tagged(client: SweepingClient, run_id: str | None = None, *, dry_run: bool = False) -> TaggedSweep:
    """Close the live sessions of one earlier run (``run_id``) or of every run (None), then list again to confirm.

    Sessions created by asset are found through listsessionofuin; where the endpoint does not
    allow it, only the project is listed (``result.account`` is then False).
    Raises :class:`~ivhsuite.errors.IvhsuiteError` when nothing can be listed.
    """
    result = TaggedSweep(found=live_tagged(client.list_all_sessions(), run_id))
    result.account = not client.account_list_refused
    if dry_run or not result.found:
        return result
    for ids in result.found.values():
        for session_id in ids:
            if close_ignoring_gone(client.close_session, session_id):
                result.closed.append(session_id)
    still = {sid for ids in live_tagged(client.list_all_sessions(), run_id).values() for sid in ids}
    result.failed = sorted(still)
    result.closed = [sid for sid in result.closed if sid not in still]
    return result
