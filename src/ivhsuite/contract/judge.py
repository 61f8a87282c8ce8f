"""One judge of an HTTP answer: the documented promises, applied to a request as sent and its answer.

Pure: no schemathesis, no locust, no Starlette, no run state. Each transport builds an
:class:`Exchange` and asks; the gate's schemathesis checks ask for one promise each
(:meth:`Judge.promise`), the proxy for all of them at once (:meth:`Judge.__call__`), the
load user takes the keys and wording for its own hot path. What the docs leave open is
:mod:`ivhsuite.contract.policy`'s to say; what one caller cannot know is its
:class:`Stance`. Another message kind (the WebSocket command channel) gets a judge function
of its own over the same :class:`~ivhsuite.contract.promises.Issue`.

A request is judged on the body actually sent, never on a label:

- not valid against the spec: it must be refused (``negative-rejected``);
- valid, and everything else about it meant to be (method, media type): it must be
  accepted (``positive-accepted``): Code 0, an environmental code or, on an operation
  naming a SessionId, a session-state code;
- otherwise only "no 5xx" and the answer's schema apply.

>>> from ivhsuite.spec import load_spec
>>> spec = load_spec()
>>> sent = {"Payload": {"ReqId": "a" * 32, "SessionId": "s"}}
>>> got = Answer.read(200, '{"Header": {"Code": 0, "Message": "", "RequestID": "r"}, "Payload": {"ReqId": "%s"}}' % ("b" * 32))
>>> exchange = Exchange(spec.operation("closesession"), "POST", sent, True, True, 200, "application/json", got)
>>> [str(issue) for issue in Judge(spec)(exchange).issues]  # doctest: +ELLIPSIS
["broken promise [reqid-echoed]: Payload.ReqId echoes the request's ReqId — sent ReqId 'aaa...', Payload.ReqId came back as 'bbb...'"]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ivhsuite.contract import policy
from ivhsuite.contract.coverage import Coverage
from ivhsuite.contract.promises import Issue
from ivhsuite.protocol import Answer, Code
from ivhsuite.spec import Operation, Spec

JSON_TYPES = ("application/json",)
DOCUMENTED_METHOD = "POST"
UNDOCUMENTED = "(undocumented path)"  # the operation a coverage count names for a path the spec lacks


class _Unreadable:
    def __repr__(self) -> str:
        return "<not JSON>"


UNREADABLE: Any = _Unreadable()  # a request body that was not JSON


@dataclass(frozen=True)
class Stance:
    """What a caller cannot vouch for, and so may not call broken.

    ``unjudgeable``: codes a valid request may get because the caller did not shape it (the
    proxy sees an application's project id and signature: 100001 or 100005 may be right).
    ``gateway_page_only``: a 502-504 is a gateway's only when it carries no Header.Code
    (the proxy sees single calls, no retry can tell a gateway from the endpoint).
    """

    unjudgeable: frozenset[int] = frozenset()
    gateway_page_only: bool = False


GATE = Stance()
PROXY = Stance(unjudgeable=frozenset({Code.BAD_PARAMETER, Code.NOT_AUTHORIZED}), gateway_page_only=True)


@dataclass(frozen=True)
class Exchange:
    """One request as sent and its answer: everything the judge reads."""

    operation: Operation | None  # None: an undocumented path, where only "no 5xx" applies
    method: str
    sent: Any  # the decoded request body, or UNREADABLE
    sent_valid: bool  # the body matches the operation's request schema
    meant_valid: bool  # nothing else about the request was broken on purpose (method, media type)
    status: int
    content_type: str
    answer: Answer

    @property
    def documented_method(self) -> bool:
        return self.method.upper() == DOCUMENTED_METHOD

    @property
    def sent_payload(self) -> dict[str, Any]:
        payload = self.sent.get("Payload") if isinstance(self.sent, dict) else None
        return payload if isinstance(payload, dict) else {}


@dataclass
class Judgement:
    """Broken promises, and what was allowed but worth noting (``observations``: key → detail)."""

    issues: list[Issue] = field(default_factory=list)
    observations: dict[str, str] = field(default_factory=dict)
    checked: list[str] = field(default_factory=list)  # the promises that applied to the exchange, broken or kept


Rule = Callable[["Judge", Exchange, Judgement], bool]  # True: the promise applied to this exchange


class Judge:
    """The promises of one HTTP answer, judged against ``spec`` from the caller's :class:`Stance`."""

    def __init__(self, spec: Spec, stance: Stance = GATE, coverage: Coverage | None = None) -> None:
        self.spec = spec
        self.stance = stance
        self.coverage = coverage  # where a run counts what was checked (the gate's report); None: not counted

    def __call__(self, exchange: Exchange) -> Judgement:
        return self._judge(RULES, exchange)

    def promise(self, key: str, exchange: Exchange) -> Judgement:
        """Judge one promise only (a schemathesis check guards one)."""
        return self._judge({key: RULES[key]}, exchange)

    def _judge(self, rules: dict[str, Rule], exchange: Exchange) -> Judgement:
        judgement = Judgement()
        for key, rule in rules.items():
            if rule(self, exchange, judgement):
                judgement.checked.append(key)
        if self.coverage is not None:
            operation = exchange.operation.operation_id if exchange.operation else UNDOCUMENTED
            self.coverage.judged(operation, judgement.checked, {issue.promise for issue in judgement.issues})
        return judgement

    def allowed_codes(self, op: Operation) -> frozenset[int]:
        """Codes a valid request may get without breaking ``positive-accepted``."""
        allowed = {Code.OK} | self.spec.environmental_codes | self.stance.unjudgeable
        if op.takes_session:
            allowed |= self.spec.session_state_codes
        return frozenset(allowed)

    def may_accept(self, op: Operation, sent: Any) -> bool:
        """Whether an endpoint keeping ``negative-rejected`` may accept ``sent``, a JSON body POSTed to ``op``.

        Valid, valid once its nulls are read as absent, or valid but for a bound only another
        product's pages give. No other body can make a session on a plausible endpoint: the
        gate's session guard reserves a quota slot for the creates this says yes to.
        """
        if sent is UNREADABLE:
            return False
        stripped = policy.strip_nulls(sent)
        return op.request.is_valid(stripped) or bool(_valid_but_for_silent_bounds(self, op, sent))

    def is_gateway(self, exchange: Exchange) -> bool:
        if not policy.is_gateway_answer(exchange.status):
            return False
        return not self.stance.gateway_page_only or exchange.answer.code is None


def _no_server_error(judge: Judge, ex: Exchange, out: Judgement) -> bool:
    if judge.is_gateway(ex):
        out.observations[f"gateway-{ex.status}"] = f"HTTP {ex.status} from a gateway: environmental, not a finding"
        return False
    # A 502-504 reaching here carries the API's envelope, and the stance reads that as the endpoint's own.
    endpoints_own = policy.is_gateway_answer(ex.status)
    if endpoints_own or policy.is_server_failure(ex.status, documented_method=ex.documented_method):
        code = f", Code {ex.answer.code}" if ex.answer.code is not None else ""
        message = f" ({ex.answer.message[:160]})" if ex.answer.message else ""
        out.issues.append(Issue("no-server-error", f"HTTP {ex.status}{code}{message}"))
    return True


def _status_documented(judge: Judge, ex: Exchange, out: Judgement) -> bool:
    if ex.operation is None or not ex.documented_method or ex.status >= 500:
        return False  # 5xx is no-server-error's
    if ex.status != 200 and not 400 <= ex.status < 500:
        out.issues.append(Issue("status-documented", f"HTTP {ex.status}"))
    return True


def _positive_accepted(judge: Judge, ex: Exchange, out: Judgement) -> bool:
    op, got = ex.operation, ex.answer
    if op is None or ex.status >= 500 or not (ex.sent_valid and ex.meant_valid):
        return False
    if got.too_frequent:
        return False  # rate limited: environmental, whatever the HTTP status
    refused_4xx = 400 <= ex.status < 500
    code = got.code
    name = op.operation_id
    if (refused_4xx and code is None) or policy.refusal_tolerated(code):
        schema = {"$ref": "#" + op.payload.pointer}
        edges = policy.payload_edges(ex.sent, schema, judge.spec.document)
        if edges:
            out.observations[f"refused-open-edge:{name}"] = (
                f"{name} refused a valid request at an edge the docs leave open ({', '.join(edges[:3])}):"
                f" HTTP {ex.status}, Code {code}; allowed"
            )
            return True
    # The HTTP status of a business error is undocumented: a 4xx carrying an allowed code is fine.
    if code is None and refused_4xx:
        out.issues.append(Issue("positive-accepted", f"a valid {name} request got HTTP {ex.status}, no Header.Code"))
    elif code is not None and (code not in judge.allowed_codes(op) or (refused_4xx and code == Code.OK)):
        detail = f"a valid {name} request got HTTP {ex.status}, Code {code} ({got.message[:200]})"
        out.issues.append(Issue("positive-accepted", detail))
    return True


def _negative_rejected(judge: Judge, ex: Exchange, out: Judgement) -> bool:
    op = ex.operation
    if op is None or ex.sent_valid:
        return False  # the promise speaks of requests that break the spec
    if not 200 <= ex.status < 300 or ex.answer.code != Code.OK:
        return True  # refused: the promise held
    name = op.operation_id
    if ex.sent is UNREADABLE:
        out.issues.append(Issue("negative-rejected", f"{name} accepted a body that is not JSON with Code 0"))
    elif op.request.is_valid(policy.strip_nulls(ex.sent)):
        out.observations[f"null-as-absent:{name}"] = (
            f"{name} accepted null in place of an optional field (read as absent); allowed"
        )
    elif silent := _valid_but_for_silent_bounds(judge, op, ex.sent):
        out.observations[f"silent-bound-accepted:{name}"] = (
            f"{name} accepted {', '.join(silent)}: beyond a bound only another product's pages give; allowed"
        )
    else:
        violation = op.request.first_violation(ex.sent)
        out.issues.append(Issue("negative-rejected", f"{name} accepted a request breaking the spec ({violation})"))
    return True


def _valid_but_for_silent_bounds(judge: Judge, op: Operation, sent: Any) -> list[str]:
    """The values beyond an ``x-silent-bounds`` bound when they are all that makes ``sent`` invalid, else []."""
    kept, silent = policy.beyond_silent_bounds(
        policy.strip_nulls(sent), {"$ref": "#" + op.request.pointer}, judge.spec.document
    )
    return silent if silent and op.request.is_valid(kept) else []


def _reqid_echoed(judge: Judge, ex: Exchange, out: Judgement) -> bool:
    req_id = ex.sent_payload.get("ReqId")
    if ex.operation is None or not ex.documented_method or not ex.answer.ok or not isinstance(req_id, str):
        return False
    echoed = ex.answer.payload.get("ReqId")
    if echoed != req_id:
        out.issues.append(Issue("reqid-echoed", f"sent ReqId {req_id!r}, Payload.ReqId came back as {echoed!r}"))
    return True


def _json_content_type(judge: Judge, ex: Exchange, out: Judgement) -> bool:
    if ex.operation is None or ex.status != 200 or not ex.documented_method:
        return False  # what comes with a refusal, or with another method, is undocumented
    media = ex.content_type.split(";")[0].strip().lower()
    if media not in JSON_TYPES and not media.endswith("+json"):
        out.issues.append(Issue("json-content-type", f"Content-Type {ex.content_type or '(none)'!r}"))
    if not ex.answer.is_json_object:
        out.issues.append(Issue("json-content-type", "the body is not a JSON object"))
    return True


def _response_schema(judge: Judge, ex: Exchange, out: Judgement) -> bool:
    op, got = ex.operation, ex.answer
    if op is None or not ex.documented_method or ex.status != 200 or not got.is_json_object:
        return False  # a 4xx body is undocumented; a non-JSON 200 is json-content-type's
    if op.response.is_valid(got.body):
        return True
    outcome = "success" if got.code == Code.OK else "error"
    out.issues.append(
        Issue("response-schema", f"{op.operation_id} {outcome} answer: {op.response.first_violation(got.body)}")
    )
    return True


def _css_withholds_play_addr(judge: Judge, ex: Exchange, out: Judgement) -> bool:
    op = ex.operation
    # Both creates (the spec's x-session-ref: creates) take the same ProtocolOption and keep the same promise.
    if op is None or op.session_ref != "creates" or not ex.answer.ok:
        return False
    option = ex.sent_payload.get("ProtocolOption")
    if not (isinstance(option, dict) and isinstance(option.get("CssCustomPushUrl"), str)):
        return False  # the promise speaks of a create with CssCustomPushUrl only
    if "PlayStreamAddr" in ex.answer.payload:
        out.issues.append(
            Issue("css-withholds-play-addr", "PlayStreamAddr came back although CssCustomPushUrl was sent")
        )
    return True


# The promises of an HTTP answer, in the order a report lists them.
RULES: dict[str, Rule] = {
    "no-server-error": _no_server_error,
    "status-documented": _status_documented,
    "json-content-type": _json_content_type,
    "response-schema": _response_schema,
    "negative-rejected": _negative_rejected,
    "positive-accepted": _positive_accepted,
    "reqid-echoed": _reqid_echoed,
    "css-withholds-play-addr": _css_withholds_play_addr,
}
