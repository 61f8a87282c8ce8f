"""The IVH protocol's vocabulary, once: Header.Code names, session statuses, exit codes, the answer envelope.

Everything above this module imports these names; nothing restates a number. The codes
are the spec's ``x-error-codes`` (a test holds :class:`Code` and the spec's table equal);
which codes count as environmental or session-state is the spec's to say
(:attr:`ivhsuite.spec.Spec.environmental_codes`), not this module's.

>>> Answer.read(200, b'{"Header": {"Code": 110018, "Message": "gone"}, "Payload": {}}').code == Code.SESSION_NOT_FOUND
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Code(IntEnum):
    """Every documented ``Header.Code`` (the spec's ``x-error-codes``)."""

    OK = 0
    INTERNAL_ERROR = -101000
    NOT_ENOUGH_COMPUTE = -101001
    IMAGE_DOWNLOAD_FAILED = -101002
    STREAM_UPDATE_FAILED = -111001
    STREAM_DROPPED = -111002
    MODEL_LOAD_ERROR = -111003
    STREAM_CREATION_TIMEOUT = -111004
    DRIVE_ERROR = -111005
    BAD_PARAMETER = 100001
    NOT_AUTHORIZED = 100005
    OVER_CONCURRENCY_LIMIT = 100008
    TOO_FREQUENT = 100012
    NO_QUOTA_LEFT = 100014
    ASSET_EXPIRED = 100015
    SESSION_CLOSED = 110013
    SESSION_NOT_READY = 110014
    WRONG_TIME = 110015
    SESSION_NOT_STARTED = 110016
    SESSION_NOT_FOUND = 110018
    TRTC_IN_ARREARS = 110021
    PREEMPTED = 110022


# The session is gone: closing it again, or asking after it, is not a failure of the caller.
GONE_CODES: frozenset[int] = frozenset({Code.SESSION_CLOSED, Code.SESSION_NOT_FOUND, Code.PREEMPTED})
# No free slot or no compute: wait, make room, and try again.
QUOTA_BUSY_CODES: frozenset[int] = frozenset(
    {Code.OVER_CONCURRENCY_LIMIT, Code.NO_QUOTA_LEFT, Code.NOT_ENOUGH_COMPUTE}
)
# A cold session that failed to come up (SessionStatus 4): the platform's trouble, not a contract.
COLD_FAILURE_CODES: frozenset[int] = frozenset(
    {Code.MODEL_LOAD_ERROR, Code.STREAM_CREATION_TIMEOUT, Code.NOT_ENOUGH_COMPUTE}
)


class SessionStatus(IntEnum):
    """``SessionStatus`` of statsession and listsessionofprojectid."""

    READY = 1
    CLOSED = 2
    PREPARING = 3
    FAILED = 4


LIVE_STATUSES: frozenset[int] = frozenset({SessionStatus.READY, SessionStatus.PREPARING})
ENDED_STATUSES: frozenset[int] = frozenset({SessionStatus.CLOSED, SessionStatus.FAILED})


class ExitCode(IntEnum):
    """What every ``ivhsuite`` command exits with (README, "Exit codes")."""

    OK = 0
    FAILED = 1  # a broken promise or a failed threshold
    USAGE = 2  # a usage or configuration problem, or a run that could not judge
    UNSTABLE = 3  # the endpoint was too unstable to judge: too many requests lost to the network
    INTERRUPTED = 130  # SIGINT, after closing every session
    TERMINATED = 143  # SIGTERM, after closing every session


# Which outcome wins when phases disagree, strongest first: a signal stops everything; a broken
# promise or threshold wins over an unstable network; an unstable network over a run that could not judge.
VERDICT_ORDER: tuple[ExitCode, ...] = (
    ExitCode.TERMINATED,
    ExitCode.INTERRUPTED,
    ExitCode.FAILED,
    ExitCode.UNSTABLE,
    ExitCode.USAGE,
    ExitCode.OK,
)
# One word per outcome, as the commands print them.
EXIT_WORDS: dict[ExitCode, str] = {
    ExitCode.OK: "passed",
    ExitCode.FAILED: "FAILED",
    ExitCode.USAGE: "ERROR",
    ExitCode.UNSTABLE: "UNSTABLE",
    ExitCode.INTERRUPTED: "INTERRUPTED",
    ExitCode.TERMINATED: "TERMINATED",
}


def strongest(*codes: int) -> ExitCode:
    """The outcome that wins among ``codes`` (:data:`VERDICT_ORDER`); an unknown code counts as could-not-judge.

    >>> strongest(ExitCode.OK, ExitCode.UNSTABLE, ExitCode.FAILED)
    <ExitCode.FAILED: 1>
    """
    known = {ExitCode(c) if c in ExitCode._value2member_map_ else ExitCode.USAGE for c in codes}
    return next((code for code in VERDICT_ORDER if code in known), ExitCode.OK)


def _int_code(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def header_code(body: Any) -> int | None:
    """``Header.Code`` of a decoded answer when it is an integer, else None (the one reading of it)."""
    header = body.get("Header") if isinstance(body, dict) else None
    return _int_code(header.get("Code")) if isinstance(header, dict) else None


@dataclass(frozen=True)
class Answer:
    """One HTTP answer read the way this API means it: the status, ``Header`` and ``Payload``.

    ``code`` is None when the body carries no integer ``Header.Code`` (HTML, a gateway page,
    a malformed body); ``payload`` is ``{}`` when there is no Payload object.
    """

    status: int
    code: int | None
    message: str = ""
    request_id: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    body: Any = None  # the decoded JSON, or None when the body is not JSON

    @classmethod
    def read(cls, status: int, content: bytes | str | None) -> Answer:
        body = decode(content)
        header = body.get("Header") if isinstance(body, dict) else None
        header = header if isinstance(header, dict) else {}
        payload = body.get("Payload") if isinstance(body, dict) else None
        code = header_code(body)
        message = header.get("Message") if header else None
        if message is None and body is None and content:
            message = (content.decode("utf-8", "replace") if isinstance(content, bytes) else content)[:200]
        return cls(
            status=status,
            code=code,
            message=str(message or ""),
            request_id=str(header.get("RequestID", "") or ""),
            payload=payload if isinstance(payload, dict) else {},
            body=body,
        )

    @property
    def is_json_object(self) -> bool:
        return isinstance(self.body, dict)

    @property
    def ok(self) -> bool:
        """HTTP 200 and Code 0."""
        return self.status == 200 and self.code == Code.OK

    @property
    def rejected(self) -> bool:
        """Refused the documented way: a non-zero Code, or a 4xx."""
        return 400 <= self.status < 500 or (self.status < 500 and self.code not in (None, Code.OK))

    @property
    def busy(self) -> bool:
        return self.code in QUOTA_BUSY_CODES

    @property
    def too_frequent(self) -> bool:
        return self.code == Code.TOO_FREQUENT or self.status == 429

    def __str__(self) -> str:
        code = int(self.code) if self.code is not None else None
        return f"HTTP {self.status}, Code {code} ({self.message[:120]})"


def decode(content: bytes | str | None) -> Any:
    """The JSON value of a body, or None when it is empty or not JSON."""
    if not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
