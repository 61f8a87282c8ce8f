"""Stopping a schemathesis run that runs on another thread than the main one.

Ctrl-C, SIGTERM and ``--max-time`` reach the main thread only. The gate runs the
stateful phase beside the others, on a thread of its own (:mod:`ivhsuite.gate.generated`),
and that run must stop too. :func:`request_stop` marks its thread; the CLI handler
:class:`StopWhenAsked`, which schemathesis calls on that thread for every event, then
raises ``KeyboardInterrupt`` there, and schemathesis winds the run down as it does on a
Ctrl-C: its engine stops, its reports are written, it exits with 130.

Importing this module registers the handler (once per process, as every CLI handler).
"""

from __future__ import annotations

import threading
from typing import Any

from schemathesis.cli import handler
from schemathesis.cli.commands.run.handlers.base import EventHandler

_stopping: set[int] = set()
_lock = threading.Lock()


def request_stop(thread: threading.Thread) -> None:
    """Ask the schemathesis run on ``thread`` to stop at its next event."""
    if thread.ident is not None:
        with _lock:
            _stopping.add(thread.ident)


def forget(thread: threading.Thread) -> None:
    """The thread ended: a later thread may reuse its ident."""
    with _lock:
        _stopping.discard(thread.ident or 0)


def stop_requested() -> bool:
    with _lock:
        return threading.get_ident() in _stopping


@handler()
class StopWhenAsked(EventHandler):
    """Raises ``KeyboardInterrupt`` in a run whose thread was asked to stop; does nothing otherwise."""

    def __init__(self, *args: Any, **params: Any) -> None:
        pass

    def handle_event(self, ctx: Any, event: Any) -> None:
        if stop_requested():
            raise KeyboardInterrupt
