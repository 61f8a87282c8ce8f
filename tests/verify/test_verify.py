"""`ivhsuite verify` end to end: green with a readable offline report, red naming the promise, no secret leaked."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from load._cdp import Chromium, chromium_binary  # tests/ is on sys.path: reuse the load tests' CDP client

from ivhsuite.emulator import EmulatorSettings, serve_in_thread
from ivhsuite.gate import PROMISES

pytestmark = pytest.mark.slow

TOKEN = "verify-test-access-token-4f1c"
SMALL = ["--profile", "smoke", "--max-examples", "3", "--load-seconds", "4"]
LEAKS = [
    re.compile(re.escape(TOKEN)),
    re.compile(r"signature=(?!\*\*\*)[A-Za-z0-9%+/=]{8,}"),
    re.compile(r"txSecret=(?!\*\*\*)[^&\s\"']+"),
    re.compile(r"\\?\"(?:TrtcUserSig|TrtcPrivateMapKey)\\?\"\s*:\s*\\?\"(?!\*\*\*)[^\"\\]+"),
    re.compile(r"\"name\":\s*\"(?:signature|txSecret)\",\s*\"value\":\s*\"(?!\*\*\*)[^\"]+"),
]


def run_verify(report_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ivhsuite.cli", "verify", "--report-dir", str(report_dir), *SMALL, *args]
    base = {k: v for k, v in os.environ.items() if not k.startswith("IVH_")}
    return subprocess.run(command, capture_output=True, text=True, env={**base, **(env or {})}, timeout=300)


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, subprocess.CompletedProcess[str]]]:
    folder = tmp_path_factory.mktemp("verify") / "report"
    env = {"IVH_APPKEY": "verify-appkey", "IVH_ACCESS_TOKEN": TOKEN}
    yield folder, run_verify(folder, env=env)


def test_green_run_writes_every_artifact(signed_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    folder, done = signed_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["verdict"] == "green" and summary["reasons"] == []
    assert summary["target"]["signed"] and summary["gate"]["exit_code"] == 0
    assert [run["scenario"] for run in summary["load"]] == ["create", "preemption", "lifecycle"]
    assert all(t["passed"] for run in summary["load"] for t in run["thresholds"])
    series = summary["load"][0]["series"]
    assert [entry["name"] for entry in series["intervals"]] == ["time to ready"], "time to ready reaches the report"
    assert "time to ready" not in [op["name"] for op in series["operations"]], "an interval is not a request"
    gate = summary["gate"]
    assert [row["promise"] for row in gate["promises"]] == list(PROMISES), "every documented promise, by key"
    checked = {row["promise"]: sum(row["checked"].values()) for row in gate["promises"]}
    assert checked["reqid-echoed"] > 0 and checked["negative-rejected"] > 0 and checked["lifecycle"] > 0
    assert all(sum(row["failed"].values()) == 0 for row in gate["promises"])
    assert sum(op["generated"] for op in gate["operations"]) == gate["requests"]
    assert all(run["report"] == f"load-{run['scenario']}/report.html" for run in summary["load"])
    for name in ("index.html", "junit.xml", "gate/schemathesis/junit.xml", "load-create/locust_stats.csv"):
        assert (folder / name).is_file(), name
    assert "GREEN" in done.stdout


def test_no_secret_in_any_artifact_or_console_line(signed_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    folder, done = signed_run
    texts = {"console": done.stdout + done.stderr}
    texts.update({str(p): p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()})
    assert len(texts) > 10
    leaks = [
        (where, m.group(0)[:60]) for where, text in texts.items() for pattern in LEAKS for m in pattern.finditer(text)
    ]
    assert leaks == []


def test_report_renders_offline_in_chromium(signed_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    folder, _ = signed_run
    page = (folder / "index.html").read_text()
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", page), "no external resource"
    assert "<script" not in page
    assert "test_createsession_refuses_just_outside" not in page, "test ids stay in junit.xml"
    binary = chromium_binary()
    if binary is None:
        pytest.skip("chromium is not installed (.ci/install-chromium installs Debian's chromium)")
    browser = Chromium(binary)
    try:
        browser.open((folder / "index.html").as_uri())
        verdict = browser.wait_for(
            "document.readyState === 'complete' && document.querySelector('#verdict') && document.querySelector('#verdict').innerText"
        )
        assert "GREEN" in verdict
        # The first screen: the verdict and the whole contract at a glance, without scrolling.
        first_screen = browser.evaluate(
            "(() => { const m = document.querySelector('table.matrix').getBoundingClientRect();"
            " return [m.top > 0, m.bottom <= window.innerHeight, document.querySelectorAll('table.matrix tbody tr').length,"
            " document.querySelector('#verdict').getBoundingClientRect().bottom <= window.innerHeight]; })()"
        )
        assert first_screen == [True, True, len(PROMISES), True]
        charts = browser.evaluate(
            "[...document.querySelectorAll('svg.chart')].filter(s => s.getBoundingClientRect().height > 50"
            " && s.querySelector('path.line.reactive, rect.rect')).map(s => s.querySelector('title').textContent)"
        )
        assert sum("request latency by operation" in title for title in charts) == 3, charts
        latency = browser.evaluate(
            "[...document.querySelectorAll('svg.chart')].filter(s => /latency|p95/.test(s.querySelector('title')"
            ".textContent)).map(s => s.textContent).join(' ')"
        )
        assert "time to" not in latency, "no chart plots an interval as latency"
        empty = "[...document.querySelectorAll('svg.chart')].filter(s => s.textContent.includes('no data')).length"
        assert browser.evaluate(empty) == 0, "no chart without data"
        links = browser.evaluate("[...document.querySelectorAll('a')].map(a => a.getAttribute('href'))")
        assert links == [f"load-{s}/report.html" for s in ("create", "preemption", "lifecycle")]
        assert all((folder / link).is_file() for link in links)
        assert browser.evaluate("performance.getEntriesByType('resource').length") == 0
    finally:
        browser.close()


def test_broken_promise_turns_the_verdict_red_and_is_named(tmp_path: Path) -> None:
    settings = EmulatorSettings(project_ids=("verify-red",), prepare_seconds=0.2, faults=frozenset({"no-preemption"}))
    with serve_in_thread(settings) as running:
        done = run_verify(tmp_path, "--base-url", running.base_url, env={"IVH_PROJECT_ID": "verify-red"})
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["verdict"] == "red"
    assert f"gate: broken promise: {PROMISES['preemption']}" in summary["reasons"]
    page = (tmp_path / "index.html").read_text()
    assert "RED" in page
    assert PROMISES["preemption"] in page


def test_unreachable_endpoint_is_one_line_exit_2(tmp_path: Path) -> None:
    done = run_verify(tmp_path, "--base-url", "http://127.0.0.1:9")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("ivhsuite: error:")]
    assert errors == [
        "ivhsuite: error: cannot reach http://127.0.0.1:9: [Errno 111] Connection refused"
        " (listsessionofprojectid, 3 attempts)"
    ]
