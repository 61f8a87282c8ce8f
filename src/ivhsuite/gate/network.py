"""The gate's generated requests under the one retry policy (:mod:`ivhsuite.retry`), counted in the run's tally.

schemathesis 4 sends each case through ``schemathesis.transport.requests._request_with_retries``,
which re-sends any method after a network error when ``request-retries`` is set, and,
through ``_request_resending_on_dropped_connection``, re-sends a request once, a
createsession too, when a kept-alive connection drops before the answer: a second paid
stream nobody counts. :func:`install` puts :func:`send` in its place: safe operations are
retried after a reset, a timeout or a 502/503/504; createsession and command only when the
connection could not even be opened. Every request and fault lands in the run's
:class:`~ivhsuite.environmental.Tally`.

A 502/503/504 left after the retries (and not repeated on every attempt) is returned to
schemathesis marked :data:`UNANSWERED`; the gate's ``filter_failure`` hook drops any
failure on it: the network's, not a broken promise. A reset or a timeout left after the
retries becomes a stand-in answer, marked the same way and saying so (HTTP 504, header
``X-Ivhsuite-Unanswered``, a plain-text body naming the fault): raised instead, it would
end the operation's whole phase as a schemathesis "Network Error" (or a Hypothesis
"Flaky" runtime error with a traceback) although the endpoint did nothing wrong.
Errors schemathesis still reports are sorted by :func:`is_environmental`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import requests
from schemathesis.transport import requests as transport

from ivhsuite.errors import GatewayError, TransportError
from ivhsuite.gate.context import current
from ivhsuite.protocol import Answer
from ivhsuite.retry import DEFAULT_POLICY, Attempts, Fault, status_fault

UNANSWERED = "ivhsuite_unanswered"  # attribute set on the PreparedRequest of an answer that is the network's
STAND_IN_HEADER = "X-Ivhsuite-Unanswered"
STAND_IN_STATUS = 504
BUDGET_CUT = "over the session budget"  # the label of a create the budget did not send (ivhsuite.gate.budget)
_INSTALLED = "_ivhsuite_retry_policy"
# Failures of an exchange: the connection (refused, reset, closed), the clock, a body cut short.
NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def fault_of(exc: BaseException) -> Fault:
    """The fault a ``requests`` exception stands for; NOT_SENT only when no connection was opened."""
    if isinstance(exc, requests.ConnectTimeout):
        return Fault.NOT_SENT
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)
        if type(reason).__name__ == "NewConnectionError":  # urllib3: the TCP connection could not be opened
            return Fault.NOT_SENT
        return Fault.RESET
    if isinstance(exc, requests.Timeout):
        return Fault.TIMEOUT
    return Fault.RESET


def is_environmental(exc: BaseException | None) -> bool:
    """Whether an error schemathesis reports is the network's: a lost connection or a timeout, however wrapped
    (a cause, a Hypothesis "Flaky" group whose every member is one)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, NETWORK_ERRORS):
            return True
        if isinstance(exc, BaseExceptionGroup):
            return bool(exc.exceptions) and all(is_environmental(e) for e in exc.exceptions)
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _operation(url: str) -> str:
    run = current()
    if run is None:
        return ""
    op = run.spec.by_path(urlsplit(url).path)
    return op.operation_id if op is not None else ""


def send(session: requests.Session, data: dict[str, Any], retries: int, max_stream_events: int) -> requests.Response:
    """One case, sent per the retry policy (``retries``, schemathesis's own setting, is ignored)."""
    run = current()
    if run is not None and run.budget.peek() is False:
        return stand_in(data, None, None, None)  # not sent, not tallied: the session budget is spent
    operation = _operation(str(data.get("url", "")))
    attempts: Attempts = (run.policy if run is not None else DEFAULT_POLICY).start(operation)
    if run is not None and operation:
        run.tally.request(operation)
    try:
        while True:
            try:
                response = transport._request(session, data, max_stream_events)
            except NETWORK_ERRORS as exc:
                fault = fault_of(exc)
                delay = attempts.failed(fault)
                if delay is None:
                    if run is not None:
                        with run.counters.lock:
                            run.environmental_errors += 1
                    return stand_in(data, exc, fault, attempts)
                time.sleep(delay)
                continue
            fault = None
            if response.status_code >= 500:
                fault = status_fault(
                    response.status_code, Answer.read(response.status_code, response.content).code is not None
                )
            if fault is None:
                return response
            delay = attempts.failed(fault)
            if delay is None:
                if not attempts.repeated_5xx and response.request is not None:
                    setattr(response.request, UNANSWERED, fault.label)
                return response
            response.close()
            time.sleep(delay)
    finally:
        if run is not None and operation:
            run.tally.record(attempts)


def stand_in(
    data: dict[str, Any], exc: BaseException | None, fault: Fault | None, attempts: Attempts | None
) -> requests.Response:
    """An answer that says there was none: marked :data:`UNANSWERED`, so no check judges it.

    Without a fault: a create the session budget did not send (:data:`BUDGET_CUT`).
    """
    request = getattr(exc, "request", None)
    if not isinstance(request, requests.PreparedRequest):
        request = requests.Request(str(data.get("method", "POST")), str(data.get("url", ""))).prepare()
    label = fault.label if fault is not None else BUDGET_CUT
    setattr(request, UNANSWERED, label)
    response = requests.Response()
    response.status_code = STAND_IN_STATUS
    response.reason = "No answer (ivhsuite stand-in)"
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.headers[STAND_IN_HEADER] = label
    tried = f"{len(attempts.faults)} attempt(s)" if attempts is not None else "not sent"
    text = f"ivhsuite: no answer from the endpoint ({label}, {tried}): {exc or 'the run is within --max-sessions'}"
    response._content = text.encode("utf-8")
    response.encoding = "utf-8"
    response.request = request
    response.url = request.url or ""
    return response


def install() -> None:
    """Route schemathesis's requests through :func:`send`; calling it again changes nothing."""
    if getattr(transport._request_with_retries, _INSTALLED, False):
        return
    setattr(send, _INSTALLED, True)
    transport._request_with_retries = send  # type: ignore[assignment]


def unanswered(response: Any) -> str | None:
    """The fault label when ``response`` (schemathesis's) is a 502/503/504 the network answered, else None."""
    request = getattr(response, "request", None)
    return getattr(request, UNANSWERED, None)


def environmental_answer(post: Callable[[], httpx.Response]) -> httpx.Response:
    """One hand-made request (sent once: it may be anything): the answer, or TransportError when it is the network's."""
    try:
        response = post()
    except httpx.HTTPError as exc:
        raise TransportError(f"no answer: {exc or type(exc).__name__}", fault_of_httpx(exc).label) from None
    fault = status_fault(response.status_code, Answer.read(response.status_code, response.content).code is not None)
    if fault is not None:
        raise GatewayError(f"{fault.label} in place of the endpoint's answer", fault.label)
    return response


def fault_of_httpx(exc: BaseException) -> Fault:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return Fault.NOT_SENT
    return Fault.TIMEOUT if isinstance(exc, httpx.TimeoutException) else Fault.RESET
