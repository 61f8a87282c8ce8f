"""The generated-request half of the gate: ``schemathesis run``, in this process.

In-process so the hooks share the run's :class:`~ivhsuite.gate.context.RunContext` (its
session guard closes what the workers create, also on Ctrl-C) and so schemathesis
writes its own reports. Everything it prints goes through :func:`ivhsuite.redact.redact`.

The half runs as parts (:mod:`ivhsuite.gate.spec_cases.parts`), each a schemathesis run on a
thread of its own, all at once; they share the hooks and the session guard, so the
quota holds across all of them. The first part prints as it goes; the others' output
follows when all are done, and their reports are folded into the first's
(:mod:`ivhsuite.gate.spec_cases.merge_reports`). Ctrl-C, SIGTERM and ``--max-time`` reach the main
thread; the other parts are then asked to stop (:mod:`ivhsuite.gate.spec_cases.stopper`) and
waited for before the half returns, so every session they open reaches the guard
before the clean-up.
"""

from __future__ import annotations

import importlib
import io
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from ivhsuite import packaged
from ivhsuite.config import setting
from ivhsuite.errors import ConfigError
from ivhsuite.gate.context import RunContext, active
from ivhsuite.gate.spec_cases.merge_reports import fold_into
from ivhsuite.gate.spec_cases.parts import Part, plan, whole
from ivhsuite.protocol import ExitCode
from ivhsuite.redact import redact
from ivhsuite.spec import default_spec_path

REPORTS = "junit,har,vcr"
FOLDED = "its reports are merged into the files listed above"
STOP_WAIT = 60.0  # seconds a part gets to wind down once asked to stop (one round trip, usually)


def config_path() -> Path:
    """The ``schemathesis_config`` setting when set, else the packaged ``schemathesis.toml``."""
    given = setting("schemathesis_config")
    if not given:
        return packaged.schemathesis_config()
    path = Path(given)
    if not path.is_file():
        raise ConfigError(f"cannot read the schemathesis config {path}: no such file")
    return path


def arguments(run: RunContext, out_dir: Path, part: Part | None = None) -> list[str]:
    """``schemathesis run``'s arguments for ``part`` (default: every phase in one run), reports in ``out_dir``."""
    options = run.options
    part = part or whole(options)
    spec_path = run.spec.path or default_spec_path()
    args = [
        "--config-file",
        str(config_path()),
        "run",
        str(spec_path),
        "--url",
        str(run.target.base_url),
        "--phases",
        ",".join(part.phases),
        "--max-examples",
        str(part.max_examples),
        "--workers",
        str(options.workers),
        "--report",
        REPORTS,
        "--report-dir",
        str(out_dir),
        "--report-junit-path",
        str(out_dir / "junit.xml"),
        "--report-har-path",
        str(out_dir / "har.json"),
        "--report-vcr-path",
        str(out_dir / "cassette.yaml"),
        "--no-color",
    ]
    if part.seed is not None:
        args += ["--seed", str(part.seed)]
    return args


def run_generated(run: RunContext, out_dir: Path) -> int:
    """Run every configured phase; schemathesis's exit code (0, 1, 2, or 130 when interrupted).

    With several parts, all run at once and the worst exit code is returned.
    """
    # Registers the checks, the auth provider and the hooks, even if the config file names none.
    importlib.import_module("ivhsuite.gate.spec_cases.hooks")

    from ivhsuite.gate.spec_cases import stopper

    out_dir.mkdir(parents=True, exist_ok=True)
    first, *others = plan(run.options)
    with active(run), redacted_stdout(run.secrets) as stdout, stopper.interruptible():
        code = _at_once(run, out_dir, first, others, stdout) if others else _schemathesis(arguments(run, out_dir, first))
        # Schemathesis may swallow an interrupt and end normally: the gate still stops here.
        return ExitCode.INTERRUPTED if stopper.interrupted() else code


