"""The signed, validating FastHttpUser every scenario builds on, and its session steps.

Each call: a fresh ReqId, the body serialised once, the query signed for the current
second (``sign_params`` + ``encode_query``; the signature only changes with the
timestamp, so it is computed once per second, never logged), the answer judged by
:class:`~ivhsuite.load.validation.ResponseChecker`, and findings fired as locust events:
``contract violation: <op>`` (failure), ``environmental <code>`` (a count, not a failure).
Every session a user opens is closed in ``on_stop``.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Collection
from typing import Any

import gevent
from locust import FastHttpUser, constant

from ivhsuite import fastjson
from ivhsuite.channel import channel_url
from ivhsuite.config import Target
from ivhsuite.ids import new_hex_id
from ivhsuite.load import network
from ivhsuite.load.options import ScenarioOptions
from ivhsuite.load.preemption import PreemptionTracker, is_gone
from ivhsuite.load.thresholds import CONTRACT_PREFIX, ENVIRONMENTAL_PREFIX, IVH_METHOD, TIME_TO_READY
from ivhsuite.load.validation import NO_CODES, Outcome, ResponseChecker
from ivhsuite.protocol import GONE_CODES, SessionStatus
from ivhsuite.retry import DEFAULT_POLICY, Attempts
from ivhsuite.run_sessions import live_of_run
from ivhsuite.signing import encode_query, sign_params
from ivhsuite.spec import load_spec

log = logging.getLogger("ivhsuite")

HEADERS = {"Content-Type": "application/json;charset=utf-8", "Accept": "application/json"}


class LoadFailure(Exception):
    """A finding about the API, reported to locust as a failure; the message is what the UI shows."""


class ContractViolation(LoadFailure):
    pass


class PreemptionViolation(LoadFailure):
    pass


class NotReady(LoadFailure):
    pass


class QuerySigner:
    """``?appkey=…&timestamp=…&signature=…`` for now, or "" without credentials."""

    def __init__(self, appkey: str | None, access_token: str | None) -> None:
        self._appkey = appkey
        self._token = access_token
        self._second = -1
        self._query = ""

    def __repr__(self) -> str:
        return f"QuerySigner(appkey={self._appkey!r})"

    def query(self) -> str:
        if not (self._appkey and self._token):
            return ""
        now = int(time.time())
        if now != self._second:
            self._query = "?" + encode_query(sign_params(self._appkey, self._token, now))
            self._second = now
        return self._query


@functools.cache
def shared_checker() -> ResponseChecker:
    return ResponseChecker()


@functools.cache
def shared_tracker() -> PreemptionTracker:
    return PreemptionTracker()


def fire_entry(environment: Any, name: str, response_time: float = 0.0, failure: Exception | None = None) -> None:
    """An ``IVH`` entry in locust's stats: a count, a duration, or (with ``failure``) a finding."""
    environment.events.request.fire(
        request_type=IVH_METHOD,
        name=name,
        response_time=response_time,
        response_length=0,
        exception=failure,
        context={},
    )


