"""Progress of a long run: a live line on a terminal, plain timestamped lines in CI and logs."""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Protocol

from rich.console import Console
from rich.status import Status

from ivhsuite.config import ENV_CI


class Progress(Protocol):
    def start(self, step: str) -> None: ...
    def done(self, step: str, outcome: str) -> None: ...
    def close(self) -> None: ...


class PlainProgress:
    """One line per event, so CI logs stay readable and greppable."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stderr
        self._began: dict[str, float] = {}

    def _line(self, text: str) -> None:
        print(f"[ivhsuite {time.strftime('%H:%M:%S')}] {text}", file=self._stream, flush=True)

    def start(self, step: str) -> None:
        self._began[step] = time.monotonic()
        self._line(f"{step}: started")

    def done(self, step: str, outcome: str) -> None:
        took = time.monotonic() - self._began.pop(step, time.monotonic())
        self._line(f"{step}: {outcome} ({took:.0f} s)")

    def close(self) -> None:
        pass


class LiveProgress(PlainProgress):
    """A spinner naming the running step; finished steps stay printed above it."""

    def __init__(self, console: Console) -> None:
        super().__init__(console.file)
        self._console = console
        self._status: Status | None = None

    def start(self, step: str) -> None:
        self._began[step] = time.monotonic()
        if self._status is None:
            self._status = self._console.status(step)
            self._status.start()
        else:
            self._status.update(step)

    def done(self, step: str, outcome: str) -> None:
        took = time.monotonic() - self._began.pop(step, time.monotonic())
        colour = "green" if outcome.startswith(("passed", "green")) else "red"
        self._console.print(f"[{colour}]{step}: {outcome}[/] ({took:.0f} s)")

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def for_terminal(stream: IO[str] | None = None) -> Progress:
    """Live on an interactive terminal, plain when CI is set or output is redirected."""
    stream = stream or sys.stderr
    if os.environ.get(ENV_CI) or not stream.isatty():
        return PlainProgress(stream)
    return LiveProgress(Console(file=stream))
