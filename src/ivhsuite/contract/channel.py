"""The command channel's promises, judged from what a client saw: pure, no websockets, no pytest.

A caller (the gate's channel scenarios, a proxy) records the downstream messages of one
channel in order, then asks here; the answers are :class:`~ivhsuite.contract.promises.Issue`
values worded like every other broken promise. Messages are validated against the AsyncAPI
document (:mod:`ivhsuite.channel_spec`); everything the docs leave open (how a refusal is
delivered, close codes, the speaking time, the shape of an error message) passes.

>>> from ivhsuite.channel_spec import load_channel_spec
>>> spec = load_channel_spec()
>>> seen = [status("a" * 32, "TextOver"), status("a" * 32, "TextStart")]
>>> [str(i) for i in drive_issues(spec, seen, "a" * 32, "text")]  # doctest: +ELLIPSIS
['broken promise [channel-text-statuses]: a text gets TextStart, then TextOver, ... TextOver came before TextStart']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ivhsuite.channel_spec import ChannelSpec
from ivhsuite.contract.promises import Issue
from ivhsuite.protocol import Code

STATUS, DRIVE_FAILED = 3, 9  # downstream Type (page 100401)
DOCUMENTED_CODES = frozenset(int(code) for code in Code) - {Code.OK}
# What each drive kind promises: (promise, first status, last status).
DRIVES = {
    "text": ("channel-text-statuses", "TextStart", "TextOver"),
    "audio": ("channel-audio-statuses", "AudioStart", "AudioOver"),
}


def payload_of(message: Any) -> dict[str, Any]:
    payload = message.get("Payload") if isinstance(message, dict) else None
    return payload if isinstance(payload, dict) else {}


def code_of(message: Any) -> int | None:
    """Header.Code of a downstream message, None when it has none (a status may leave it out)."""
    header = message.get("Header") if isinstance(message, dict) else None
    code = header.get("Code") if isinstance(header, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def is_error(message: Any) -> bool:
    """A failed drive: a non-zero Header.Code, Type 9 or SpeakStatus Error (the shape is undocumented)."""
    payload = payload_of(message)
    return bool(code_of(message)) or payload.get("Type") == DRIVE_FAILED or payload.get("SpeakStatus") == "Error"


def status(req_id: str, speak_status: str, **fields: Any) -> dict[str, Any]:
    """A status message as the docs describe it (for examples and tests)."""
    payload = {"Type": STATUS, "SessionId": "s", "ReqId": req_id, "SpeakStatus": speak_status, **fields}
    return {"Header": {"Code": 0, "Message": "success", "RequestID": "r"}, "Payload": payload}


def statuses_of(messages: Iterable[Any], req_id: str) -> list[str]:
    """The SpeakStatus values answering ``req_id``, in the order they came."""
    found = []
    for message in messages:
        payload = payload_of(message)
        if payload.get("ReqId") == req_id and isinstance(payload.get("SpeakStatus"), str):
            found.append(payload["SpeakStatus"])
    return found


def message_issues(spec: ChannelSpec, message: Any) -> list[Issue]:
    """One downstream message on its own: it matches the document; an error carries a documented code."""
    issues = []
    violation = spec.downstream_violation(message)
    if violation is not None:
        issues.append(Issue("channel-message-schema", f"{violation.field}: {violation.message}"))
    code = code_of(message)
    if code and code not in DOCUMENTED_CODES:
        issues.append(Issue("channel-refusal-documented", f"Header.Code {code} is in no documented table"))
    return issues


def reqid_issues(messages: Iterable[Any], sent: Iterable[str]) -> list[Issue]:
    """Statuses carry the ReqId of the command they answer: never one the client did not send."""
    known = set(sent)
    strays = []
    for message in messages:
        payload = payload_of(message)
        req_id = payload.get("ReqId")
        if payload.get("Type") == STATUS and req_id not in known and req_id not in (None, ""):
            strays.append(f"{payload.get('SpeakStatus')} with ReqId {req_id!r}")
    if not strays:
        return []
    return [Issue("channel-reqid", f"statuses for ReqIds never sent: {', '.join(strays[:3])}")]


def drive_promise(spec: ChannelSpec, kind: str, final_type: int | None = None) -> str:
    """The promise a drive of ``kind`` (text, audio) keeps; audio the server must end: its own."""
    if final_type == spec.rules.final_by_server:
        return "channel-audio-server-final"
    return DRIVES[kind][0]


def drive_issues(
    spec: ChannelSpec,
    messages: Sequence[Any],
    req_id: str,
    kind: str,
    *,
    final_type: int | None = None,
    within: str = "",
) -> list[Issue]:
    """A drive (``text`` or ``audio``) got its first status, then its last one, for its ReqId.

    ``final_type``: the FinalType AudioOver must carry (1 when the client sent the final
    packet, 2 when it did not). ``within``: how long the caller waited, for the wording.
    """
    promise, first, last = drive_promise(spec, kind, final_type), DRIVES[kind][1], DRIVES[kind][2]
    seen = statuses_of(messages, req_id)
    errors = [m for m in messages if is_error(m) and payload_of(m).get("ReqId") == req_id]
    if errors:
        header = errors[0].get("Header") or {}
        return [Issue(promise, f"refused: Code {code_of(errors[0])} ({str(header.get('Message', ''))[:120]})")]
    if last not in seen:
        waited = f" within {within}" if within else ""
        return [Issue(promise, f"no {last} for ReqId {req_id}{waited}; statuses seen: {seen or 'none'}")]
    if first not in seen or seen.index(first) > seen.index(last):
        return [Issue(promise, f"{last} came before {first}" if first in seen else f"{last} without {first}")]
    if final_type is not None:
        over = next(
            payload_of(m)
            for m in messages
            if payload_of(m).get("ReqId") == req_id and payload_of(m).get("SpeakStatus") == last
        )
        if over.get("FinalType") != final_type:
            return [Issue(promise, f"AudioOver carried FinalType {over.get('FinalType')!r}, not {final_type}")]
    return []


@dataclass(frozen=True)
class Refused:
    """What came of something the docs say is refused (a handshake, a command).

    ``code``: the code of the error message or refused upgrade, when it carried one;
    ``drove``: the statuses the refused command got all the same; ``closed``: the channel
    was closed after it, or never opened (an upgrade refused with an HTTP status).
    """

    code: int | None = None
    drove: tuple[str, ...] = ()
    closed: bool = False


def refusal_issues(promise: str, what: str, got: Refused, *, codes: frozenset[int] | None = None) -> list[Issue]:
    """A refusal the docs promise: never driven; when a code is given, a documented one.

    ``codes``: the codes that refusal may carry where the docs name them (None: any
    documented code). How it is delivered (refused upgrade, error message, close) is open.
    """
    if got.drove:
        return [Issue(promise, f"{what} was driven all the same: {', '.join(got.drove)}")]
    if got.code is None:
        return []  # a bare refused upgrade or a close: the delivery is undocumented
    if got.code not in DOCUMENTED_CODES:
        return [Issue("channel-refusal-documented", f"{what} was refused with Code {got.code}, in no documented table")]
    if codes is not None and got.code not in codes:
        allowed = ", ".join(str(c) for c in sorted(codes))
        return [Issue(promise, f"{what} was refused with Code {got.code}, not {allowed}")]
    return []


def closed_issues(what: str, *, closed: bool, within: str) -> list[Issue]:
    """A channel ends with its session (closed, or preempted by the same UserId)."""
    if closed:
        return []
    return [Issue("channel-closed-with-session", f"the channel stayed open {within} after {what}")]
