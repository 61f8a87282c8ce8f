"""The scenarios' client: records each exchange, closes what it creates, waits out a busy quota.

A failed expectation raises ``AssertionError`` whose message starts with the broken
promise (:func:`ivhsuite.contract.promises.broken`) and ends with one curl line per request
the scenario sent, so the failure can be replayed by hand.

>>> with Probe(run) as probe:  # doctest: +SKIP
...     created = probe.create()
...     probe.expect(created.ok, "lifecycle", f"createsession got {created}")
"""

from __future__ import annotations

import contextlib
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest

from ivhsuite.client import IvhClient, envelope
from ivhsuite.contract import broken
from ivhsuite.contract.judge import UNDOCUMENTED
from ivhsuite.errors import IvhsuiteError
from ivhsuite.gate.context import RunContext
from ivhsuite.gate.curl import curl_line
from ivhsuite.gate.network import environmental_answer
from ivhsuite.protocol import COLD_FAILURE_CODES, ENDED_STATUSES, Answer, SessionStatus

FREQUENT_RETRIES = 5
MAX_BACKOFF = 10.0
COLD_RETRIES = 3
BUSY_RETRIES = 6
BUSY_WAIT = 5.0
CLOSE_GRACE = 10.0  # seconds a closed session may still be listed live before it counts as not closed
TEXT_INTERVAL = 1.0  # "texts at least 1 s apart" (the command page)
TEXT_GAP = TEXT_INTERVAL + 0.1  # with a margin
MAX_CURLS = 8
TIMEOUT = 30.0  # seconds for one answer


T = TypeVar("T")


class ColdFailure(Exception):
    """A new session ended in status 4 with a documented cold-start error: the platform's trouble, not a contract."""


def _elapsed_known(response: httpx.Response) -> bool:
    try:
        response.elapsed  # noqa: B018 - httpx sets it once the body is read; a test's fake may not
    except RuntimeError:
        return False
    return True


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: back off the usual way


