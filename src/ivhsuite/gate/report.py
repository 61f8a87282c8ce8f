"""What a gate run leaves in ``reports/<run>/``, written after the run, never steering it.

- ``failures.txt``: one block per broken promise, each failure with its curl line(s);
- ``junit.xml``: schemathesis's and the scenarios' JUnit reports merged into one file;
- every file in the folder passed through :func:`redact_file`, so no signature,
  txSecret, TrtcUserSig or access token survives in any of them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ivhsuite.gate.promises import PROMISES
from ivhsuite.redact import MASK, redact

# HAR keeps query parameters as {"name": "signature", "value": "..."} pairs.
_HAR_PAIR = re.compile(
    r'("name":\s*"(?:signature|txSecret|TrtcUserSig|TrtcPrivateMapKey)",\s*"value":\s*)"[^"]*"', re.IGNORECASE
)
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


def merge_junit(sources: Iterable[Path], out: Path) -> Path:
    """One ``<testsuites>`` holding every suite of every JUnit file that exists."""
    merged = ET.Element("testsuites", name="ivhsuite gate")
    for source in sources:
        if not source.is_file():
            continue
        try:
            root = ET.parse(source).getroot()
        except ET.ParseError:
            continue
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
        for suite in suites:
            merged.append(suite)
    for attr in ("tests", "failures", "errors", "skipped"):
        merged.set(attr, str(sum(int(s.get(attr, "0") or 0) for s in merged)))
    ET.ElementTree(merged).write(out, encoding="utf-8", xml_declaration=True)
    return out


def redact_file(path: Path, secrets: Iterable[str | None] = ()) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return
    cleaned = _HAR_PAIR.sub(lambda m: f'{m[1]}"{MASK}"', redact(text, secrets))
    if cleaned != text:
        path.write_text(cleaned, encoding="utf-8")


def redact_tree(folder: Path, secrets: Iterable[str | None] = ()) -> None:
    """Redact every text report under ``folder``, in place."""
    values = tuple(secrets)
    for path in folder.rglob("*"):
        if path.is_file() and (path.suffix.lower() in TEXT_SUFFIXES or not path.suffix):
            redact_file(path, values)
