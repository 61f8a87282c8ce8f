"""The documented promises, one key and one wording each, so every report names a broken one the same way.

The gate's summary, the proxy's findings and a load run's stats all name a broken promise
by :func:`broken`, which reads
``broken promise [reqid-echoed]: Payload.ReqId echoes the request's ReqId``; the project's
own tests look for that wording. A promise is data (key → words); which promises a message
kind is judged on is the judge's (:mod:`ivhsuite.contract.judge`), so another transport (the
WebSocket command channel) adds its promises here and a judge function of its own.

>>> broken("reqid-echoed", "got 'abc'")
"broken promise [reqid-echoed]: Payload.ReqId echoes the request's ReqId — got 'abc'"
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PROMISES: dict[str, str] = {
    "auth": "a request with a bad signature, a timestamp older than 5 minutes or no appkey is refused",
    "boundaries": "every documented boundary is refused just outside and accepted just inside",
    "close-frees-slot": "closesession frees the session's concurrency slot",
    "command-after-start": "a drive command on a session that was never started is refused (110016)",
    "command-rate": "texts less than 1 s apart are refused (100012)",
    "css-withholds-play-addr": "with CssCustomPushUrl, neither create operation returns PlayStreamAddr",
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

# The WebSocket command channel (judged by ivhsuite.contract.channel).
CHANNEL_PROMISES: dict[str, str] = {
    "channel-after-start": "a channel opens once startsession succeeded, and is refused before it,"
    " for a SessionId that is not live and with a bad signature",
    "channel-audio-driver": "SEND_AUDIO on a DriverType 1 session is refused",
    "channel-audio-server-final": "a sequence without a final packet ends with AudioOver FinalType 2 within StreamMaxInterval",
    "channel-audio-statuses": "an audio sequence gets AudioStart, then AudioOver FinalType 1 after its final packet",
    "channel-closed-with-session": "the channel closes when its session is closed or preempted",
    "channel-heartbeat": "SEND_HEARTBEAT is taken without an error and the channel stays open",
    "channel-message-schema": "every downstream message matches the channel's AsyncAPI schema",
    "channel-refusal-documented": "a refusal on the channel carries a documented error code",
    "channel-reqid": "every status message carries the ReqId of the command it answers",
    "channel-text-rate": "texts less than 1 s apart on the channel are refused",
    "channel-text-statuses": "a text gets TextStart, then TextOver, carrying its ReqId",
}
PROMISES.update(CHANNEL_PROMISES)

_KEY = re.compile(r"broken promise \[(?P<key>[a-z-]+)\]")


def broken(key: str, detail: str = "") -> str:
    """The first line of a failure message: which promise, then what was seen."""
    text = f"broken promise [{key}]: {PROMISES[key]}"
    return f"{text} — {detail}" if detail else text


def keys_in(text: str) -> list[str]:
    """Every promise key a failure text names, in order, without repeats."""
    return list(dict.fromkeys(m["key"] for m in _KEY.finditer(text) if m["key"] in PROMISES))


@dataclass(frozen=True)
class Issue:
    """One broken promise: its key and what was seen. ``str()`` is the one wording (:func:`broken`)."""

    promise: str
    detail: str = ""

    def __str__(self) -> str:
        return broken(self.promise, self.detail)
