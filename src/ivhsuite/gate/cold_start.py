"""Every cold session of a run is a chance to check "no startsession while preparing" (page 100390).

Against a real endpoint a session that answers its create with status 3 is rare: a model
cache warmed by any earlier create of the project (per UserId, or per Protocol) makes the
next ones ready at once. So whichever create of the run meets one, generated or scenario,
hands it to :meth:`ColdStarts.seize`, which sends startsession at once and stats the
session: refused, the promise held; accepted while the status is still 3, it is broken.
Once per Protocol is enough. The scenario ``test_start_refused_while_preparing`` reports
the verdict of its Protocol; one its own create did not meet (a warm cache) is settled at
the end of the run (:meth:`ColdStarts.settle`): a finding, or an observation.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ivhsuite.contract import broken, policy
from ivhsuite.errors import IvhsuiteError
from ivhsuite.gate.curl import curl_line
from ivhsuite.gate.findings import Finding
from ivhsuite.protocol import Answer, SessionStatus

PROMISE = "start-after-ready"
TIMEOUT = 30.0  # seconds for one answer
Send = Callable[[str, dict[str, Any]], tuple[Answer, str]]  # (operation, payload) -> the answer and its curl line


@dataclass(frozen=True)
class Verdict:
    """What one seized cold session said: ``held`` (start refused), or the promise it broke and how."""

    protocol: str
    held: bool
    source: str  # what created the session: "generated" or "scenarios"
    detail: str
    curl: tuple[str, ...] = ()
    promise: str = PROMISE


@dataclass
class ColdStarts:
    """Thread-safe: schemathesis workers and the scenarios share one per run."""

    verdicts: dict[str, Verdict] = field(default_factory=dict)
    _trying: set[str] = field(default_factory=set)
    _reported: set[str] = field(default_factory=set)  # Protocols whose scenario gave the verdict
    _missed: dict[str, str] = field(default_factory=dict)  # Protocol -> node id of a scenario that met no cold session
    started_ready: set[str] = field(default_factory=set)  # sessions started because they turned ready before the start
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def wanted(self, protocol: Any) -> bool:
        with self._lock:
            return isinstance(protocol, str) and protocol not in self.verdicts and protocol not in self._trying

    def seize(
        self,
        session_id: str,
        protocol: str,
        send: Send,
        source: str,
    ) -> Verdict | None:
        """startsession at once on a session its create answered with status 3, then statsession.

        ``send(operation, payload)`` gives the answer and the request's curl line. None: another
        create of this Protocol is being tried, or was judged, or the session turned ready first
        (then it is started: the caller decides what to do with it).
        """
        with self._lock:
            if protocol in self.verdicts or protocol in self._trying:
                return None
            self._trying.add(protocol)
        try:
            verdict = self._try(session_id, protocol, send, source)
        except IvhsuiteError:  # the network took the answer: no verdict, a later cold session may give one
            verdict = None
        finally:
            with self._lock:
                self._trying.discard(protocol)
        if verdict is not None:
            with self._lock:
                self.verdicts.setdefault(protocol, verdict)
        return verdict

    def _try(
        self, session_id: str, protocol: str, send: Send, source: str
    ) -> Verdict | None:
        started, start_curl = send("startsession", {"ReqId": uuid.uuid4().hex, "SessionId": session_id})
        if policy.is_gateway_answer(started.status):
            return None
        if started.status >= 500:
            detail = f"startsession on a preparing {protocol} session got {started}"
            return Verdict(protocol, False, source, detail, (start_curl,), "no-server-error")
        after, stat_curl = send("statsession", {"ReqId": uuid.uuid4().hex, "SessionId": session_id})
        still_preparing = after.payload.get("SessionStatus") == SessionStatus.PREPARING
        if started.rejected:
            # Refused while still preparing: held. Refused once closed (another worker's close came first): no verdict.
            held = f"startsession on a preparing {protocol} session got {started}"
            return Verdict(protocol, True, source, held) if still_preparing else None
        if not still_preparing:
            with self._lock:
                self.started_ready.add(session_id)
            return None  # ready between create and start: no verdict, and the session is started
        detail = f"startsession was accepted ({started}) while the {protocol} session was preparing (status 3)"
        return Verdict(protocol, False, source, detail, (start_curl, stat_curl))

    def claim(self, protocol: str) -> Verdict | None:
        """The verdict for the Protocol's scenario to report (it owns it from now on), if there is one."""
        with self._lock:
            found = self.verdicts.get(protocol)
            if found is not None:
                self._reported.add(protocol)
            return found

    def missed(self, protocol: str, nodeid: str) -> None:
        """The Protocol's scenario met no cold session: a later create may still."""
        with self._lock:
            self._missed[protocol] = nodeid

    def settle(self, findings: list[Finding], observations: dict[str, str]) -> None:
        """At the end of the run: each verdict no scenario reported becomes a finding or an observation."""
        with self._lock:
            unreported = [v for p, v in self.verdicts.items() if p not in self._reported]
            missed = dict(self._missed)
        for verdict in unreported:
            nodeid = missed.get(verdict.protocol)
            if nodeid is not None:
                observations.pop(f"not-run:{nodeid}", None)
            where = f"a cold {verdict.protocol} session of the {verdict.source} creates"
            if verdict.held:
                observations.setdefault(
                    f"cold-start:{verdict.protocol}", f"start while preparing checked on {where}: {verdict.detail}"
                )
            else:
                message = broken(verdict.promise, verdict.detail)
                findings.append(Finding(verdict.promise, verdict.source, where, message, verdict.curl))


def sender(client: Any, secrets: tuple[str | None, ...], count: Callable[[], None]) -> Send:
    """``send`` for :meth:`ColdStarts.seize` over the run's client: the answer and a curl line; ``count`` each request."""

    def send(operation: str, payload: dict[str, Any]) -> tuple[Answer, str]:
        response = client.send(operation, payload, timeout=TIMEOUT)
        count()
        request = response.request
        curl = curl_line(request.method, str(request.url), request.content, request.headers.get("content-type"), secrets)
        return Answer.read(response.status_code, response.content), curl

    return send
