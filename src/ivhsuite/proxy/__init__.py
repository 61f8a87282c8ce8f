"""A validating proxy for an application's use of the IVH API: ``ivhsuite proxy``.

The application talks to the proxy instead of the endpoint; every call, and every frame of
the WebSocket command channel, is forwarded unchanged while both directions and the session
rules are checked.

Modules, lowest first: ``findings`` (calls, findings, the rule catalogue),
``request_checks`` and ``answer_checks`` (one exchange, stateless), ``rules`` (the
per-session and per-UserId state machine, channels and audio sequences included, no HTTP),
``relay`` (the channel's upstream), ``app`` (the ASGI forwarder and channel relay),
``server`` (uvicorn on a thread), ``timeline`` and ``report`` (writers), ``run`` (one
run, signals, the wrapped command), ``cli``.

>>> from ivhsuite.proxy import ProxyOptions, run_proxy  # doctest: +SKIP
>>> run_proxy(ProxyOptions(command=("pytest", "tests/integration"))).exit_code  # doctest: +SKIP
0
"""

from __future__ import annotations

from ivhsuite.proxy.app import VIOLATIONS_HEADER, ProxyApp
from ivhsuite.proxy.findings import RULES, Call, Finding, Findings, Rule
from ivhsuite.proxy.rules import Policy, Track, Tracker
from ivhsuite.proxy.run import ProxyOptions, ProxyResult, run_proxy

__all__ = [
    "Call",
    "Finding",
    "Findings",
    "Policy",
    "ProxyApp",
    "ProxyOptions",
    "ProxyResult",
    "RULES",
    "Rule",
    "Track",
    "Tracker",
    "VIOLATIONS_HEADER",
    "run_proxy",
]
