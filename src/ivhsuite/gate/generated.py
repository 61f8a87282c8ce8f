"""The generated-request half of the gate: ``schemathesis run``, in this process.

In-process so the hooks share the run's :class:`~ivhsuite.gate.context.RunContext` (its
session guard closes what the workers create, also on Ctrl-C) and so schemathesis
writes its own reports. Everything it prints goes through :func:`ivhsuite.redact.redact`.
"""

from __future__ import annotations

import importlib
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from ivhsuite import packaged
from ivhsuite.config import setting
from ivhsuite.errors import ConfigError
from ivhsuite.gate.context import RunContext, active
from ivhsuite.protocol import ExitCode
from ivhsuite.redact import redact
from ivhsuite.spec import default_spec_path

REPORTS = "junit,har,vcr"


def config_path() -> Path:
    """The ``schemathesis_config`` setting when set, else the packaged ``schemathesis.toml``."""
    given = setting("schemathesis_config")
    if not given:
        return packaged.schemathesis_config()
    path = Path(given)
    if not path.is_file():
        raise ConfigError(f"cannot read the schemathesis config {path}: no such file")
    return path


def arguments(run: RunContext, out_dir: Path) -> list[str]:
    options = run.options
    spec_path = run.spec.path or default_spec_path()
    args = [
        "--config-file",
        str(config_path()),
        "run",
        str(spec_path),
        "--url",
        str(run.target.base_url),
        "--phases",
        ",".join(options.phases),
        "--max-examples",
        str(options.max_examples),
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
    if options.seed is not None:
        args += ["--seed", str(options.seed)]
    return args


def run_generated(run: RunContext, out_dir: Path) -> int:
    """Run every configured phase; schemathesis's exit code (0, 1, 2, or 130 when interrupted)."""
    from schemathesis.cli import schemathesis as cli  # heavy: imported only when the gate runs

    # Registers the checks, the auth provider and the hooks, even if the config file names none.
    importlib.import_module("ivhsuite.gate.hooks")

    out_dir.mkdir(parents=True, exist_ok=True)
    with active(run), redacted_stdout(run.secrets):
        try:
            # A finished run exits through sys.exit; an early ctx.exit (a bad config file) is returned.
            code = cli.main(args=arguments(run, out_dir), prog_name="schemathesis", standalone_mode=False)
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
    """A stdout that masks secrets in whatever passes through it."""

    def __init__(self, stream: TextIO, secrets: tuple[str | None, ...]) -> None:
        self._stream = stream
        self._secrets = secrets

    def write(self, text: str) -> int:
        self._stream.write(redact(text, self._secrets))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", "utf-8")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def redacted_stdout(secrets: tuple[str | None, ...]) -> Iterator[None]:
    original = sys.stdout
    sys.stdout = _Redacting(original, secrets)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout = original
