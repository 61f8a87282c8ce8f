"""The endpoint's answer on its own: the gate's promises, judged on one exchange seen by the proxy.

The gate's checks (:mod:`ivhsuite.gate.checks`) take schemathesis's ``Case`` and read the
gate's run context, which builds a whole gate run (and talks to the endpoint) when
``IVH_BASE_URL`` is set; so the proxy applies the same promises, under the same keys
(:mod:`ivhsuite.gate.promises`) and the same policy on what the docs leave open, as plain
functions of (request sent, answer received):

- a 5xx is a broken promise, except a 502/503/504 that is not the API's JSON envelope:
  a gateway page is the network, not the contract;
- only POST to a documented path is judged; a refusal's (4xx) body is undocumented;
- a request breaking the spec must not get Code 0 (``negative-rejected``);
- a valid request gets Code 0, an environmental code, a session-state code on an operation
  naming a SessionId, or one of :data:`UNJUDGEABLE_CODES` (``positive-accepted``). The gate
  shapes its own requests (its project, its signature); the proxy sees someone else's, so
  it cannot know whether a project id exists or a signature is right;
- a success matches its schema, echoes the ReqId, and withholds PlayStreamAddr when
  CssCustomPushUrl was given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ivhsuite.gate.policy import GATEWAY_STATUSES
from ivhsuite.protocol import Code
from ivhsuite.proxy.request_checks import UNREADABLE, Issue, body_is_valid
from ivhsuite.spec import Operation, Spec

BAD_PARAMETER, NOT_AUTHORIZED = Code.BAD_PARAMETER, Code.NOT_AUTHORIZED
# Codes a faithful endpoint gives a schema-valid request the proxy cannot vouch for: an unknown
# VirtualmanProjectId or a SessionId refused by the public cloud (100001), a wrong signature (100005).
UNJUDGEABLE_CODES = frozenset({BAD_PARAMETER, NOT_AUTHORIZED})
JSON_TYPES = ("application/json",)


@dataclass
class Verdict:
    """What one answer meant: issues against the endpoint, its code, and whether it was environmental."""

    issues: list[Issue] = field(default_factory=list)
    body: dict[str, Any] | None = None
    code: int | None = None
    environmental: str | None = None  # "gateway 502", "code 100008", ... : busy or network, never a finding

    @property
    def payload(self) -> dict[str, Any]:
        payload = self.body.get("Payload") if self.body else None
        return payload if isinstance(payload, dict) else {}


def json_object(content: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


def code_of(body: dict[str, Any] | None) -> int | None:
    header = body.get("Header") if body else None
    code = header.get("Code") if isinstance(header, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _message_of(body: dict[str, Any] | None) -> str:
    header = body.get("Header") if body else None
    return str(header.get("Message", ""))[:200] if isinstance(header, dict) else ""


def allowed_codes(spec: Spec, op: Operation) -> frozenset[int]:
    """Codes a valid request may get without breaking ``positive-accepted``."""
    allowed = {0} | spec.environmental_codes | UNJUDGEABLE_CODES
    if op.takes_session:
        allowed |= spec.session_state_codes
    return frozenset(allowed)


def check_answer(
    spec: Spec,
    op: Operation | None,
    method: str,
    sent: Any,
    status: int,
    content_type: str,
    content: bytes,
    sent_valid: bool | None = None,
) -> Verdict:
    """Judge one answer of the endpoint to the request ``sent`` (parsed, or ``UNREADABLE``).

    ``sent_valid``: whether ``sent`` matches its request schema, when the caller knows it already.
    """
    body = json_object(content)
    verdict = Verdict(body=body, code=code_of(body))
    if status >= 500:
        if status in GATEWAY_STATUSES and verdict.code is None:
            verdict.environmental = f"gateway {status}"
        else:
            detail = f", Code {verdict.code} ({_message_of(body)})" if verdict.code is not None else ""
            verdict.issues.append(("no-server-error", f"HTTP {status}{detail}"))
        return verdict
    if verdict.code in spec.environmental_codes:
        verdict.environmental = f"code {verdict.code}"
    if op is None or method != "POST":
        return verdict  # what an undocumented path or method gets is undocumented
    name = op.operation_id
    valid = sent_valid if sent_valid is not None else body_is_valid(op, sent)
    if status != 200 and not 400 <= status < 500:
        verdict.issues.append(("status-documented", f"HTTP {status}"))
        return verdict
    if 400 <= status < 500:
        if valid and (verdict.code is None or verdict.code == 0 or verdict.code not in allowed_codes(spec, op)):
            what = f"Code {verdict.code}" if verdict.code is not None else "no Header.Code"
            verdict.issues.append(("positive-accepted", f"a valid {name} request got HTTP {status}, {what}"))
        return verdict
    media = content_type.split(";")[0].strip().lower()
    if media not in JSON_TYPES and not media.endswith("+json"):
        verdict.issues.append(("json-content-type", f"Content-Type {content_type or '(none)'!r}"))
    if body is None:
        verdict.issues.append(("json-content-type", "the body is not a JSON object"))
        return verdict
    violation = None if op.response.is_valid(body) else op.response.first_violation(body)
    if violation is not None:
        outcome = "success" if verdict.code == 0 else "error"
        verdict.issues.append(("response-schema", f"{name} {outcome} answer: {str(violation)[:300]}"))
    if verdict.code == 0:
        verdict.issues += _success_promises(name, sent, verdict.payload, valid)
    elif valid and verdict.code is not None and verdict.code not in allowed_codes(spec, op):
        verdict.issues.append(
            ("positive-accepted", f"a valid {name} request got Code {verdict.code} ({_message_of(body)})")
        )
    return verdict


def _success_promises(name: str, sent: Any, payload: dict[str, Any], valid: bool) -> list[Issue]:
    issues: list[Issue] = []
    sent_payload = sent.get("Payload") if isinstance(sent, dict) else None
    sent_payload = sent_payload if isinstance(sent_payload, dict) else {}
    if not valid:
        what = "a body that is not JSON" if sent is UNREADABLE else "a request breaking the spec"
        issues.append(("negative-rejected", f"{name} accepted {what} with Code 0"))
    req_id = sent_payload.get("ReqId")
    if isinstance(req_id, str) and payload.get("ReqId") != req_id:
        issues.append(("reqid-echoed", f"sent ReqId {req_id!r}, Payload.ReqId came back as {payload.get('ReqId')!r}"))
    option = sent_payload.get("ProtocolOption")
    css = isinstance(option, dict) and isinstance(option.get("CssCustomPushUrl"), str)
    if name == "createsession" and css and "PlayStreamAddr" in payload:
        issues.append(("css-withholds-play-addr", "PlayStreamAddr came back although CssCustomPushUrl was sent"))
    return issues
