"""The API's contract, judged once: the promises (key and wording), the policy on what the docs leave open, the judge.

Below the gate, the load run and the proxy, which each drive it from their own transport
(schemathesis, locust, an ASGI forwarder) and report its issues in its words.

>>> broken("no-server-error", "HTTP 500")
'broken promise [no-server-error]: the endpoint never answers 5xx — HTTP 500'
"""

from __future__ import annotations

from ivhsuite.contract.judge import GATE, PROXY, UNREADABLE, Exchange, Judge, Judgement, Stance
from ivhsuite.contract.promises import PROMISES, Issue, broken, keys_in

__all__ = [
    "Exchange",
    "GATE",
    "Issue",
    "Judge",
    "Judgement",
    "PROMISES",
    "PROXY",
    "Stance",
    "UNREADABLE",
    "broken",
    "keys_in",
]
