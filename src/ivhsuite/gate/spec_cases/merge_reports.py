"""One set of schemathesis reports from the two runs of the generated half.

The stateful phase runs beside the other phases as a second schemathesis run with its
own report folder (:mod:`ivhsuite.gate.spec_cases.in_process`); its ``junit.xml``, ``har.json`` and
``cassette.yaml`` are folded into the first run's, so users find the files where they
always were. A file missing on either side (a run that crashed before writing it) is
left as it is: that run is already red for its own reason.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ivhsuite import junit

JUNIT, HAR, VCR = "junit.xml", "har.json", "cassette.yaml"
_INTERACTIONS = "http_interactions:\n"


def fold_into(main: Path, other: Path, secrets: tuple[str | None, ...] = ()) -> None:
    """Add ``other``'s reports to ``main``'s, then remove ``other``."""
    if (main / JUNIT).is_file() or (other / JUNIT).is_file():
        junit.merge([main / JUNIT, other / JUNIT], main / JUNIT, secrets)
    _merge_har(main / HAR, other / HAR)
    _merge_vcr(main / VCR, other / VCR)
    shutil.rmtree(other, ignore_errors=True)


def _merge_har(main: Path, other: Path) -> None:
    """Both runs' entries in one log, in the order they were sent."""
    try:
        into = json.loads(main.read_text(encoding="utf-8"))
        extra = json.loads(other.read_text(encoding="utf-8"))
        entries = into["log"]["entries"] + extra["log"]["entries"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    into["log"]["entries"] = sorted(entries, key=lambda entry: str(entry.get("startedDateTime", "")))
    main.write_text(json.dumps(into, ensure_ascii=False), encoding="utf-8")


def _merge_vcr(main: Path, other: Path) -> None:
    """The first cassette's header, then both runs' interactions (the list ends each file)."""
    try:
        first = main.read_text(encoding="utf-8")
        second = other.read_text(encoding="utf-8")
    except OSError:
        return
    head, found, _ = second.partition(_INTERACTIONS)
    if not found or _INTERACTIONS not in first:
        return
    interactions = second[len(head) + len(found) :]
    main.write_text(first.rstrip("\n") + "\n" + interactions, encoding="utf-8")
