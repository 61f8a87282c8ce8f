"""Which promise each schemathesis check guards: the gate's own checks carry the key in their name.

The promises themselves, their keys and wording, are :mod:`ivhsuite.contract.promises`.
"""

from __future__ import annotations

from ivhsuite.contract.promises import PROMISES

# schemathesis's own checks that stay on, and the promise each one guards.
STOCK_CHECKS: dict[str, str] = {
    "response_headers_conformance": "response-schema",
}


def promise_of_check(check_name: str) -> str | None:
    """The promise a schemathesis check guards: ours carry the key in their name."""
    if check_name in STOCK_CHECKS:
        return STOCK_CHECKS[check_name]
    key = check_name.removeprefix("ivh_").replace("_", "-")
    return key if key in PROMISES else None
