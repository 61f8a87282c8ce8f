"""What schemathesis loads (``hooks = "ivhsuite.gate.spec_cases.hooks"`` in ``schemathesis.toml``).

- :class:`IvhSignature`, the auth provider: the documented query signature on every case;
- ``before_call``: shapes the body (:mod:`ivhsuite.gate.shaping`) and, before a
  create (createsession or createsessionbyasset), asks the session budget
  (:mod:`ivhsuite.gate.budget`) for a positive one and makes room within the quota
  (:class:`~ivhsuite.gate.quota_guard.SessionGuard`) for any a plausible endpoint may accept;
- ``after_call``: remembers every SessionId a create returns (one still preparing goes to
  :mod:`ivhsuite.gate.cold_start` at once), forgets closed ones, and on a quota-busy code (:data:`~ivhsuite.protocol.QUOTA_BUSY_CODES`) closes the run's sessions and waits;
- ``filter_failure``: drops any failure on a 502/503/504 the network answered
  (:mod:`ivhsuite.gate.network`, which also puts schemathesis's requests under the retry policy);
- :class:`FindingCollector`, a CLI event handler that hands every failure, with its
  request, to the gate's report, and counts the errors that were the network's.

Importing this module registers the checks of :mod:`ivhsuite.gate.spec_cases.checks`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import schemathesis
from schemathesis.cli import handler
from schemathesis.cli.commands.run.handlers.base import EventHandler
from schemathesis.engine import events

from ivhsuite.contract import broken
from ivhsuite.gate import network
from ivhsuite.gate.context import current
from ivhsuite.gate.curl import curl_line
from ivhsuite.gate.findings import Finding
from ivhsuite.gate.spec_cases import astlock, checks
from ivhsuite.gate.spec_cases.checks import BrokenPromise, answer, body_positive, may_create, operation_of
from ivhsuite.gate.spec_cases.promises import promise_of_check
from ivhsuite.protocol import Answer, Code, SessionStatus
from ivhsuite.redact import redact
from ivhsuite.signing import sign_params

if TYPE_CHECKING:
    from schemathesis import AuthContext, Case, HookContext, Response

    from ivhsuite.spec import Operation

astlock.install()  # the workers are threads; see ivhsuite.gate.spec_cases.astlock
network.install()  # the one retry policy, and no hidden re-send of a createsession
QUOTA_BACKOFF = 1.0
JSON = "application/json"
__all__ = ["IvhSignature", "FindingCollector", "checks"]


@schemathesis.auth(refresh_interval=None)
class IvhSignature:
    """Signs each case with a fresh timestamp; does nothing when no credentials are set."""

    def get(self, case: Case, ctx: AuthContext) -> tuple[str, str] | None:
        run = current()
        target = run.target if run is not None else None
        if target is not None and target.appkey and target.access_token:
            return target.appkey, target.access_token
        return None

    def set(self, case: Case, data: tuple[str, str], ctx: AuthContext) -> None:
        appkey, access_token = data
        case.query = {**(case.query or {}), **sign_params(appkey, access_token)}


@schemathesis.hook
def before_call(context: HookContext, case: Case, **kwargs: Any) -> None:
    run = current()
    op = operation_of(case)
    if run is None or op is None:
        return
    positive = body_positive(case)
    case.body = run.shaper.shape(op.operation_id, case.body, positive=positive)
    if op.session_ref == "creates":
        taken = run.budget.take(generated=True) if positive else None
        run.budget.hold(taken)  # False: over the session budget, network.send answers it without sending
        if taken is not False and (positive or may_create(case)):
            run.guard.before_create()  # the others take no slot: no plausible endpoint makes a session of them
    elif isinstance(case.body, dict) and isinstance(case.body.get("Payload"), dict):
        run.guard.touch(str(case.body["Payload"].get("SessionId")))  # in use: the last one closed for room


@schemathesis.hook
def after_call(context: HookContext, case: Case, response: Response) -> None:
    run = current()
    op = operation_of(case)
    if run is None or op is None:
        return
    taken = run.budget.held() if op.session_ref == "creates" else None
    if taken is False:
        return  # cut by the session budget: nothing was sent
    if taken:
        run.budget.release()
    run.counters.add("generated")
    got = answer(response)
    run.answers.record("generated", op.operation_id, response.status_code, got.code, response.elapsed)
    sent = case.body.get("Payload") if isinstance(case.body, dict) else None
    sent = sent if isinstance(sent, dict) else {}
    _spot(op, case, response, got, sent)
    if op.session_ref == "creates":
        session_id = got.payload.get("SessionId") if got.code == Code.OK else None
        booked = run.guard.expecting()
        if isinstance(session_id, str) and session_id:
            run.created(session_id, str(sent.get("UserId", "")), guarded=booked, unbooked=not booked)
            if booked and got.payload.get("SessionStatus") == SessionStatus.PREPARING:
                run.seize_cold(session_id, sent.get("Protocol"))  # a cold session: start it at once (page 100390)
        else:
            run.guard.created(None)
            if got.code == Code.OK and isinstance(sent.get("UserId"), str):
                run.reconcile(sent["UserId"])  # created, but unnamed: find it by its UserId and close it
        if got.busy:
            run.counters.add("quota_busy")
            run.guard.make_room()
            time.sleep(QUOTA_BACKOFF)
    elif op.operation_id == "closesession" and got.code == Code.OK and isinstance(sent.get("SessionId"), str):
        run.closed(sent["SessionId"])


def _spot(op: Operation, case: Case, response: Response, got: Answer, sent: dict[str, Any]) -> None:
    """Hand the answer to the run's spotter by what was sent: another verb, a JSON body declared as
    another media type, a body that is no JSON object, or a readable POST."""
    run = current()
    if run is None:
        return
    declared = next((v for k, v in (case.headers or {}).items() if k.lower() == "content-type"), None)
    media_type = str(declared or case.media_type or JSON)  # the coverage phase sends JSON as text/plain in a header
    answered = time.monotonic()
    span = (answered - float(response.elapsed or 0.0), answered)
    if case.method.upper() != "POST":
        run.spotter.undocumented(got, unknown_path=False)
    elif media_type.split(";")[0].strip().lower() != JSON:
        if isinstance(case.body, dict):
            run.spotter.declared(media_type, got)
            if got.code is not None:  # read anyway: it counts against a rate limit, and may have made a session
                run.spotter.measures.see(op.operation_id, sent, got, span)
    elif not isinstance(case.body, dict):
        run.spotter.unreadable(got)
    else:
        retry_after = (response.headers.get("retry-after") or [None])[0]
        named = sent.get("SessionId")  # any JSON value in a fuzzed case
        closed_before = isinstance(named, str) and named in run.closed_ids()
        valid = op.request.is_valid(case.body)
        run.spotter.see(op.operation_id, sent, got, retry_after, closed_before=closed_before, valid=valid, span=span)


@schemathesis.hook
def after_network_error(context: HookContext, case: Case, request: Any) -> None:
    run = current()
    op = operation_of(case)
    if run is not None and op is not None and op.session_ref == "creates":
        if run.budget.held():
            run.budget.release()
        run.guard.request_lost()


@schemathesis.hook
def filter_failure(context: HookContext, failure: Any, case: Case, response: Response) -> bool:
    """A 502/503/504 the network answered (after the safe retries) is no broken promise."""
    return network.unanswered(response) is None


@handler()
class FindingCollector(EventHandler):
    """Hands each failure schemathesis settled on to the gate's report, with a curl line."""

    def __init__(self, *args: Any, **params: Any) -> None:
        pass

    def handle_event(self, ctx: Any, event: Any) -> None:
        run = current()
        if run is None or not isinstance(event, events.NonFatalError):
            return
        if network.is_environmental(event.value):
            with run.counters.lock:
                run.environmental_errors += 1
        else:
            run.generated_errors.append(f"{event.label}: {type(event.value).__name__}: {event.value}"[:300])

    def shutdown(self, ctx: Any) -> None:
        run = current()
        if run is None:
            return
        for label, groups in ctx.statistic.failures.items():
            for group in groups.values():
                curl = _curl(group, run.secrets)
                for failure in group.failures:
                    key = _promise(failure)
                    status = getattr(group.response, "status_code", None)
                    text = (
                        failure.message if isinstance(failure, BrokenPromise) else _stock_message(key, failure, status)
                    )
                    run.findings.append(
                        Finding(
                            promise=key,
                            source="schemathesis",
                            where=label,
                            message=redact(str(text), run.secrets),
                            curl=(curl,) if curl else (),
                        )
                    )


def _stock_message(key: str, failure: Any, status: int | None) -> str:
    """A stock check's failure, led by the promise it breaks."""
    detail = " ".join(str(failure.message or "").split())[:300]
    title = f"{failure.title} (HTTP {status})" if status else str(failure.title)
    return broken(key, f"{title}: {detail}" if detail else title)


def _promise(failure: Any) -> str:
    key = getattr(failure, "promise", None)
    if key:
        return str(key)
    for name in getattr(failure, "checks", ()) or ():
        found = promise_of_check(name)
        if found:
            return found
    return "response-schema" if "schema" in str(failure.title).lower() else "no-server-error"


def _curl(group: Any, secrets: tuple[str | None, ...]) -> str | None:
    request = getattr(group.response, "request", None) if group.response is not None else None
    if request is not None and request.url:
        body = request.body if isinstance(request.body, (bytes, str)) else None
        content_type = request.headers.get("Content-Type")
        return curl_line(str(request.method), str(request.url), body, content_type, secrets)
    return redact(group.code_sample, secrets) if group.code_sample else None
