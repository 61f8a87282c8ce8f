"""When a request may be sent again: one policy for the httpx client, the gate's schemathesis transport and the load user.

Every session is a paid stream, so a request is sent again only when doing so cannot
create a second one or drive one twice:

- ``statsession``, the three listings, ``gettrtcsign``, ``startsession`` and ``closesession``
  change nothing when repeated (a second start or close is harmless), so they are retried after
  any environmental fault: a reset or dropped connection, a timeout, a 502/503/504;
- the two creates and ``command`` are retried only when the request provably never left
  (:attr:`Fault.NOT_SENT`: the connection could not be opened, or writing the request
  failed, so the server never read a whole request). After anything else the outcome is
  unknown: the caller reports it and the run's sweep reconciles (:mod:`ivhsuite.run_sessions`).

A 5xx other than 502/503/504 is the endpoint's own answer and never retried. When every
attempt of a retried request answered 502/503/504, the 5xx repeats for the same input:
it is the endpoint's own failure too (:attr:`Attempts.repeated_5xx`), not the network's.

Each HTTP library maps its own exceptions to a :class:`Fault`; this module knows none of them.

>>> policy = RetryPolicy()
>>> attempts = policy.start("statsession")
>>> attempts.failed(Fault.gateway(502, page=True))
0.2
>>> policy.start("createsession").failed(Fault.RESET) is None
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

# Repeating these changes nothing on the server (a second start or close is answered, not acted on twice).
SAFE_OPERATIONS: frozenset[str] = frozenset(
    {
        "statsession",
        "listsessionofprojectid",
        "listsessionofuin",
        "listsessionofassetvk",
        "gettrtcsign",
        "startsession",
        "closesession",
    }
)
# What a gateway or load balancer answers when the upstream hiccups.
GATEWAY_STATUSES: frozenset[int] = frozenset({502, 503, 504})

DEFAULT_ATTEMPTS = 3
DEFAULT_FIRST_DELAY = 0.2  # seconds before the first retry; doubles each time
DEFAULT_MAX_DELAY = 2.0


@dataclass(frozen=True)
class Fault:
    """One environmental failure of one attempt: its kind, and for a gateway answer its status.

    ``kind`` is one of :attr:`KINDS`; ``page`` says a gateway answer was not the API's JSON
    envelope (an HTML page from a proxy).
    """

    kind: str
    status: int | None = None
    page: bool = False

    KINDS: ClassVar[tuple[str, ...]] = ("not sent", "reset", "timeout", "gateway")
    NOT_SENT: ClassVar[Fault]
    RESET: ClassVar[Fault]
    TIMEOUT: ClassVar[Fault]

    @classmethod
    def gateway(cls, status: int, *, page: bool) -> Fault:
        return cls("gateway", status, page)

    @property
    def label(self) -> str:
        """How reports name it: ``reset``, ``timeout``, ``not sent``, ``HTTP 502 page``, ``HTTP 503``."""
        if self.kind == "gateway":
            return f"HTTP {self.status}{' page' if self.page else ''}"
        return self.kind


Fault.NOT_SENT = Fault("not sent")
Fault.RESET = Fault("reset")
Fault.TIMEOUT = Fault("timeout")


def status_fault(status: int, is_envelope: bool) -> Fault | None:
    """The fault an HTTP answer stands for (502/503/504), or None for an answer to judge."""
    return Fault.gateway(status, page=not is_envelope) if status in GATEWAY_STATUSES else None


def may_retry(operation: str | None, fault: Fault) -> bool:
    """Whether sending ``operation`` again after ``fault`` is safe (module docstring)."""
    return fault.kind == "not sent" or operation in SAFE_OPERATIONS


@dataclass
class Attempts:
    """The faults one logical request met, attempt by attempt; ask :meth:`failed` after each one."""

    operation: str
    policy: RetryPolicy
    faults: list[Fault] = field(default_factory=list)
    retries: int = 0
    gave_up: bool = False  # the last fault was not retried: the request ended without an answer to judge

    def failed(self, fault: Fault) -> float | None:
        """Record a failed attempt; seconds to wait before sending again, or None to give up."""
        self.faults.append(fault)
        if len(self.faults) >= self.policy.attempts or not may_retry(self.operation, fault):
            self.gave_up = True
            return None
        self.retries += 1
        return self.policy.delay(self.retries)

    @property
    def repeated_5xx(self) -> bool:
        """Every attempt (two or more) answered 502/503/504: the endpoint's own failure, not the network's."""
        return len(self.faults) >= 2 and all(f.kind == "gateway" for f in self.faults)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait. ``attempts`` counts the first send."""

    attempts: int = DEFAULT_ATTEMPTS
    first_delay: float = DEFAULT_FIRST_DELAY
    max_delay: float = DEFAULT_MAX_DELAY

    def start(self, operation: str) -> Attempts:
        return Attempts(operation, self)

    def delay(self, retry: int) -> float:
        """Seconds before retry number ``retry`` (1-based): exponential, capped."""
        return min(self.max_delay, self.first_delay * 2 ** (retry - 1))


DEFAULT_POLICY = RetryPolicy()
NO_RETRIES = RetryPolicy(attempts=1)

Observer = Callable[[Attempts], None]
"""Told about every logical request that met a fault (:class:`ivhsuite.environmental.Tally.record`)."""
