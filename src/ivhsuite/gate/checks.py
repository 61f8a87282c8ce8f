"""Contract checks for an API that answers business errors as HTTP 200 with a non-zero Header.Code.

What a request must get depends on what it is, judged on the body actually sent (after
shaping), against the spec, never on schemathesis's label alone:

- ``reject``: the body breaks the spec: a non-zero Code or a 4xx;
- ``accept``: the body is valid and nothing else was broken on purpose: Code 0, an
  environmental code (quota busy, too frequent, no compute) or, for an operation on an
  existing SessionId, a session-state code (a random SessionId is legitimately unknown);
- ``any``: something the docs never promised about was broken (a media type, a method):
  only "no 5xx" and the answer's schema apply.

Each check raises :class:`BrokenPromise`, whose message names the promise it guards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

import schemathesis
from schemathesis.core.failures import Failure, Severity

from ivhsuite.gate import policy
from ivhsuite.gate.context import current
from ivhsuite.gate.promises import broken
from ivhsuite.protocol import Answer, Code
from ivhsuite.spec import Operation, Spec, load_spec

if TYPE_CHECKING:
    from schemathesis import Case, CheckContext, Response

Expectation = Literal["accept", "reject", "any"]
JSON_TYPES = ("application/json",)


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


def expectation(case: Case) -> Expectation:
    op = operation_of(case)
    if op is None:
        return "any"
    if not op.request.is_valid(_body(case)):
        return "reject"
    well_formed = documented_method(case) and (case.media_type or "application/json") in JSON_TYPES
    return "accept" if well_formed and body_positive(case) else "any"


def _body(case: Case) -> Any:
    body = case.body
    return body if isinstance(body, (dict, list, str, int, float, bool)) or body is None else None


def answer(response: Response) -> Answer:
    """The answer, read once the way the API means it (:class:`ivhsuite.protocol.Answer`)."""
    return Answer.read(response.status_code, response.content)


def documented_method(case: Case) -> bool:
    """Every call is POST; what any other method gets is undocumented, so only "no 5xx" applies to it."""
    return case.method.upper() == "POST"


def _fail(case: Case, promise: str, detail: str) -> BrokenPromise:
    return BrokenPromise(operation=case.operation.label, promise=promise, detail=detail, case_id=case.id)


def _observe(key: str, detail: str) -> None:
    run = current()
    if run is not None:
        run.observe(key, detail)


def open_edges(op: Operation, case: Case) -> list[str]:
    """The edges the spec leaves open that this case's Payload touches (:mod:`ivhsuite.gate.policy`)."""
    document = spec().document
    schema = {"$ref": "#" + op.payload.pointer}
    return policy.payload_edges(_body(case), schema, document)


def _allowed_codes(op: Operation) -> frozenset[int]:
    document = spec()
    allowed = {0} | document.environmental_codes
    if op.takes_session:
        allowed |= document.session_state_codes
    return frozenset(allowed)


