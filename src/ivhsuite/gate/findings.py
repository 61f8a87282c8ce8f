"""What a gate run leaves in ``reports/<run>/``, written after the run, never steering it.

- ``failures.txt``: one block per broken promise, each failure with its curl line(s);
- ``junit.xml``: schemathesis's and the scenarios' JUnit reports merged into one file;
- every file in the folder passed through :func:`redact_file`, so no signature,
  txSecret, TrtcUserSig or access token survives in any of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ivhsuite.contract import PROMISES
from ivhsuite.redact import redact

TEXT_SUFFIXES = {".xml", ".json", ".yaml", ".yml", ".txt", ".ndjson", ".har", ".html", ".log", ".py"}


@dataclass(frozen=True)
class Finding:
    """One failure: which promise, found by what, where, and how to reproduce it."""

    promise: str
    source: str  # "schemathesis" or "scenario"
    where: str  # an operation label or a test id
    message: str
    curl: tuple[str, ...] = field(default=())

    @property
    def title(self) -> str:
        return PROMISES.get(self.promise, self.promise)


def broken_promises(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    """Findings grouped by promise, in the order first found."""
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.promise, []).append(finding)
    return grouped


def format_failures(findings: Sequence[Finding]) -> str:
    lines: list[str] = []
    for key, group in broken_promises(findings).items():
        lines.append(f"broken promise [{key}]: {PROMISES.get(key, key)} ({len(group)} failure(s))")
        for finding in group:
            lines.append(f"  - {finding.source}: {finding.where}")
            for text_line in finding.message.strip().splitlines():
                lines.append(f"      {text_line}")
            for curl in finding.curl:
                lines.append(f"      reproduce: {curl}")
        lines.append("")
    return "\n".join(lines)


def write_failures(path: Path, findings: Sequence[Finding], secrets: Iterable[str | None] = ()) -> Path:
    text = format_failures(findings) if findings else "no broken promise\n"
    path.write_text(redact(text, secrets), encoding="utf-8")
    return path


def redact_file(path: Path, secrets: Iterable[str | None] = ()) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return
    cleaned = redact(text, secrets)
    if cleaned != text:
        path.write_text(cleaned, encoding="utf-8")


def redact_tree(folder: Path, secrets: Iterable[str | None] = ()) -> None:
    """Redact every text report under ``folder``, in place."""
    values = tuple(secrets)
    for path in folder.rglob("*"):
        if path.is_file() and (path.suffix.lower() in TEXT_SUFFIXES or not path.suffix):
            redact_file(path, values)
