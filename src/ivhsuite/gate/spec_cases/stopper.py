"""Stopping schemathesis runs on Ctrl-C, SIGTERM and ``--max-time``, on every thread, reliably.

Two gaps this module closes:

- The gate runs parts of the generated half on threads of their own
  (:mod:`ivhsuite.gate.spec_cases.in_process`), and a signal reaches the main thread only.
- Schemathesis (4.32) swallows a ``KeyboardInterrupt`` that lands while a phase starts or
  stops its worker threads, and goes on with the next phase: with 8 workers a Ctrl-C at
  the start of a run was lost every time.

:func:`interruptible` wraps the half: a SIGINT or SIGTERM sets a flag before the usual
handler raises ``KeyboardInterrupt``; :func:`request_stop` marks one thread. Once the
flag is set, the ``before_call`` hook here raises ``KeyboardInterrupt`` in the worker
about to send a request, which ends its test as interrupted at once (a phase reports an
operation only when all its cases are done: at 200 ms a request that can take half a
minute). The CLI handler :class:`StopWhenAsked`, which schemathesis calls for every event
on the thread that runs the run, raises ``KeyboardInterrupt`` there while the flag or
the mark holds, and schemathesis winds the run down as on a Ctrl-C: its engine stops,
its reports are written, it exits with 130. Importing this module registers the hook
and the handler (once per process).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import schemathesis
from schemathesis.cli import handler
from schemathesis.cli.commands.run.handlers.base import EventHandler

# No lock guards these: the handler reads them on the main thread for every event, where a
# KeyboardInterrupt landing between a lock's acquire and its ``with`` block would leave the
# lock held and hang the next event. Adding to, removing from and testing a set are atomic.
_stopping: set[int] = set()
_interrupted = threading.Event()


def request_stop(thread: threading.Thread) -> None:
    """Ask the schemathesis run on ``thread`` to stop at its next event."""
    if thread.ident is not None:
        _stopping.add(thread.ident)


def forget(thread: threading.Thread) -> None:
    """The thread ended: a later thread may reuse its ident."""
    _stopping.discard(thread.ident or 0)


def interrupted() -> bool:
    """A SIGINT or SIGTERM arrived inside :func:`interruptible`."""
    return _interrupted.is_set()


def stop_requested() -> bool:
    return _interrupted.is_set() or threading.get_ident() in _stopping


@contextmanager
def interruptible() -> Iterator[None]:
    """Note SIGINT and SIGTERM, then let the handlers already installed act (both raise ``KeyboardInterrupt``).

    Only the main thread can install handlers; elsewhere this changes nothing. A signal that is
    ignored (``nohup … &`` starts Python with SIGINT ignored) or left to the default stays so.
    """
    _interrupted.clear()
    installed: list[tuple[int, Any]] = []
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)
            if callable(previous):
                signal.signal(signum, _noting(previous))
                installed.append((signum, previous))
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        for signum, previous in installed:
            signal.signal(signum, previous)
        _interrupted.clear()


def _noting(previous: Any) -> Any:
    def note(signum: int, frame: Any) -> Any:
        _interrupted.set()
        return previous(signum, frame)

    return note


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    """Once interrupted, no worker sends another request."""
    if _interrupted.is_set():
        raise KeyboardInterrupt


class StopWhenAsked(EventHandler):
    """Raises ``KeyboardInterrupt`` in a run that was interrupted or asked to stop; does nothing otherwise."""

    def __init__(self, *args: Any, **params: Any) -> None:
        pass

    def handle_event(self, ctx: Any, event: Any) -> None:
        if stop_requested():
            raise KeyboardInterrupt


handler()(StopWhenAsked)  # registers the class; the decorator form would leave the name bound to None