class Probe:
    """One scenario's view of the endpoint; use it as a context manager."""

    def __init__(self, run: RunContext) -> None:
        self.run = run
        # The run's own client, not one per scenario: its kept-alive connections spare each scenario
        # a fresh TCP and TLS handshake, two or three round trips against a distant endpoint.
        self.client: IvhClient = run.closer
        self.sent: list[tuple[httpx.Request, bool]] = []  # (request, re-sign it in the curl line)
        self.opened: list[str] = []  # sessions this scenario created, closed on exit
        self._retry_after: float | None = None
        # The last request's span on this side: sent at, answered at (monotonic). The endpoint saw
        # it somewhere inside, which is all a scenario judging time between two requests may assume.
        self.last_span: tuple[float, float] = (0.0, 0.0)

    def __enter__(self) -> Probe:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close what the scenario opened; a close that fails stays with the guard for the run's clean-up."""
        for session_id in self.opened:
            if self.run.sessions.is_open(session_id):
                with contextlib.suppress(IvhsuiteError, httpx.HTTPError):
                    self.close(session_id)
        self.run.guard.unpin(self.opened)  # one still booked (preempted, say) may now be closed for room

    # --- requests ---------------------------------------------------------------------

    def user_id(self, hint: str = "") -> str:
        """A fresh UserId with the run's prefix (so the final sweep can find its sessions)."""
        return (self.run.prefix + hint[:6] + secrets.token_hex(8))[: self.run.options.user_id_max_length]

    def send(self, operation_id: str, payload: dict[str, Any], *, retry_frequent: bool = True) -> Answer:
        """POST (a fresh ReqId added when missing); backs off on 100012/429 (Retry-After honoured); tracks sessions.

        Beside the generated half, whose requests share the endpoint's rate limit, it backs off for as
        long as that half runs: the refusals are the gate's own traffic, not the scenario's.
        """
        attempt = 0
        while True:
            attempt += 1
            answer = self._send_once(operation_id, payload)
            if not (retry_frequent and answer.too_frequent):
                return answer
            if attempt >= FREQUENT_RETRIES and not self.run.beside:
                return answer
            self.run.counters.add("too_frequent")
            time.sleep(min(MAX_BACKOFF, self._retry_after or TEXT_GAP * min(attempt, FREQUENT_RETRIES)))

    def _send_once(self, operation_id: str, payload: dict[str, Any]) -> Answer:
        """One request. Beside the generated half a create first takes a slot of the run's guard (pinned)."""
        if self.run.stopping.is_set() and operation_id != "closesession":
            pytest.exit("interrupted: the scenarios stop with the run", returncode=pytest.ExitCode.INTERRUPTED)
        payload = {"ReqId": uuid.uuid4().hex, **payload}
        closed_before = isinstance(payload.get("SessionId"), str) and payload["SessionId"] in self.run.closed_ids()
        creates = self.run.spec.operation(operation_id).session_ref == "creates"
        pinned = creates and self.run.beside
        if pinned:
            self.run.guard.before_create(pinned=True)
        sent_at = time.monotonic()
        try:
            response = self.client.send(operation_id, payload, timeout=TIMEOUT)
        except BaseException:
            if pinned:
                self.run.guard.request_lost()
            raise
        self.last_span = (sent_at, time.monotonic())
        self.sent.append((response.request, True))
        self._retry_after = _seconds(response.headers.get("retry-after"))
        answer = self._answered(operation_id, response)
        valid = self.run.spec.operation(operation_id).request.is_valid(envelope(payload))
        retry_after = response.headers.get("retry-after")
        self.run.spotter.see(
            operation_id, payload, answer, retry_after, closed_before=closed_before, valid=valid, span=self.last_span
        )
        session_id = answer.payload.get("SessionId")
        if creates and answer.ok and isinstance(session_id, str):
            self.opened.append(session_id)
            self.run.created(session_id, str(payload.get("UserId", "")), guarded=pinned, pinned=pinned)
        elif pinned:
            self.run.guard.created(None)
        if operation_id == "closesession" and answer.ok:
            self.run.closed(str(payload.get("SessionId")))
        return answer

    def create(
        self, user_id: str | None = None, *, retry_busy: bool = True, by_asset: bool = False, **fields: Any
    ) -> Answer:
        """createsession (rtmp, text driving by default); waits and retries while the quota is busy.

        ``by_asset``: createsessionbyasset from the configured asset key instead, under the same rules.

        A success without a SessionId is a ``response-schema`` finding at once: the session is
        found by its UserId and closed, so no later scenario waits on a slot nobody can account for.

        A session still preparing (status 3) checks "no start while preparing" at once when its
        Protocol still needs a verdict (:mod:`ivhsuite.gate.cold_start`); one that turned ready and
        got started by that check is closed and created again, so the caller's session is as new.
        """
        answer, payload = self._create(user_id, retry_busy=retry_busy, by_asset=by_asset, **fields)
        if self._seize_cold(answer, payload):
            answer, payload = self._create(user_id, retry_busy=retry_busy, by_asset=by_asset, **fields)
        return answer

    def _seize_cold(self, answer: Answer, payload: dict[str, Any]) -> bool:
        """Seize a cold session; True when the check started it (it turned ready first) and it was closed."""
        session_id, protocol = answer.payload.get("SessionId"), payload.get("Protocol")
        preparing = answer.payload.get("SessionStatus") == SessionStatus.PREPARING
        if not (answer.ok and preparing and isinstance(session_id, str) and self.run.cold.wanted(protocol)):
            return False

        def send(operation: str, body: dict[str, Any]) -> tuple[Answer, str]:
            got = self._send_once(operation, body)
            return got, self.curl(self.sent[-1][0])

        self.run.cold.seize(session_id, str(protocol), send, "scenarios")
        if session_id in self.run.cold.started_ready:
            self.close(session_id)
            return True
        return False

    def _create(
        self, user_id: str | None, *, retry_busy: bool, by_asset: bool, **fields: Any
    ) -> tuple[Answer, dict[str, Any]]:
        user_id = user_id or self.user_id()
        operation = "createsessionbyasset" if by_asset else "createsession"
        if by_asset:
            payload = self.client.asset_payload(user_id, self.run.target.asset_key, **fields)
        else:
            payload = self.client.create_payload(user_id, **fields)
        # Once the quota stayed busy for one scenario, later ones try once more, then say why they cannot run.
        retries = (1 if self.run.quota_exhausted else BUSY_RETRIES) if retry_busy else 1
        for attempt in range(retries):
            if not self.run.budget.take(generated=False):
                pytest.skip(f"the session budget is spent ({self.run.budget.words()}): raise --max-sessions")
            try:
                answer = self.send(operation, payload)
            finally:
                self.run.budget.release()
            if answer.ok and not isinstance(answer.payload.get("SessionId"), str):
                found = self.reconcile(str(payload["UserId"]))
                self.expect(
                    False,
                    "response-schema",
                    f"{operation} succeeded without a SessionId ({answer});"
                    f" found by its UserId in the list: {', '.join(found) or 'nothing'} (closed)",
                )
            if not (retry_busy and answer.busy):
                return answer, payload
            self.run.counters.add("quota_busy")
            self.expect_no_zombies(f"{operation} answered {answer.code} (quota busy)")
            closed_before = self.run.closed_ids()
            if set(self.reconcile()) - closed_before:
                continue  # slots held by sessions of this run the answers never named: freed, try again
            # Else wait, also when only sessions closed before were still listed (closed again):
            # past CLOSE_GRACE, expect_no_zombies names them, however short the run so far.
            if attempt + 1 < retries:
                time.sleep(BUSY_WAIT * (attempt + 1) / BUSY_RETRIES)
        if retry_busy:
            self.run.quota_exhausted = True
            pytest.skip(f"quota busy: {operation} kept answering {answer.code} (the project's slots are held)")
        return answer, payload

    def reconcile(self, user_id: str | None = None) -> list[str]:
        """Close this run's live sessions no answer accounted for; the ones this scenario still uses stay."""
        return self.run.reconcile(user_id, keep={sid for sid in self.opened if self.run.sessions.is_open(sid)})

    def create_ready(self, **fields: Any) -> str:
        """A new session polled until ready; a cold session that fails to come up is retried with another UserId."""

        def attempt() -> str:
            created = self.create(**fields)
            self.expect(created.ok, "positive-accepted", f"createsession got {created}")
            session_id = str(created.payload.get("SessionId"))
            self.wait_ready(session_id)
            return session_id

        return self.retry_cold(attempt)

    def retry_cold(self, attempt: Callable[[], T], unobservable: str = "the platform is busy") -> T:
        """``attempt()``, again while a new session of it fails its cold start on its own (:class:`ColdFailure`).

        That is the platform's trouble, not a broken promise; after :data:`COLD_RETRIES` the scenario
        is skipped, saying what could not be observed.
        """
        for _ in range(COLD_RETRIES):
            with contextlib.suppress(ColdFailure):
                return attempt()
        pytest.skip(f"{COLD_RETRIES} new sessions in a row failed to come up (status 4): {unobservable}")

    def stat(self, session_id: str) -> Answer:
        return self.send("statsession", {"SessionId": session_id})

    def start(self, session_id: str) -> Answer:
        return self.send("startsession", {"SessionId": session_id})

    def close(self, session_id: str) -> Answer:
        return self.send("closesession", {"SessionId": session_id})

    def text(self, session_id: str, text: str, *, retry_frequent: bool = True, **data: Any) -> Answer:
        payload = self.client.text_payload(session_id, text, **data)
        return self.send("command", payload, retry_frequent=retry_frequent)

    def sessions(self) -> list[dict[str, Any]]:
        answer = self.send("listsessionofprojectid", {"VirtualmanProjectId": self.run.target.project_id})
        self.expect(answer.ok, "listed", f"listsessionofprojectid got {answer}")
        items = answer.payload.get("Sessions")
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []

    def asset_sessions(self, promise: str) -> list[dict[str, Any]]:
        """listsessionofassetvk of the configured asset key; a refusal breaks ``promise``."""
        answer = self.send("listsessionofassetvk", {"AssetVirtualmanKey": self.run.target.asset_key})
        self.expect(answer.ok, promise, f"listsessionofassetvk got {answer}")
        items = answer.payload.get("Sessions")
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []

    def wait_ready(self, session_id: str, promise: str = "lifecycle") -> Answer:
        """Poll statsession until SessionStatus is 1, within the configured deadline."""
        options = self.run.options
        began = time.monotonic()
        deadline = began + options.ready_timeout
        cold = False
        while True:
            answer = self.stat(session_id)
            status = answer.payload.get("SessionStatus")
            if answer.ok and status == SessionStatus.READY:
                if cold:
                    self.run.spotter.ready_after(time.monotonic() - began)  # the endpoint's cold-start time
                return answer
            cold = cold or status == SessionStatus.PREPARING
            self.expect(
                answer.ok or answer.code in self.run.spec.environmental_codes,
                promise,
                f"statsession of a new session got {answer}",
            )
            error_code = answer.payload.get("ErrorCode")
            if status == SessionStatus.FAILED and error_code in COLD_FAILURE_CODES:
                raise self.cold_failure(session_id, error_code)
            why = f" (ErrorCode {error_code}: {answer.payload.get('ErrorMessage')})" if error_code is not None else ""
            self.expect(
                status not in ENDED_STATUSES, promise, f"the new session ended with status {status} instead of 1{why}"
            )
            self.expect(
                time.monotonic() < deadline,
                promise,
                f"session {session_id} not ready (status {status}) within {options.ready_timeout:g} s",
            )
            time.sleep(options.poll_interval)

    def cold_failure(self, session_id: str, error_code: object) -> ColdFailure:
        """The session failed its cold start on its own (status 4): counted, named, and no slot of the guard's any more."""
        self.run.failed(session_id)
        self.run.counters.add("cold_failures")
        self.run.observe(
            "cold-failure", f"a cold session ended in status 4 (ErrorCode {error_code}): environmental, retried"
        )
        return ColdFailure(f"ErrorCode {error_code}")

    # --- verdicts ---------------------------------------------------------------------

    def expect_no_zombies(self, why: str) -> None:
        """Sessions we closed must not keep their slots: the quota is busy, so look at who holds it."""
        zombies = self.run.zombies(CLOSE_GRACE)
        self.expect(
            not zombies,
            "close-frees-slot",
            f"{why}, and {len(zombies)} session(s) whose closesession answered Code 0 over"
            f" {CLOSE_GRACE:g} s ago are still listed live: {', '.join(zombies[:5])}",
        )

    def expect(self, condition: object, promise: str, detail: str) -> None:
        """Check ``promise`` (counted against the operation of the last request sent); raise when broken."""
        self.run.coverage.note(promise, self._last_operation(), held=bool(condition))
        if not condition:
            raise AssertionError(self.explain(promise, detail))

    def _last_operation(self) -> str:
        if not self.sent:
            return "(no request)"
        path = self.sent[-1][0].url.path  # a base URL may carry a path prefix before the spec's path
        return next((op.operation_id for op in self.run.spec if path.endswith(op.path)), UNDOCUMENTED)

    def held(self, promise: str) -> None:
        """A scenario saw ``promise`` kept on a path with no condition left to assert: counted as checked."""
        self.expect(True, promise, "")

    def expect_rejected(self, answer: Answer, promise: str, what: str) -> None:
        self.expect(answer.status < 500, "no-server-error", f"{what}: got {answer}")
        self.expect(answer.rejected, promise, f"{what} was accepted ({answer})")

    def explain(self, promise: str, detail: str) -> str:
        lines = [broken(promise, detail)]
        for request, resign in self.sent[-MAX_CURLS:]:
            lines.append("reproduce: " + self.curl(request, resign=resign))
        return "\n".join(lines)

    def curl(self, request: httpx.Request, *, resign: bool = True) -> str:
        return curl_line(
            request.method,
            str(request.url),
            request.content,
            request.headers.get("content-type"),
            self.run.secrets,
            resign=resign,
        )

    def raw(self, operation_id: str, payload: dict[str, Any], query: str, *, resign: bool) -> Answer:
        """POST with a hand-made query string, unsigned by the client: for the auth scenarios.

        ``resign`` says whether the curl line may re-sign the request (a wrong signature must stay wrong).
        """
        url = f"{self.run.target.base_url}{self.run.spec.operation(operation_id).path}?{query}"
        body = envelope({"ReqId": uuid.uuid4().hex, **payload})
        while True:  # beside the generated half, a "too frequent" is that half's traffic: sent again once it ends
            response = environmental_answer(
                lambda: self.client.http.post(url, json=body, auth=None, timeout=TIMEOUT)  # auth=None: sent as given
            )
            self.sent.append((response.request, resign))
            answer = self._answered(operation_id, response)
            if not (answer.too_frequent and self.run.beside) or self.run.stopping.is_set():
                return answer
            self.run.counters.add("too_frequent")
            time.sleep(min(MAX_BACKOFF, _seconds(response.headers.get("retry-after")) or TEXT_GAP))

    def post_path(self, path: str, payload: dict[str, Any]) -> Answer:
        """POST a signed envelope to ``path``, which no operation has: its answer is the endpoint's choice."""
        body = envelope({"ReqId": uuid.uuid4().hex, **payload})
        url = f"{self.run.target.base_url}{path}"
        response = environmental_answer(lambda: self.client.http.post(url, json=body, timeout=TIMEOUT))
        self.sent.append((response.request, True))
        answer = self._answered(UNDOCUMENTED, response)
        self.run.spotter.undocumented(answer, unknown_path=True)
        return answer

    def _answered(self, operation_id: str, response: httpx.Response) -> Answer:
        answer = Answer.read(response.status_code, response.content)
        self.run.counters.add("scenario")
        seconds = response.elapsed.total_seconds() if _elapsed_known(response) else 0.0
        self.run.answers.record("scenarios", operation_id, response.status_code, answer.code, seconds)
        return answer
