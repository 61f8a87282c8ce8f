"""Judging answers: contract, ReqId echo, codes; and a schema violation exactly when the spec says so."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ivhsuite.load.validation import ResponseChecker
from ivhsuite.spec import load_spec

CHECKER = ResponseChecker()
REQ = "0123456789abcdef0123456789abcdef"


def answer(code: int = 0, payload: Any = None, message: str = "success") -> bytes:
    body: dict[str, Any] = {"Header": {"Code": code, "Message": message, "RequestID": "r-1"}}
    if payload is not None:
        body["Payload"] = payload
    return json.dumps(body).encode()


STAT_OK = {"ReqId": REQ, "SessionStatus": 1, "SpeakStatus": "TextOver", "IsSessionStarted": False}


def test_a_good_answer_is_ok() -> None:
    outcome = CHECKER.check("statsession", 200, answer(payload=STAT_OK), REQ)
    assert outcome.ok and outcome.violations == [] and outcome.payload == STAT_OK


def test_a_schema_break_is_a_violation_naming_the_field_not_a_failure() -> None:
    payload = {k: v for k, v in STAT_OK.items() if k != "IsSessionStarted"}
    outcome = CHECKER.check("statsession", 200, answer(payload=payload), REQ)
    assert outcome.failure is None
    assert len(outcome.violations) == 1 and "IsSessionStarted" in outcome.violations[0]


def test_reqid_not_echoed_is_a_violation() -> None:
    outcome = CHECKER.check("closesession", 200, answer(payload={"ReqId": "f" * 32}), REQ)
    assert outcome.violations == ["broken promise [reqid-echoed]: Payload.ReqId echoes the request's ReqId"]


def test_environmental_codes_are_counted_not_failed() -> None:
    outcome = CHECKER.check("createsession", 200, answer(100008, {}, "over quota"), REQ)
    assert outcome.environmental == 100008 and outcome.failure is None and not outcome.ok


def test_a_busy_refusal_with_a_4xx_is_still_environmental() -> None:
    outcome = CHECKER.check("command", 429, answer(100012, {}, "too frequent"), REQ)
    assert outcome.environmental == 100012 and outcome.failure is None


@pytest.mark.parametrize(
    ("status", "code", "busy"),
    [(429, 100008, True), (400, -101001, True), (400, 100001, False), (403, 100005, False), (404, 110018, False)],
    ids=["over-quota-429", "no-compute-400", "bad-parameter-400", "not-authorized-403", "unknown-session-404"],
)
def test_only_a_busy_code_makes_a_4xx_environmental(status: int, code: int, busy: bool) -> None:
    """A load run against an endpoint that refuses everything must not read its refusals as "busy"."""
    outcome = CHECKER.check("createsession", status, answer(code, {}, "no"), REQ)
    assert (outcome.environmental == code) == busy
    assert (outcome.failure == f"HTTP {status}: {code} no") == (not busy)


def test_unexpected_codes_fail_and_expected_ones_do_not() -> None:
    body = answer(110022, {"ReqId": REQ}, "preempted")
    assert CHECKER.check("closesession", 200, body, REQ).failure == "code 110022: preempted"
    assert CHECKER.check("closesession", 200, body, REQ, expected_codes={110022}).failure is None


@pytest.mark.parametrize(
    "status, content, error, failure",
    [
        (0, None, "ConnectionRefusedError: refused", "no answer: ConnectionRefusedError: refused"),
        (
            500,
            answer(-101000, {}, "internal error"),
            None,
            "broken promise [no-server-error]: the endpoint never answers 5xx — HTTP 500: -101000 internal error",
        ),
        (400, b"oops", None, "HTTP 400"),
        (200, b"<html>", None, "HTTP 200, body is not JSON"),
        (200, b'{"Header": {}}', None, "no integer Header.Code in the answer"),
    ],
    ids=["transport", "5xx", "4xx", "not-json", "no-code"],
)
def test_failures(status: int, content: bytes | None, error: str | None, failure: str) -> None:
    assert CHECKER.check("statsession", status, content, REQ, transport_error=error).failure == failure


SAMPLES = {
    "createsession": [
        {"ReqId": REQ, "SessionId": "s", "SessionStatus": 3},
        {"ReqId": REQ, "SessionId": "s", "SessionStatus": 2},
        {"ReqId": REQ, "SessionId": "s"},
    ],
    "statsession": [STAT_OK, {**STAT_OK, "SessionStatus": 9}, {**STAT_OK, "ReqId": "short"}],
    "listsessionofprojectid": [
        {
            "ReqId": REQ,
            "Sessions": [
                {"UserId": "u", "SessionId": "s", "SessionStatus": 1, "DriverType": 1, "IsSessionStarted": True}
            ],
        },
        {
            "ReqId": REQ,
            "Sessions": [
                {"UserId": "u", "SessionId": "s", "SessionStatus": 1, "DriverType": 2, "IsSessionStarted": True}
            ],
        },
        {"ReqId": REQ},
    ],
    "command": [{"ReqId": REQ}, {}],
}


@pytest.mark.parametrize("operation", sorted(SAMPLES), ids=sorted(SAMPLES))
def test_schema_violations_agree_with_the_spec(operation: str) -> None:
    spec_check = load_spec().operation(operation).response
    bodies = [json.loads(answer(payload=p)) for p in SAMPLES[operation]]
    bodies += [json.loads(answer(110018, {}, "no such session")), {"Header": {"Code": "0"}}, {"Payload": {}}]
    verdicts = set()
    for body in bodies:
        outcome = CHECKER.check(operation, 200, json.dumps(body).encode(), REQ)
        schema_findings = [v for v in outcome.violations if "[reqid-echoed]" not in v]
        assert (schema_findings == []) == spec_check.is_valid(body), body
        verdicts.add(spec_check.is_valid(body))
    assert verdicts == {True, False}  # the samples hold both good and broken answers
