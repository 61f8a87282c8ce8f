"""The endpoint's answer on its own: one call of the contract's judge per exchange the proxy sees.

The promises, their keys and wording, and the policy on what the docs leave open are the
gate's too (:mod:`ivhsuite.contract`); the proxy judges from its own stance
(:data:`ivhsuite.contract.PROXY`): it sees someone else's requests, so it cannot know whether
a project id exists or a signature is right (100001 and 100005 are not held against a
valid request), and a 502-504 is a gateway's only when it is not the API's JSON envelope.
A request to another method than POST is judged on "no 5xx" only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ivhsuite.contract import PROXY, Exchange, Judge
from ivhsuite.contract.policy import is_gateway_answer
from ivhsuite.protocol import Answer
from ivhsuite.proxy.request_checks import Issue, body_is_valid
from ivhsuite.spec import Operation, Spec


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
    answer = Answer.read(status, content)
    body = answer.body if answer.is_json_object else None
    verdict = Verdict(body=body, code=answer.code)
    documented = method == "POST"
    exchange = Exchange(
        operation=op if documented else None,  # what an undocumented method gets is undocumented
        method=method,
        sent=sent,
        sent_valid=sent_valid if sent_valid is not None else body_is_valid(op, sent),
        meant_valid=True,
        status=status,
        content_type=content_type,
        answer=answer,
    )
    judgement = Judge(spec, PROXY)(exchange)
    verdict.issues = [(issue.promise, issue.detail) for issue in judgement.issues]
    if is_gateway_answer(status) and f"gateway-{status}" in judgement.observations:
        verdict.environmental = f"gateway {status}"
    elif status < 500 and answer.code in spec.environmental_codes:
        verdict.environmental = f"code {answer.code}"
    return verdict
