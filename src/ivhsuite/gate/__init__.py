"""The contract gate: schemathesis from the spec plus scenarios, one verdict, against one IVH endpoint.

    ivhsuite gate [--base-url URL] [--report-dir DIR] [--max-examples N] [--seed S] [--workers N]

Its core, lowest first: ``options``, ``shaping`` (realistic positive cases), ``quota_guard``,
``context`` (one run's shared state), ``network``, ``curl``, ``preflight``, ``findings``
(failures.txt) and ``summary`` (the result and its summaries), ``runner`` (the whole run), ``cli``.
On it stand its two halves, apart: ``spec_cases/`` (schemathesis in-process, its checks over
:mod:`ivhsuite.contract`'s judge) and ``scenarios/`` (pytest running ``contract_tests/``).

>>> from ivhsuite.gate import GateOptions, run_gate  # doctest: +SKIP
>>> run_gate(GateOptions.from_env(max_examples=5)).exit_code  # doctest: +SKIP
0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ivhsuite.contract import PROMISES, broken
from ivhsuite.gate.findings import Finding
from ivhsuite.gate.options import GateOptions
from ivhsuite.gate.summary import GateResult, gate_summary

if TYPE_CHECKING:
    from ivhsuite.gate.runner import run_gate

__all__ = ["Finding", "GateOptions", "GateResult", "PROMISES", "broken", "gate_summary", "run_gate"]


def __getattr__(name: str) -> Any:
    # The runner pulls in schemathesis and pytest: load it only when a run is asked for.
    if name == "run_gate":
        from ivhsuite.gate.runner import run_gate

        return run_gate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