@schemathesis.check
def ivh_positive_accepted(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    op = operation_of(case)
    if op is None or response.status_code >= 500 or expectation(case) != "accept":
        return True
    got = answer(response)
    code = got.code
    refused_4xx = 400 <= response.status_code < 500
    if got.too_frequent:
        return None  # rate limited: environmental, whatever the HTTP status
    edges = open_edges(op, case) if (refused_4xx and code is None) or policy.refusal_tolerated(code) else []
    if edges:
        _observe(
            f"refused-open-edge:{op.operation_id}",
            f"{op.operation_id} refused a valid request at an edge the docs leave open ({', '.join(edges[:3])}):"
            f" HTTP {response.status_code}, Code {code}; allowed",
        )
        return None
    # The HTTP status of a business error is undocumented: a 4xx carrying an allowed code is fine.
    if code is None and refused_4xx:
        raise _fail(case, "positive-accepted", f"a valid {op.operation_id} request got HTTP {response.status_code}")
    if code is not None and (code not in _allowed_codes(op) or (refused_4xx and code == Code.OK)):
        message = got.message[:200]
        raise _fail(
            case,
            "positive-accepted",
            f"a valid {op.operation_id} request got HTTP {response.status_code}, Code {code} ({message})",
        )
    return None


@schemathesis.check
def ivh_negative_rejected(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    op = operation_of(case)
    if op is None or not 200 <= response.status_code < 300 or expectation(case) != "reject":
        return True
    if answer(response).code == Code.OK:
        if op.request.is_valid(policy.strip_nulls(_body(case))):
            _observe(
                f"null-as-absent:{op.operation_id}",
                f"{op.operation_id} accepted null in place of an optional field (read as absent); allowed",
            )
            return None
        violation = op.request.first_violation(_body(case))
        raise _fail(case, "negative-rejected", f"{op.operation_id} accepted a request breaking the spec ({violation})")
    return None


@schemathesis.check
def ivh_reqid_echoed(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    got = answer(response)
    sent = case.body.get("Payload") if isinstance(case.body, dict) else None
    req_id = sent.get("ReqId") if isinstance(sent, dict) else None
    if not documented_method(case) or not got.ok or not isinstance(req_id, str):
        return True
    echoed = got.payload.get("ReqId")
    if echoed != req_id:
        raise _fail(case, "reqid-echoed", f"sent ReqId {req_id!r}, Payload.ReqId came back as {echoed!r}")
    return None


@schemathesis.check
def ivh_response_schema(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    op = operation_of(case)
    got = answer(response)
    if op is None or not documented_method(case) or response.status_code != 200 or not got.is_json_object:
        return True  # a 4xx body is undocumented; a non-JSON 200 is ivh_json_content_type's
    violation = op.response.first_violation(got.body)
    if violation is not None:
        outcome = "success" if got.code == Code.OK else "error"
        raise _fail(case, "response-schema", f"{op.operation_id} {outcome} answer: {violation}")
    return None


@schemathesis.check
def ivh_json_content_type(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    if response.status_code != 200 or not documented_method(case):
        return True  # what comes with a refusal, or with another method, is undocumented
    content_type = (response.headers.get("content-type") or [""])[0]
    media = content_type.split(";")[0].strip().lower()
    if media not in JSON_TYPES and not media.endswith("+json"):
        raise _fail(case, "json-content-type", f"Content-Type {content_type or '(none)'!r}")
    if not answer(response).is_json_object:
        raise _fail(case, "json-content-type", "the body is not a JSON object")
    return None


@schemathesis.check
def ivh_no_server_error(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Never a 5xx of the endpoint's own: a gateway's 502-504 is environmental, a 501 to an undocumented method is allowed."""
    status = response.status_code
    if policy.is_gateway_answer(status):
        _observe(f"gateway-{status}", f"HTTP {status} from a gateway: environmental, not a finding")
        return None
    if policy.is_server_failure(status, documented_method=documented_method(case)):
        raise _fail(case, "no-server-error", f"HTTP {status} ({answer(response).message[:160]})")
    return None


@schemathesis.check
def ivh_status_documented(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    if not documented_method(case) or response.status_code >= 500:
        return True  # 5xx is ivh_no_server_error's
    if response.status_code != 200 and not 400 <= response.status_code < 500:
        raise _fail(case, "status-documented", f"HTTP {response.status_code}")
    return None


@schemathesis.check
def ivh_css_withholds_play_addr(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    op = operation_of(case)
    got = answer(response)
    if op is None or op.operation_id != "createsession" or not got.ok:
        return True
    sent = case.body.get("Payload") if isinstance(case.body, dict) else None
    option = sent.get("ProtocolOption") if isinstance(sent, dict) else None
    if not (isinstance(option, dict) and isinstance(option.get("CssCustomPushUrl"), str)):
        return True
    if "PlayStreamAddr" in got.payload:
        raise _fail(case, "css-withholds-play-addr", "PlayStreamAddr came back although CssCustomPushUrl was sent")
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
