"""Progress of a long run: a live line on a terminal, plain timestamped lines in CI and logs.

A run says which step it is in (``start``/``done``) and, while it runs, which phase and
what counts (``update``); the raw output of the tools it drives goes to its report files.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Protocol

from rich.console import Console
from rich.status import Status

from ivhsuite.config import ENV_CI

TICK_SECONDS = 0.5


class Progress(Protocol):
    def start(self, step: str) -> None: ...
    def update(self, phase: str, counts: str = "") -> None: ...
    def done(self, step: str, outcome: str) -> None: ...
    def close(self) -> None: ...


class PlainProgress:
    """One line per event, so CI logs stay readable and greppable: a phase is printed once, counts never."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stderr
        self._began: dict[str, float] = {}
        self._step = ""
        self._phase = ""

    def _line(self, text: str) -> None:
        print(f"[ivhsuite {time.strftime('%H:%M:%S')}] {text}", file=self._stream, flush=True)

    def start(self, step: str) -> None:
        self._began[step] = time.monotonic()
        self._step, self._phase = step, ""
        self._line(f"{step}: started")

    def update(self, phase: str, counts: str = "") -> None:
        if phase != self._phase:
            self._phase = phase
            self._line(f"{self._step}: {phase}")

    def done(self, step: str, outcome: str) -> None:
        took = time.monotonic() - self._began.pop(step, time.monotonic())
        self._line(f"{step}: {outcome} ({took:.0f} s)")

    def close(self) -> None:
        pass


class LiveProgress(PlainProgress):
    """A spinner naming the running step, its phase and counts; finished steps stay printed above it."""

    def __init__(self, console: Console) -> None:
        super().__init__(console.file)
        self._console = console
        self._status: Status | None = None

    def _show(self, text: str) -> None:
        if self._status is None:
            self._status = self._console.status(text)
            self._status.start()
        else:
            self._status.update(text)

    def start(self, step: str) -> None:
        self._began[step] = time.monotonic()
        self._step, self._phase = step, ""
        self._show(step)

    def update(self, phase: str, counts: str = "") -> None:
        self._phase = phase
        took = time.monotonic() - self._began.get(self._step, time.monotonic())
        self._show(" · ".join(part for part in (self._step, phase, counts, f"{took:.0f} s") if part))

    def done(self, step: str, outcome: str) -> None:
        took = time.monotonic() - self._began.pop(step, time.monotonic())
        colour = "green" if outcome.startswith(("passed", "green")) else "red"
        self._console.print(f"[{colour}]{step}: {outcome}[/] ({took:.0f} s)")

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


class Silent:
    """No progress: what a run reports to when nobody watches (``ivhsuite gate`` prints its own lines)."""

    def start(self, step: str) -> None:
        pass

    def update(self, phase: str, counts: str = "") -> None:
        pass

    def done(self, step: str, outcome: str) -> None:
        pass

    def close(self) -> None:
        pass


@contextmanager
def ticking(progress: Progress, phase: str, counts: Callable[[], str]) -> Iterator[None]:
    """Report ``phase`` with fresh ``counts()`` every tick while the block runs, and once at its end."""
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(TICK_SECONDS):
            progress.update(phase, counts())

    progress.update(phase, counts())
    thread = threading.Thread(target=tick, name="ivhsuite-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        progress.update(phase, counts())


def for_terminal(stream: IO[str] | None = None) -> Progress:
    """Live on an interactive terminal, plain when CI is set or output is redirected."""
    stream = stream or sys.stderr
    if os.environ.get(ENV_CI) or not stream.isatty():
        return PlainProgress(stream)
    return LiveProgress(Console(file=stream))