def _at_once(run: RunContext, out_dir: Path, first: Part, others: list[Part], stdout: _Redacting) -> int:
    """``first`` on this thread and each of ``others`` on a thread of its own; all waited for, reports folded."""
    from rich.text import Text

    Text.from_markup("")  # schemathesis warms this on its "main" thread: rich's lazy import is not thread-safe
    sides: list[tuple[Part, threading.Thread, io.StringIO, list[int]]] = []
    for part in others:
        output: io.StringIO = io.StringIO()
        code_of: list[int] = []
        thread = threading.Thread(
            target=lambda p=part, c=code_of: c.append(_schemathesis(arguments(run, out_dir / p.folder, p))),
            name=f"ivhsuite-{part.folder}",
            daemon=True,
        )
        stdout.route(thread, output)
        sides.append((part, thread, output, code_of))
    try:
        for _, thread, _, _ in sides:
            thread.start()
        code = _schemathesis(arguments(run, out_dir, first))
        if code == ExitCode.INTERRUPTED:
            raise KeyboardInterrupt
        for _, thread, _, _ in sides:
            thread.join()
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
    finally:
        _wind_down([thread for _, thread, _, _ in sides])
    codes = [code]
    for part, thread, output, code_of in sides:
        stdout.unroute(thread)
        print(f"\n--- schemathesis: {', '.join(part.phases)} (ran at the same time as the above; {FOLDED}) ---", flush=True)
        print(output.getvalue(), end="", flush=True)
        fold_into(out_dir, out_dir / part.folder, run.secrets)
        # No code: still running after STOP_WAIT; it could not judge, or was interrupted with the rest.
        lost = ExitCode.INTERRUPTED if code == ExitCode.INTERRUPTED else ExitCode.USAGE
        codes.append(code_of[0] if code_of else lost)
    return ExitCode.INTERRUPTED if ExitCode.INTERRUPTED in codes else max(codes)


def _wind_down(threads: list[threading.Thread]) -> None:
    """Stop the parts still running and wait for them: their sessions must reach the guard before the clean-up."""
    from ivhsuite.gate.spec_cases import stopper

    for thread in threads:
        if thread.is_alive():
            stopper.request_stop(thread)
    deadline = time.monotonic() + STOP_WAIT
    for thread in threads:
        while thread.is_alive() and time.monotonic() < deadline:
            try:
                thread.join(1.0)
            except KeyboardInterrupt:  # a second Ctrl-C: the parts are winding down already
                continue
        stopper.forget(thread)


def _schemathesis(args: list[str]) -> int:
    """One ``schemathesis run`` in this process and thread; its exit code."""
    from schemathesis.cli import schemathesis as cli  # heavy: imported only when the gate runs

    try:
        # A finished run exits through sys.exit; an early ctx.exit (a bad config file) is returned.
        code = cli.main(args=args, prog_name="schemathesis", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except Exception as exc:  # click's usage errors and aborts
        exit_code = getattr(exc, "exit_code", 2)
        print(f"schemathesis: {exc}", file=sys.stderr)
        return int(exit_code) if isinstance(exit_code, int) else 2
    return code if isinstance(code, int) else 0


class _Redacting(io.TextIOBase):
    """A stdout that masks secrets in whatever passes through it; a routed thread writes to its own buffer."""

    def __init__(self, stream: TextIO, secrets: tuple[str | None, ...]) -> None:
        self._stream = stream
        self._secrets = secrets
        self._routes: dict[int, TextIO] = {}

    def route(self, thread: threading.Thread, buffer: TextIO) -> None:
        """Send what ``thread`` prints to ``buffer`` (routes take effect once the thread started)."""
        self._routes[id(thread)] = buffer

    def unroute(self, thread: threading.Thread) -> None:
        self._routes.pop(id(thread), None)

    def _target(self) -> TextIO:
        return self._routes.get(id(threading.current_thread()), self._stream) if self._routes else self._stream

    def write(self, text: str) -> int:
        self._target().write(redact(text, self._secrets))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._target() is self._stream and self._stream.isatty()  # a buffer gets no live display

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", "utf-8")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def redacted_stdout(secrets: tuple[str | None, ...]) -> Iterator[_Redacting]:
    original = sys.stdout
    redacting = _Redacting(original, secrets)
    sys.stdout = redacting  # type: ignore[assignment]
    try:
        yield redacting
    finally:
        sys.stdout = original
