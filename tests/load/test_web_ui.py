"""The web UI in a real headless Chromium: start a run from the form, read the "IVH checks" tab.

Chromium is Debian's ``chromium`` package (``.ci/install-chromium`` installs it where
missing); it is driven over the DevTools protocol on a pipe (see ``_cdp.py``).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._cdp import CdpError, Chromium, chromium_binary
from .conftest import LOCUSTFILE, clean_env

pytestmark = pytest.mark.slow

ROWS = """Array.from(document.querySelectorAll("table tbody tr"))
    .map(tr => Array.from(tr.querySelectorAll("td")).map(td => td.innerText.trim()))"""
CLICK = """(() => {{ const el = Array.from(document.querySelectorAll({selector}))
    .find(e => e.innerText.trim().toUpperCase() === {text}); if (el) el.click(); return !!el; }})()"""


def click(browser: Chromium, selector: str, text: str) -> None:
    try:
        browser.wait_for(CLICK.format(selector=repr(selector), text=repr(text.upper())))
    except CdpError:
        pytest.fail(f"no {text!r} to click in:\n{browser.evaluate('document.body.innerText')}")


def start_run(browser: Chromium, timeout: float = 20.0) -> None:
    """Press START until the run has begun (tabs replace the form): the first click may land
    before the form has taken its values from the page."""
    deadline = time.monotonic() + timeout
    while not browser.evaluate('document.querySelectorAll("[role=tab]").length > 0'):
        if time.monotonic() > deadline:
            pytest.fail(f"the run did not start:\n{browser.evaluate('document.body.innerText')}")
        browser.evaluate(CLICK.format(selector=repr("form button[type=submit]"), text=repr("START")))
        time.sleep(0.5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def web_ui(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str], Path]]:
    port = free_port()
    log = tmp_path / "locust.log"
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--web-host", "127.0.0.1", "--web-port", str(port),
        "-u", "4", "-r", "4", "--hold-seconds", "0.3", "--userid-pool", "2", "--list-interval", "1",
        "--ivh-report-dir", str(tmp_path / "report"), "PreemptionUser", "CreateSessionUser",
    ]  # fmt: skip
    with log.open("w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, text=True, env=clean_env(), cwd=tmp_path
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"locust web UI did not come up:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
    try:
        yield url, process, log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_web_ui_tab_shows_the_ivh_checks(web_ui: tuple[str, subprocess.Popen[str], Path]) -> None:
    binary = chromium_binary()
    if binary is None:
        pytest.skip("chromium is not installed (.ci/install-chromium installs Debian's chromium)")
    url, process, log = web_ui
    browser = Chromium(binary)
    try:
        browser.open(url)
        page = browser.wait_for('document.body.innerText.includes("Custom parameters") && document.body.innerText')
        for option in ("Userid Pool", "Hold Seconds", "Ready Timeout", "Project Id", "Thresholds"):
            assert option in page  # the scenario options are in the form
        start_run(browser)
        click(browser, "[role=tab]", "IVH CHECKS")

        def rows() -> dict[str, list[str]]:
            return {cells[0]: cells[1:] for cells in browser.evaluate(ROWS) if cells}

        deadline = time.monotonic() + 30
        while True:
            table = rows()
            ready = table.get("time to ready (sessions)", ["0"])[0]
            checks = table.get("preemption checks", ["0"])[0]
            if ready.isdigit() and int(ready) > 0 and checks.isdigit() and int(checks) > 0:
                break
            assert time.monotonic() < deadline, f"the tab never filled: {table}"
            time.sleep(0.5)
        assert "embedded emulator" in table["target"][0]
        assert table["contract violations"][0] == "0"
        assert table["preemption violations"][0] == "0"
        assert "p95" in table["time to ready (sessions)"][1]
        assert "?tab=ivhsuite" in browser.evaluate("location.href")
        click(browser, "button", "STOP")
        browser.wait_for('document.body.innerText.includes("STOPPED")')
    finally:
        browser.close()
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert "shows 0 live session(s) of this run" in text
    assert "Thresholds (" in text
