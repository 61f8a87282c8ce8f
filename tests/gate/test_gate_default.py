"""The gate as CI runs it: ``ivhsuite gate`` with no URL starts the embedded emulator and must pass.

Once with the default budget (open), once signed with --quota 5, fewer examples and a session budget of 40.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ivhsuite.config import DEFAULT_MAX_SESSIONS

from .conftest import ACCESS_TOKEN, run_gate_process

pytestmark = pytest.mark.slow
MIN_GENERATED = 1000


def test_default_gate_passes_the_embedded_emulator(tmp_path: Path) -> None:
    done = run_gate_process("--report-dir", str(tmp_path / "open"), "--seed", "7")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "embedded emulator" in done.stdout
    assert ", 0 left open" in done.stdout
    generated = int(re.search(r"requests: (\d+) generated", done.stdout).group(1))  # type: ignore[union-attr]
    assert generated >= MIN_GENERATED
    created, allowed = map(int, re.search(r"sessions created: (\d+) of (\d+) allowed", done.stdout).groups())  # type: ignore[union-attr]
    assert allowed == DEFAULT_MAX_SESSIONS and 0 < created <= allowed
    assert _others_sessions_sent(tmp_path / "open") == []
    junit = (tmp_path / "open" / "junit.xml").read_text()
    for learning in ("test_whether_a_create_by_asset_closes_a_session_created_by_project", "test_how_long_a_user_id_may_be"):
        assert learning not in junit  # it costs sessions only learning runs spend


def test_signed_gate_with_quota_5_passes_and_never_shows_a_secret(tmp_path: Path) -> None:
    reports = tmp_path / "signed"
    done = run_gate_process(
        "--quota", "5", "--max-examples", "10", "--max-sessions", "40", "--report-dir", str(reports), signed=True
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "signed" in done.stdout and "skipped" not in done.stdout.split("ivhsuite gate: PASS")[1]
    # The scenarios' share first (none skipped), the generated half cut to the rest, and the cut said.
    created = int(re.search(r"sessions created: (\d+) of 40 allowed", done.stdout).group(1))  # type: ignore[union-attr]
    assert created <= 40
    assert "positive creates of the generated half not sent" in done.stdout
    assert _others_sessions_sent(reports) == []
    texts = [done.stdout, done.stderr, *(p.read_text(errors="replace") for p in reports.rglob("*") if p.is_file())]
    for text in texts:
        assert ACCESS_TOKEN not in text
        assert not re.search(r"signature=(?!\*\*\*)[A-Za-z0-9%+/=]{8,}", text)


def _others_sessions_sent(reports: Path) -> list[tuple[str, str]]:
    """Generated requests that named a session the generated half did not create but found listed.

    schemathesis reuses ids it reads in responses; a scenario's session closed under it made CI's
    scenario see its new session end with status 2.
    """
    own: set[str] = set()
    listed: set[str] = set()
    sent: list[tuple[str, str]] = []
    for entry in json.loads((reports / "schemathesis" / "har.json").read_text())["log"]["entries"]:
        operation = entry["request"]["url"].split("?")[0].rsplit("/", 1)[-1]
        body, answer = _payload(entry["request"].get("postData", {})), _payload(entry["response"]["content"])
        if operation.startswith("createsession") and isinstance(answer.get("SessionId"), str):
            own.add(answer["SessionId"])
        listed.update(s["SessionId"] for s in answer.get("Sessions") or [] if isinstance(s, dict) and "SessionId" in s)
        if not operation.startswith("createsession") and isinstance(body.get("SessionId"), str):
            sent.append((operation, body["SessionId"]))
    return [(operation, sid) for operation, sid in sent if sid in listed - own]


def _payload(content: dict[str, Any]) -> dict[str, Any]:
    try:
        payload = json.loads(content.get("text") or "null").get("Payload")
    except (ValueError, AttributeError):
        return {}
    return payload if isinstance(payload, dict) else {}
