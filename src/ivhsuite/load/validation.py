"""Judge one answer of the API: contract (spec, ReqId echo), outcome (Code) and busy signals.

Pure and locust-free so it is unit-tested directly; the load user turns an
:class:`Outcome` into locust events. Validators are the spec's, compiled once per process.
It runs on every answer, so it keeps its own hot path (one parse, one schema check) rather
than the contract's judge; what it finds broken it names with the contract's keys and
wording (:class:`ivhsuite.contract.Issue`), with no per-request value in it (the stats
group by message).

>>> checker = ResponseChecker()
>>> checker.check("closesession", 200, b'{"Header": {"Code": 100008, "Message": "busy"}}', "0" * 32).environmental
100008
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from ivhsuite import fastjson
from ivhsuite.contract import Issue
from ivhsuite.protocol import header_code
from ivhsuite.spec import Spec, load_spec

NO_CODES: frozenset[int] = frozenset()
REQID_NOT_ECHOED = str(Issue("reqid-echoed"))


@dataclass(slots=True)
class Outcome:
    """What one answer meant. ``failure`` fails the request; ``violations`` are contract findings."""

    operation: str
    status: int
    code: int | None = None
    message: str = ""
    payload: dict[str, Any] | None = None  # the Payload of a Code 0 answer
    failure: str | None = None
    violations: list[str] = field(default_factory=list)
    environmental: int | None = None
    fault: str | None = None  # no answer after the safe retries: the network's (ivhsuite.retry.Fault.label)

    @property
    def ok(self) -> bool:
        return self.code == 0 and self.payload is not None and self.failure is None


class ResponseChecker:
    """Checks answers against the spec's response schemas, compiled once and shared.

    It runs on every answer of a load run, so it does each thing once: one ``json.loads``,
    one schema check (the spec's, a microsecond on a valid answer), one look at the Header.
    """

    def __init__(self, spec: Spec | None = None) -> None:
        spec = spec or load_spec()
        self._responses = {op.operation_id: op.response for op in spec}
        self.environmental_codes = spec.environmental_codes

    def check(
        self,
        operation: str,
        status: int,
        content: bytes | None,
        sent_reqid: str,
        expected_codes: Collection[int] = NO_CODES,
        transport_error: str | None = None,
        sent_valid: bool = True,
    ) -> Outcome:
        """Judge an answer. ``expected_codes``: non-zero codes this call may meet without failing;
        ``sent_valid``: the request matched the spec (a load user only sends such requests)."""
        outcome = Outcome(operation, status)
        if transport_error is not None or status == 0:
            outcome.failure = f"no answer: {transport_error or 'connection failed'}"
            return outcome
        body = _json(content)
        if status >= 500:
            outcome.failure = str(Issue("no-server-error", f"HTTP {status}{_message_of(body)}"))
            return outcome
        if 400 <= status < 500:
            # The spec allows any body with a refusal; refusing a valid request is still a failure,
            # unless it says "busy" (a rate limit may well come as 429).
            code = header_code(body)
            if code in self.environmental_codes:
                outcome.code = outcome.environmental = code
            else:
                outcome.failure = f"HTTP {status}{_message_of(body)}"
            return outcome
        if body is _NOT_JSON:
            outcome.violations.append(str(Issue("json-content-type", "the body is not a JSON object")))
            outcome.failure = f"HTTP {status}, body is not JSON"
            return outcome
        violation = self._responses[operation].first_violation(body)
        if violation is not None:
            outcome.violations.append(str(Issue("response-schema", str(violation))))
        code = header_code(body)
        if code is None:
            outcome.failure = "no integer Header.Code in the answer"
            return outcome
        outcome.code = code
        outcome.message = str(body["Header"].get("Message", ""))
        if code == 0:
            payload = body.get("Payload")
            if not isinstance(payload, dict):
                outcome.failure = "Code 0 without a Payload object"
                return outcome
            if not sent_valid:
                outcome.violations.append(str(Issue("negative-rejected", f"{operation} accepted it with Code 0")))
            if payload.get("ReqId") != sent_reqid:
                outcome.violations.append(REQID_NOT_ECHOED)
            outcome.payload = payload
        elif code in self.environmental_codes:
            outcome.environmental = code
        elif code not in expected_codes:
            outcome.failure = f"code {code}: {outcome.message or '(no message)'}"
        return outcome


class _NotJson:
    def __repr__(self) -> str:
        return "<not JSON>"


_NOT_JSON: Any = _NotJson()


def _json(content: bytes | None) -> Any:
    if not content:
        return _NOT_JSON
    try:
        return fastjson.loads(content)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


def _message_of(body: Any) -> str:
    header = body.get("Header") if isinstance(body, dict) else None
    if isinstance(header, dict) and header.get("Message"):
        return f": {header.get('Code')} {header['Message']}"
    return ""
