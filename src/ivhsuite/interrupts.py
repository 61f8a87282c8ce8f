"""Ctrl-C and a CI runner's SIGTERM, taken the same way by every command: stop, sweep, exit 130 or 143.

Inside :func:`trapped`, SIGINT raises :class:`KeyboardInterrupt` and SIGTERM raises
:class:`Terminated` (a ``KeyboardInterrupt``, so every clean-up written for Ctrl-C runs for
it too), and the signal is remembered: a library that swallows the ``KeyboardInterrupt``
(schemathesis stops its workers and returns an exit code) cannot hide it from the run,
which asks :func:`received`. Inside :func:`shielded` (the sweep), further signals are
remembered but raise nothing: every open session is a paid stream and its close must finish.

>>> int(exit_code_for(signal.SIGTERM))
143
"""

from __future__ import annotations

import _thread
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from ivhsuite.protocol import ExitCode

_state = threading.local()
_received: list[int] = []  # signals seen since the outermost trap was set, oldest first
_shield_depth = 0


class Terminated(KeyboardInterrupt):
    """SIGTERM: the process was asked to stop (a cancelled CI job)."""


class TimeUp(KeyboardInterrupt):
    """The run's own time bound (``--max-time``): stop and clean up as for Ctrl-C, but no signal was received."""


_alarm_rang = threading.Event()


def alarm(seconds: float) -> threading.Timer:
    """After ``seconds``, raise :class:`TimeUp` in the main thread (inside :func:`trapped`); cancel it when done."""

    def ring() -> None:
        _alarm_rang.set()
        _thread.interrupt_main()

    timer = threading.Timer(seconds, ring)
    timer.daemon = True
    timer.start()
    return timer


def exit_code_for(signum: int | None) -> ExitCode:
    """130 after SIGINT, 143 after SIGTERM."""
    return ExitCode.TERMINATED if signum == signal.SIGTERM else ExitCode.INTERRUPTED


def received() -> int | None:
    """The first signal seen inside :func:`trapped` (``signal.SIGINT`` or ``signal.SIGTERM``), or None."""
    return _received[0] if _received else None


def exit_code(default: int) -> int:
    """``default``, unless a signal was received: then 130 or 143."""
    signum = received()
    return default if signum is None else exit_code_for(signum)


def _handler(signum: int, frame: FrameType | None) -> None:
    if signum == signal.SIGINT and _alarm_rang.is_set():  # our own alarm, not a person's Ctrl-C
        _alarm_rang.clear()
        if not _shield_depth:
            raise TimeUp
        return
    _received.append(signum)
    if _shield_depth:
        return
    raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def trapped() -> Iterator[None]:
    """SIGINT and SIGTERM raise (see the module) for the block; the previous handlers come back after it."""
    if not _main_thread():
        yield
        return
    outermost = not getattr(_state, "depth", 0)
    if outermost:
        _received.clear()
    _state.depth = getattr(_state, "depth", 0) + 1
    previous: dict[int, Any] = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _state.depth -= 1


@contextmanager
def shielded() -> Iterator[None]:
    """Signals inside the block are remembered, not raised: the clean-up must not be cut short."""
    global _shield_depth
    if not _main_thread():
        yield
        return
    previous: dict[int, Any] = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    _shield_depth += 1
    try:
        yield
    finally:
        _shield_depth -= 1
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def interrupted_by(exc: BaseException) -> int:
    """The signal behind a KeyboardInterrupt: SIGTERM for :class:`Terminated`, else the one received, else SIGINT."""
    if isinstance(exc, Terminated):
        return signal.SIGTERM
    return received() or signal.SIGINT


def relay_to_child(process: subprocess.Popen[Any], wait: Callable[[], int] | None = None) -> tuple[int, int | None]:
    """Wait for a child started in its own process group (``start_new_session=True``), relaying one signal.

    ``wait`` is how to wait (default ``process.wait``; a caller may poll and show progress). On
    SIGINT or SIGTERM the child gets that one signal, exactly once (a terminal's Ctrl-C would
    otherwise reach a child in our group a second time), and is waited for, shielded: it closes
    its run's sessions and writes its reports. Returns the child's exit code and None, or after a
    signal 130/143 and the signal.
    """
    try:
        return (wait() if wait is not None else process.wait()), None
    except KeyboardInterrupt as exc:
        signum = interrupted_by(exc)
        with shielded():
            process.send_signal(signum)
            process.wait()
        return exit_code_for(signum), signum
