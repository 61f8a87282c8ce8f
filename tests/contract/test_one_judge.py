"""One broken answer, three transports, one name: the gate's check, the proxy and the load user's judge agree.

Each broken answer goes through the gate's schemathesis adapter, the proxy's answer check and
the load run's :class:`~ivhsuite.load.validation.ResponseChecker`; each must name the same
promise key, in the same words (:data:`ivhsuite.contract.PROMISES`).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.core.transport import Response

from ivhsuite.contract import PROMISES, broken, keys_in
from ivhsuite.gate.spec_cases import checks
from ivhsuite.gate.spec_cases.checks import BrokenPromise
from ivhsuite.load.validation import ResponseChecker
from ivhsuite.proxy.answer_checks import check_answer
from ivhsuite.proxy.findings import RULES
from ivhsuite.spec import default_spec_path, load_spec

SPEC = load_spec()
SCHEMA = schemathesis.openapi.from_path(default_spec_path())
REQ_ID = "0123456789abcdef0123456789abcdef"
CREATE = {"ReqId": REQ_ID, "VirtualmanProjectId": "p", "UserId": "u1", "Protocol": "rtmp", "DriverType": 1}
CREATED = {"ReqId": REQ_ID, "SessionId": "s1", "SessionStatus": 1, "PlayStreamAddr": "rtmp://x/live/s1"}

# (what is broken, operation, payload sent, HTTP status, Code, Payload answered, the promise it breaks)
BROKEN: list[tuple[str, str, dict[str, Any], int, int, dict[str, Any], str]] = [
    ("reqid-not-echoed", "createsession", CREATE, 200, 0, {**CREATED, "ReqId": "f" * 32}, "reqid-echoed"),
    ("schema-violation", "createsession", CREATE, 200, 0, {"ReqId": REQ_ID, "SessionId": "s1"}, "response-schema"),
    ("5xx", "createsession", CREATE, 500, -101000, {}, "no-server-error"),
    ("success-to-invalid", "createsession", {**CREATE, "Protocol": "RTMP"}, 200, 0, CREATED, "negative-rejected"),
]


def content(code: int, payload: dict[str, Any]) -> bytes:
    return json.dumps({"Header": {"Code": code, "Message": "m", "RequestID": "r"}, "Payload": payload}).encode()


def gate_names(operation: str, sent: dict[str, Any], status: int, body: bytes) -> list[tuple[str, str]]:
    """(key, words) of every promise the gate's checks call broken, read from their failure message."""
    case = SCHEMA[SPEC.operation(operation).path]["POST"].Case(
        body={"Header": {}, "Payload": sent}, media_type="application/json"
    )
    raw = httpx.Response(
        status, content=body, request=httpx.Request("POST", "http://h/x"), headers={"content-type": "application/json"}
    )
    raw.elapsed = datetime.timedelta(milliseconds=1)
    response = Response.from_any(raw)
    found = []
    for check in checks.CHECKS:
        try:
            check(None, response, case)
        except BrokenPromise as failure:
            assert failure.message.startswith(broken(failure.promise))
            found.append((failure.promise, PROMISES[failure.promise]))
    return found


def proxy_names(operation: str, sent: dict[str, Any], status: int, body: bytes) -> list[tuple[str, str]]:
    """(key, words) of the proxy's endpoint findings: the rule key and the words its report prints."""
    verdict = check_answer(SPEC, SPEC.operation(operation), "POST", {"Payload": sent}, status, "application/json", body)
    return [(rule, RULES[rule].description) for rule, _ in verdict.issues]


def load_names(operation: str, sent: dict[str, Any], status: int, body: bytes) -> list[tuple[str, str]]:
    """(key, words) of the load run's contract violations and failure, as its stats carry them."""
    valid = SPEC.operation(operation).request.is_valid({"Header": {}, "Payload": sent})
    outcome = ResponseChecker(SPEC).check(operation, status, body, REQ_ID, sent_valid=valid)
    found = []
    for text in [*outcome.violations, *([outcome.failure] if outcome.failure else [])]:
        for key in keys_in(text):
            assert text.startswith(broken(key))
            found.append((key, PROMISES[key]))
    return found


@pytest.mark.parametrize(
    ("operation", "sent", "status", "code", "payload", "promise"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_every_transport_names_the_broken_promise_alike(
    run: Any, operation: str, sent: dict[str, Any], status: int, code: int, payload: dict[str, Any], promise: str
) -> None:
    body = content(code, payload)
    expected = [(promise, PROMISES[promise])]
    assert gate_names(operation, sent, status, body) == expected
    assert proxy_names(operation, sent, status, body) == expected
    assert load_names(operation, sent, status, body) == expected


def test_a_faithful_answer_is_clean_everywhere(run: Any) -> None:
    body = content(0, CREATED)
    assert gate_names("createsession", CREATE, 200, body) == []
    assert proxy_names("createsession", CREATE, 200, body) == []
    assert load_names("createsession", CREATE, 200, body) == []