class IvhUser(FastHttpUser):
    """Base of the scenarios: signed calls, judged answers, and its own sessions closed on stop."""

    abstract = True
    network_timeout = 15.0
    connection_timeout = 10.0
    wait_time = constant(0)

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.options = ScenarioOptions.from_namespace(environment.parsed_options)
        target = Target.from_env(project_id=self.options.project_id)
        self.target = target
        self.signer = QuerySigner(target.appkey, target.access_token)
        self.checker = shared_checker()
        self.paths = {op.operation_id: op.path for op in load_spec()}
        self.sessions: dict[str, str] = {}  # SessionId -> UserId: open sessions this user created
        self._creating: str | None = None  # a create in flight: the stop may cut it short

    # --- one call -----------------------------------------------------------------

    def call(self, operation: str, payload: dict[str, Any], expected: Collection[int] = NO_CODES) -> Outcome:
        """POST one operation (retried per :mod:`ivhsuite.retry`); its entry fails only on a real failure."""
        reqid = new_hex_id()  # what new_reqid() gives, at a fraction of the cost
        body = fastjson.dumps({"Header": {}, "Payload": {"ReqId": reqid, **payload}})
        attempts = DEFAULT_POLICY.start(operation)
        while True:
            try:
                outcome = self._attempt(operation, body, reqid, expected, attempts)
                break
            except network.Unanswered as lost:
                fire_entry(self.environment, network.fault_entry(lost.fault, operation))
                if lost.delay is None:
                    fire_entry(self.environment, network.UNANSWERED_PREFIX + operation)
                    return Outcome(operation, 0, fault=lost.fault.label)
                gevent.sleep(lost.delay)
        return self._report(operation, outcome)

    def _attempt(
        self, operation: str, body: bytes, reqid: str, expected: Collection[int], attempts: Attempts
    ) -> Outcome:
        """One send; raises :class:`network.Unanswered` (not reported to locust) for an attempt the network lost."""
        url = self.paths[operation] + self.signer.query()
        with self.client.request(
            "POST", url, name=operation, data=body, headers=HEADERS, catch_response=True
        ) as response:
            status = response.status_code
            error = getattr(response, "error", None) if status == 0 else None
            fault = network.fault_of(status, response.content, error)
            if fault is not None:
                delay = attempts.failed(fault)
                if delay is not None or not attempts.repeated_5xx:  # a 5xx on every attempt is the endpoint's
                    raise network.Unanswered(fault, delay)
            outcome = self.checker.check(operation, status, response.content, reqid, expected, _describe(error))
            if outcome.failure:
                response.failure(outcome.failure)
            else:
                response.success()
        return outcome

    def _report(self, operation: str, outcome: Outcome) -> Outcome:
        for violation in outcome.violations:
            fire_entry(
                self.environment, CONTRACT_PREFIX + operation, failure=ContractViolation(f"{operation}: {violation}")
            )
        if outcome.environmental is not None:
            fire_entry(self.environment, f"{ENVIRONMENTAL_PREFIX}{outcome.environmental}")
        return outcome

    # --- session steps --------------------------------------------------------------

    def create(self, user_id: str, driver_type: int = 1, asset_key: str = "") -> tuple[Outcome, float]:
        """createsession for ``user_id`` (createsessionbyasset with ``asset_key``); the outcome and when it was sent."""
        self._creating = user_id
        sent = time.perf_counter()
        payload: dict[str, Any] = {"UserId": user_id, "Protocol": "rtmp", "DriverType": driver_type}
        if asset_key:
            outcome = self.call("createsessionbyasset", {"AssetVirtualmanKey": asset_key, **payload})
        else:
            outcome = self.call("createsession", {"VirtualmanProjectId": self.options.project_id, **payload})
        if outcome.ok and isinstance(outcome.payload, dict) and outcome.payload.get("SessionId"):
            self.sessions[str(outcome.payload["SessionId"])] = user_id
        self._creating = None
        return outcome, sent

    def wait_ready(self, session_id: str, created: Outcome, sent: float, *, preemptible: bool = False) -> str:
        """Poll statsession until status 1: 'ready', 'gone' (closed or preempted) or 'timeout'.

        Reports "time to ready" (create sent → status 1 seen). A session another user's
        create closed is only expected when ``preemptible``; otherwise it fails the entry.
        """
        opts = self.options
        deadline = sent + opts.ready_timeout
        status = (created.payload or {}).get("SessionStatus")
        while status != SessionStatus.READY:
            gevent.sleep(opts.poll_interval)
            outcome = self.call("statsession", {"SessionId": session_id}, GONE_CODES if preemptible else NO_CODES)
            status = (outcome.payload or {}).get("SessionStatus")
            if is_gone(outcome.code, outcome.payload):
                self.sessions.pop(session_id, None)
                if not preemptible:
                    why = _ended(outcome)
                    failure = NotReady(f"session {session_id} ended before it was ready ({why})")
                    fire_entry(self.environment, TIME_TO_READY, _ms_since(sent), failure)
                return "gone"
            if status != SessionStatus.READY and time.perf_counter() + opts.poll_interval > deadline:
                failure = NotReady(f"session {session_id} not ready within {opts.ready_timeout:g} s")
                fire_entry(self.environment, TIME_TO_READY, _ms_since(sent), failure)
                return "timeout"
        fire_entry(self.environment, TIME_TO_READY, _ms_since(sent))
        return "ready"

    def close(self, session_id: str) -> None:
        """closesession; a session already gone (preempted, expired) is fine."""
        outcome = self.call("closesession", {"SessionId": session_id}, GONE_CODES)
        if outcome.code is not None:
            self.sessions.pop(session_id, None)

    def list_sessions(self) -> list[dict[str, Any]] | None:
        outcome = self.call("listsessionofprojectid", {"VirtualmanProjectId": self.options.project_id})
        sessions = (outcome.payload or {}).get("Sessions") if outcome.ok else None
        return sessions if isinstance(sessions, list) else None

    def on_stop(self) -> None:
        """Close every session this user opened, and any a create cut short by the stop opened."""
        for session_id in list(self.sessions):
            self.close(session_id)
        if self._creating is not None:
            user_id, self._creating = self._creating, None
            for session in live_of_run(self.list_sessions() or [], user_id):
                if session.get("UserId") == user_id:
                    self.close(str(session["SessionId"]))

    def channel_url(self, session_id: str) -> str:
        """The session's command channel, signed like every call (``requestid`` is the SessionId)."""
        return channel_url(self.host or "", session_id, self.target.appkey, self.target.access_token)

    def hold(self, seconds: float) -> None:
        gevent.sleep(seconds)


def _describe(error: Any) -> str | None:
    return None if error is None else f"{type(error).__name__}: {error}"


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _ended(outcome: Outcome) -> str:
    if outcome.code:
        return f"code {outcome.code}"
    payload = outcome.payload or {}
    return f"status {payload.get('SessionStatus')}, ErrorCode {payload.get('ErrorCode', '-')}"
