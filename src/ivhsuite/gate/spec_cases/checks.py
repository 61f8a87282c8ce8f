"""The gate's contract checks: schemathesis's registry over the one judge (:mod:`ivhsuite.contract.judge`).

Each check reads schemathesis's ``Case`` and ``Response`` into an
:class:`~ivhsuite.contract.judge.Exchange`, asks the judge about its one promise, notes what
the judge allowed but observed in the run, and raises :class:`BrokenPromise` for the first
issue. What a request must get is the judge's: judged on the body actually sent (after
shaping), never on schemathesis's label alone; schemathesis's label only says whether the
rest (method, media type, generation mode) was meant valid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

import schemathesis
from schemathesis.core.failures import Failure, Severity

from ivhsuite.contract import Exchange, Judge, broken
from ivhsuite.contract.judge import JSON_TYPES
from ivhsuite.gate.context import current
from ivhsuite.gate.network import BUDGET_CUT, unanswered
from ivhsuite.protocol import Answer
from ivhsuite.spec import Operation, Spec, load_spec

if TYPE_CHECKING:
    from schemathesis import Case, CheckContext, Response

Expectation = Literal["accept", "reject", "any"]


class BrokenPromise(Failure):
    """A documented promise the endpoint broke; one finding per promise and operation."""

    code: ClassVar[str] = "ST901"
    kind_title: ClassVar[str] = "Broken promise"
    __slots__ = ("promise",)

    def __init__(self, *, operation: str, promise: str, detail: str, case_id: str | None = None) -> None:
        super().__init__(
            operation=operation,
            title=f"Broken promise [{promise}]",
            message=broken(promise, detail),
            case_id=case_id,
            severity=Severity.HIGH,
        )
        self.promise = promise

    @property
    def _unique_key(self) -> str:
        return self.promise


def spec() -> Spec:
    run = current()
    return run.spec if run is not None else load_spec()


def operation_of(case: Case) -> Operation | None:
    return spec().by_path(case.operation.path)


def body_positive(case: Case) -> bool:
    """Whether schemathesis meant every part of the case to be valid."""
    meta = case.meta
    if meta is None:
        return True
    if not meta.generation.mode.is_positive:
        return False
    return not any(info.mode.is_negative for info in meta.components.values())


def documented_method(case: Case) -> bool:
    """Every call is POST; what any other method gets is undocumented, so only "no 5xx" applies to it."""
    return case.method.upper() == "POST"


def _body(case: Case) -> Any:
    body = case.body
    return body if isinstance(body, (dict, list, str, int, float, bool)) or body is None else None


def answer(response: Response) -> Answer:
    """The answer, read once the way the API means it (:class:`ivhsuite.protocol.Answer`)."""
    return Answer.read(response.status_code, response.content)


def meant_valid(case: Case) -> bool:
    """Whether all but the body was meant valid: POST, a JSON media type, a positive case."""
    well_formed = documented_method(case) and (case.media_type or "application/json") in JSON_TYPES
    return well_formed and body_positive(case)


def may_create(case: Case) -> bool:
    """Whether a plausible endpoint may make a session of this create: anything but a JSON POST the judge
    says must be refused (another method or media type is the endpoint's to read as it likes)."""
    op = operation_of(case)
    well_formed = documented_method(case) and (case.media_type or "application/json") in JSON_TYPES
    return op is None or not well_formed or Judge(spec()).may_accept(op, _body(case))


def exchange(case: Case, response: Response) -> Exchange:
    """The case as sent and its answer, as the judge reads them."""
    op = operation_of(case)
    body = _body(case)
    content_type = (response.headers.get("content-type") or [""])[0]
    return Exchange(
        operation=op,
        method=case.method,
        sent=body,
        sent_valid=op is None or op.request.is_valid(body),
        meant_valid=meant_valid(case),
        status=response.status_code,
        content_type=content_type,
        answer=answer(response),
    )


def expectation(case: Case) -> Expectation:
    op = operation_of(case)
    if op is None:
        return "any"
    if not op.request.is_valid(_body(case)):
        return "reject"
    return "accept" if meant_valid(case) else "any"


def _judge(promise: str, case: Case, response: Response) -> None:
    """Ask the judge about one promise; note what it observed, raise what it found broken."""
    if unanswered(response) == BUDGET_CUT:
        return  # a create the session budget did not send: no answer to judge
    run = current()
    judge = Judge(spec(), coverage=run.coverage if run is not None else None)
    judgement = judge.promise(promise, exchange(case, response))
    if run is not None:
        for key, detail in judgement.observations.items():
            run.observe(key, detail)
    if judgement.issues:
        issue = judgement.issues[0]
        raise BrokenPromise(operation=case.operation.label, promise=issue.promise, detail=issue.detail, case_id=case.id)


@schemathesis.check
def ivh_positive_accepted(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    _judge("positive-accepted", case, response)
    return None


@schemathesis.check
def ivh_negative_rejected(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    _judge("negative-rejected", case, response)
    return None


@schemathesis.check
def ivh_reqid_echoed(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    _judge("reqid-echoed", case, response)
    return None


@schemathesis.check
def ivh_response_schema(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    _judge("response-schema", case, response)
    return None


@schemathesis.check
def ivh_json_content_type(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    _judge("json-content-type", case, response)
    return None


@schemathesis.check
def ivh_no_server_error(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Never a 5xx of the endpoint's own: a gateway's 502-504 is environmental, a 501 to an undocumented method is allowed."""
    _judge("no-server-error", case, response)
    return None


@schemathesis.check
def ivh_status_documented(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    _judge("status-documented", case, response)
    return None


@schemathesis.check
def ivh_css_withholds_play_addr(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    _judge("css-withholds-play-addr", case, response)
    return None


CHECKS = (
    ivh_no_server_error,
    ivh_positive_accepted,
    ivh_negative_rejected,
    ivh_reqid_echoed,
    ivh_response_schema,
    ivh_json_content_type,
    ivh_status_documented,
    ivh_css_withholds_play_addr,
)
