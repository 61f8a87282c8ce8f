"""What the proxy judges and what it reports: one call, one finding, the rules they name.

A finding is about one side of the traffic. ``client`` findings are the application's
misuse of the API (the rules of :data:`~ivhsuite.contract.client_rules.CLIENT_RULES`,
worded in the contract next to the endpoint's promises; the advice among them fails a run only
on request); ``endpoint`` findings are promises
the endpoint broke, named with the gate's promise keys (:mod:`ivhsuite.contract.promises`) so a
finding here reads like the same failure in ``ivhsuite gate``.

>>> RULES["text-interval"].side
'client'
>>> RULES["reqid-echoed"].side
'endpoint'
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ivhsuite.contract import PROMISES
from ivhsuite.contract.client_rules import ADVICE, CLIENT_RULES

Side = Literal["client", "endpoint"]
SIDES: tuple[Side, ...] = ("client", "endpoint")
KEPT_PER_RULE = 200  # findings kept in full per rule; the rest are only counted (a tight loop makes thousands)


@dataclass(frozen=True)
class Rule:
    key: str
    side: Side
    description: str
    advice: bool = False  # suggested by the docs, not required: fails a run only with --strict-advice


ENDPOINT_RULES: tuple[str, ...] = (
    "no-server-error",
    "status-documented",
    "json-content-type",
    "response-schema",
    "reqid-echoed",
    "negative-rejected",
    "positive-accepted",
    "css-withholds-play-addr",
    "start-after-ready",
    "command-after-start",
    "command-rate",
    "preemption",
    "channel-message-schema",
    "channel-refusal-documented",
    "channel-reqid",
)

RULES: dict[str, Rule] = {
    **{key: Rule(key, "client", text, key in ADVICE) for key, text in CLIENT_RULES.items()},
    **{key: Rule(key, "endpoint", PROMISES[key]) for key in ENDPOINT_RULES},
}


@dataclass(slots=True)
class Call:
    """One exchange through the proxy, filled in as it goes (request, then answer).

    ``at`` is seconds since the proxy started; ``peer`` the application's address.
    """

    seq: int
    at: float
    method: str
    path: str
    operation: str | None
    peer: str
    req_id: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    project_id: str | None = None
    status: int | None = None  # HTTP status of the answer; None until it came (or if it never did)
    code: int | None = None  # Header.Code of the answer
    duration: float | None = None
    fingerprint: int | None = None  # hash of the raw body or frame: a resend of the same bytes is no new request

    @property
    def label(self) -> str:
        return self.operation or f"{self.method} {self.path}"


@dataclass(frozen=True, slots=True)
class Finding:
    """One broken rule: which, on which side, what was seen, and the offending call."""

    rule: str
    message: str
    call: Call | None
    session_id: str | None = None
    user_id: str | None = None

    @property
    def side(self) -> Side:
        return RULES[self.rule].side

    def line(self) -> str:
        """One terminal line: side, rule, who, which session, what."""
        who = []
        if self.session_id:
            who.append(f"session {self.session_id}")
        if self.user_id:
            who.append(f"UserId {self.user_id}")
        if self.call is not None:
            who.append(f"{self.call.label} #{self.call.seq} from {self.call.peer}")
        where = f" ({', '.join(who)})" if who else ""
        kind = "ADVICE" if RULES[self.rule].advice else self.side.upper()  # advice fails a run only on request
        return f"{kind} [{self.rule}]{where}: {self.message}"


@dataclass
class Findings:
    """Every finding of a run, counted per rule, kept in full up to :data:`KEPT_PER_RULE` each.

    Safe to feed from the server's thread and read from the main one.
    """

    on_finding: Callable[[Finding], None] | None = None
    counts: Counter[str] = field(default_factory=Counter)
    kept: dict[str, list[Finding]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, found: list[Finding]) -> None:
        for finding in found:
            with self._lock:
                self.counts[finding.rule] += 1
                kept = self.kept.setdefault(finding.rule, [])
                if len(kept) < KEPT_PER_RULE:
                    kept.append(finding)
            if self.on_finding is not None:
                self.on_finding(finding)

    def total(self, side: Side | None = None, *, advice: bool = True) -> int:
        """Findings of ``side`` (None: both); ``advice`` False leaves the advice rules out."""
        with self._lock:
            return sum(
                n
                for rule, n in self.counts.items()
                if (side is None or RULES[rule].side == side) and (advice or not RULES[rule].advice)
            )

    def by_rule(self) -> dict[str, list[Finding]]:
        """Kept findings per rule, in the catalogue's order."""
        with self._lock:
            return {rule: list(self.kept[rule]) for rule in RULES if rule in self.kept}
