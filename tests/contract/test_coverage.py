"""What a run covered: the judge counts each promise it applied, per operation, and each it found broken.

A promise that does not speak of an answer (``negative-rejected`` of a valid request) is not
counted as checked; the gate's adapter counts into its run's :class:`Coverage`; a promise
checked nowhere takes the observation that says why.
"""

from __future__ import annotations

from ivhsuite.contract import Exchange, Judge
from ivhsuite.contract.coverage import Coverage
from ivhsuite.gate.context import RunContext
from ivhsuite.gate.summary import promise_rows
from ivhsuite.protocol import Answer

from .test_one_judge import CREATE, CREATED, SPEC, content, gate_names

HELD = {"no-server-error", "status-documented", "json-content-type", "response-schema", "positive-accepted"}


def exchange(payload: dict[str, object], sent: dict[str, object] = CREATE) -> Exchange:
    body = content(0, payload)
    return Exchange(
        SPEC.operation("createsession"),
        "POST",
        {"Header": {}, "Payload": sent},
        True,
        True,
        200,
        "application/json",
        Answer.read(200, body),
    )


def test_the_judge_counts_what_applied_and_what_broke() -> None:
    seen = Coverage()
    judge = Judge(SPEC, coverage=seen)
    kept = judge(exchange(CREATED))
    assert set(kept.checked) == HELD | {"reqid-echoed"}, "negative-rejected and the CSS promise do not apply"
    judge(exchange({**CREATED, "ReqId": "f" * 32}))
    counts = {(p, op): (n, failed) for p, op, n, failed in seen.counts()}
    assert counts[("reqid-echoed", "createsession")] == (2, 1)
    assert counts[("positive-accepted", "createsession")] == (2, 0)
    assert ("negative-rejected", "createsession") not in counts


def test_the_gate_counts_into_its_run(run: RunContext) -> None:
    assert gate_names("createsession", CREATE, 200, content(0, {**CREATED, "ReqId": "f" * 32})) != []
    counts = {(p, op): (n, failed) for p, op, n, failed in run.coverage.counts()}
    assert counts[("reqid-echoed", "createsession")] == (1, 1)
    assert counts[("response-schema", "createsession")] == (1, 0)


def test_a_promise_checked_nowhere_says_why() -> None:
    observations = {
        "quota-not-checked": "quota not checked: pass --quota (or IVH_QUOTA) to check the quota promise",
        "not-run:contract_tests/test_auth.py::test_bad_signature_refused": (
            "contract_tests/test_auth.py::test_bad_signature_refused could not run: no credentials"
        ),
    }
    rows = {row.promise: row for row in promise_rows([("reqid-echoed", "statsession", 3, 0)], observations)}
    assert rows["reqid-echoed"].checked == {"statsession": 3} and rows["reqid-echoed"].why_not == ""
    assert rows["quota"].why_not.startswith("quota not checked")
    assert rows["auth"].why_not == "test_auth.py::test_bad_signature_refused: no credentials"
    assert rows["close-frees-slot"].why_not == "", "no observation names it"


def test_a_refused_invalid_request_counts_negative_rejected_as_held() -> None:
    seen = Coverage()
    invalid = {**CREATE, "Protocol": "RTMP"}
    refused = Exchange(
        SPEC.operation("createsession"),
        "POST",
        {"Header": {}, "Payload": invalid},
        False,
        True,
        200,
        "application/json",
        Answer.read(200, content(100001, {"ReqId": CREATE["ReqId"]})),
    )
    assert "negative-rejected" in Judge(SPEC, coverage=seen)(refused).checked
    assert ("negative-rejected", "createsession", 1, 0) in seen.counts()
