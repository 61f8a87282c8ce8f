"""The documented promises the gate checks, one key each, so every failure names the one it breaks.

A failure message starts with :func:`broken`, which reads
``broken promise [reqid-echoed]: Payload.ReqId echoes the request's ReqId``; the gate's
summary, ``failures.txt`` and the project's own tests all look for that wording.

>>> broken("reqid-echoed", "got 'abc'")
"broken promise [reqid-echoed]: Payload.ReqId echoes the request's ReqId — got 'abc'"
"""

from __future__ import annotations

import re

PROMISES: dict[str, str] = {
    "auth": "a request with a bad signature, a timestamp older than 5 minutes or no appkey is refused",
    "boundaries": "every documented boundary is refused just outside and accepted just inside",
    "close-frees-slot": "closesession frees the session's concurrency slot",
    "command-after-start": "a drive command on a session that was never started is refused (110016)",
    "command-rate": "texts less than 1 s apart are refused (100012)",
    "css-withholds-play-addr": "with CssCustomPushUrl, createsession does not return PlayStreamAddr",
    "external-trtc-fields": "TrtcUseExternalApp true without TrtcAppId, TrtcUserSig and TrtcPrivateMapKey is refused",
    "json-content-type": "answers are JSON (Content-Type application/json)",
    "lifecycle": "create, poll until ready, start, send a text, close: each step succeeds and the session ends closed",
    "listed": "listsessionofprojectid lists every live session of the project",
    "negative-rejected": "a request that breaks the spec is refused (a non-zero Header.Code or a 4xx)",
    "no-server-error": "the endpoint never answers 5xx",
    "positive-accepted": "a valid request is accepted (Header.Code 0, or an environmental or session-state code)",
    "preemption": "a new session with the same UserId closes the previous one, and only one stays live",
    "quota": "sessions beyond the project's concurrency quota are refused (100008 or 100014)",
    "reqid-echoed": "Payload.ReqId echoes the request's ReqId",
    "response-schema": "every answer matches the spec's schema for its operation and outcome",
    "start-after-ready": "startsession is refused while the session is still preparing (status 3)",
    "status-documented": "every HTTP status is one the spec documents (200, or a 4xx refusal)",
    "unknown-session": "an unknown SessionId is refused (110018)",
}

# schemathesis's own checks that stay on, and the promise each one guards.
STOCK_CHECKS: dict[str, str] = {
    "response_headers_conformance": "response-schema",
}

_KEY = re.compile(r"broken promise \[(?P<key>[a-z-]+)\]")


def broken(key: str, detail: str = "") -> str:
    """The first line of a failure message: which promise, then what was seen."""
    text = f"broken promise [{key}]: {PROMISES[key]}"
    return f"{text} — {detail}" if detail else text


def keys_in(text: str) -> list[str]:
    """Every promise key a failure text names, in order, without repeats."""
    return list(dict.fromkeys(m["key"] for m in _KEY.finditer(text) if m["key"] in PROMISES))


def promise_of_check(check_name: str) -> str | None:
    """The promise a schemathesis check guards: ours carry the key in their name."""
    if check_name in STOCK_CHECKS:
        return STOCK_CHECKS[check_name]
    key = check_name.removeprefix("ivh_").replace("_", "-")
    return key if key in PROMISES else None
