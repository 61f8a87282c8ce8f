"""One ``junit.xml`` from the JUnit files of the gate and the load runs, for CI dashboards."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from ivhsuite.redact import redact

COUNTERS = ("tests", "failures", "errors", "skipped")


def _suites(path: Path) -> list[ET.Element]:
    root = ET.parse(path).getroot()
    return [root] if root.tag == "testsuite" else list(root.iter("testsuite"))


def merge(files: Iterable[Path], destination: Path, secrets: Iterable[str | None] = ()) -> Path:
    """Write every ``<testsuite>`` of ``files`` under one ``<testsuites>`` with summed counters.

    Files that are missing or not XML are skipped: a run that crashed before writing its
    report is already red for another reason, and the merge must not hide that reason.
    """
    merged = ET.Element("testsuites", name="ivhsuite")
    totals = dict.fromkeys(COUNTERS, 0)
    for path in files:
        try:
            suites = _suites(path)
        except (OSError, ET.ParseError):
            continue
        for suite in suites:
            merged.append(suite)
            for counter in COUNTERS:
                totals[counter] += int(suite.get(counter, "0") or 0)
    for counter, value in totals.items():
        merged.set(counter, str(value))
    text = ET.tostring(merged, encoding="unicode")
    destination.write_text('<?xml version="1.0" encoding="utf-8"?>\n' + redact(text, secrets), encoding="utf-8")
    return destination
