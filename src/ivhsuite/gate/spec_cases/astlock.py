"""One ``ast.parse`` at a time, in any process that runs schemathesis workers with the gate's hooks.

CPython 3.11 keeps the AST builder's recursion depth in shared state, so two threads
parsing at once can fail with "SystemError: AST constructor recursion depth mismatch"
(python/cpython#106905). Hypothesis parses lambdas' source to describe strategies, in
every worker: unguarded, a run with ``--workers 2`` sometimes errors for no fault of the
API, and an error must never pass for a broken promise.
"""

from __future__ import annotations

import ast
import functools
import threading
from typing import Any

_LOCK = threading.RLock()


def install() -> None:
    """Wrap ``ast.parse`` in a process-wide lock; calling it again changes nothing."""
    if getattr(ast.parse, "_ivhsuite_locked", False):
        return
    original = ast.parse

    @functools.wraps(original)
    def parse(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return original(*args, **kwargs)

    parse._ivhsuite_locked = True  # type: ignore[attr-defined]
    ast.parse = parse  # type: ignore[assignment]
