"""One proxy run: pick the upstream, serve, run the wrapped command (or wait for a signal), report.

Exit codes: 0 nothing found that ``fail_on`` counts; 1 findings per ``fail_on``; the wrapped
command's own non-zero exit when no finding decided otherwise (128+N if a signal N killed
it); 130 stopped by SIGINT, 143 by SIGTERM (reports written first). Configuration problems
raise :class:`~ivhsuite.errors.ConfigError` (exit 2 from the CLI).

Signals: SIGTERM is forwarded to the wrapped command. SIGINT is not: Ctrl-C on a terminal
already reaches the command (it shares the proxy's process group), and a second interrupt
could cut short the command's own cleanup, which is what closes its sessions. Either way
the command gets ``stop_grace`` seconds to finish before it is terminated, then killed.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

from ivhsuite import interrupts
from ivhsuite.config import DEFAULT_PROJECT_ID, ENV_BASE_URL
from ivhsuite.embedded import HOSTING
from ivhsuite.errors import ConfigError
from ivhsuite.protocol import ExitCode
from ivhsuite.proxy.app import ProxyApp
from ivhsuite.proxy.findings import RULES, SIDES, Finding, Findings
from ivhsuite.proxy.report import FAIL_ON, RunRecord, write_all
from ivhsuite.proxy.rules import Policy
from ivhsuite.proxy.server import serve_in_thread
from ivhsuite.redact import redact
from ivhsuite.report_dirs import run_dir

EXIT_OK, EXIT_FINDINGS, EXIT_SIGINT, EXIT_SIGTERM = (
    ExitCode.OK,
    ExitCode.FAILED,
    ExitCode.INTERRUPTED,
    ExitCode.TERMINATED,
)
DEFAULT_PORT = 8080
EMULATOR_LABEL = "the embedded emulator"
EMULATOR_URL = "http://ivhsuite-emulator"  # in-process: never resolved, the ASGI transport answers
STOP_GRACE = 10.0
LINES_PER_RULE_AND_SESSION = 3


@dataclass(frozen=True)
class ProxyOptions:
    """How to run the proxy. ``upstream`` None: the embedded emulator. ``port`` None: 8080
    when serving, any free port when wrapping a command (it learns the URL from IVH_BASE_URL)."""

    upstream: str | None = None
    host: str = "127.0.0.1"
    port: int | None = None
    report_dir: Path | None = None
    fail_on: str = "any"
    strict_advice: bool = False
    policy: Policy = field(default_factory=Policy)
    command: tuple[str, ...] = ()
    project_ids: tuple[str, ...] = (DEFAULT_PROJECT_ID,)
    emulator_quota: int = HOSTING["proxy"].quota
    prepare_seconds: float = HOSTING["proxy"].prepare_seconds
    stop_grace: float = STOP_GRACE

    def __post_init__(self) -> None:
        if self.upstream is not None and not self.upstream.startswith(("http://", "https://")):
            raise ConfigError(f"--upstream must start with http:// or https://: {self.upstream!r}")
        if self.fail_on not in FAIL_ON:
            raise ConfigError(f"--fail-on must be one of {', '.join(FAIL_ON)}, not {self.fail_on!r}")
        if self.port is not None and not 0 <= self.port <= 65535:
            raise ConfigError(f"--port must be 0 to 65535, not {self.port}")
        policy = self.policy
        if policy.stat_interval < 0 or policy.text_interval < 0:
            raise ConfigError("--stat-interval must be 0 or more")
        if policy.heartbeat_seconds is not None and policy.heartbeat_seconds <= 0:
            raise ConfigError(f"--heartbeat-seconds must be more than 0, not {policy.heartbeat_seconds:g}")
        if policy.quota is not None and policy.quota < 1:
            raise ConfigError(f"--quota must be 1 or more, not {policy.quota}")
        if self.command and _executable(self.command[0]) is None:
            raise ConfigError(f"cannot run {self.command[0]!r}: no such command")

    @property
    def listen_port(self) -> int:
        if self.port is not None:
            return self.port
        return 0 if self.command else DEFAULT_PORT


@dataclass
class ProxyResult:
    exit_code: int
    folder: Path
    record: RunRecord
    reports: dict[str, Path]


def _executable(name: str) -> str | None:
    if os.sep in name or (os.altsep and os.altsep in name):
        return name if os.access(name, os.X_OK) else None
    return shutil.which(name)


class Printer:
    """Each finding as one line on the terminal, at most a few per rule and session (a tight
    polling loop would otherwise drown the application's own output)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._seen: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def __call__(self, finding: Finding) -> None:
        key = (finding.rule, finding.session_id or (finding.call.peer if finding.call else ""))
        with self._lock:
            seen = self._seen[key] = self._seen.get(key, 0) + 1
        if seen <= LINES_PER_RULE_AND_SESSION:
            self.say(finding.line())
        elif seen == LINES_PER_RULE_AND_SESSION + 1:
            self.say(f"{finding.side.upper()} [{finding.rule}]: more on {key[1] or 'this client'} counted, not printed")

    def say(self, text: str) -> None:
        print(redact(f"ivhsuite proxy: {text}"), file=self.stream, flush=True)


def _upstream(options: ProxyOptions) -> tuple[str, httpx.AsyncBaseTransport | None, Any, str]:
    """The upstream base URL, the transport to reach it, the in-process app of its channel, and how to name it."""
    if options.upstream is not None:
        return options.upstream, None, None, options.upstream
    from ivhsuite.emulator import EmulatorSettings, create_app

    settings = EmulatorSettings(
        project_ids=options.project_ids, quota=options.emulator_quota, prepare_seconds=options.prepare_seconds
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return EMULATOR_URL, transport, app, EMULATOR_LABEL


def _same_address(upstream: str, listening: str) -> bool:
    up, here = httpx.URL(upstream), httpx.URL(listening)
    loopback = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
    same_host = up.host == here.host or (up.host in loopback and here.host in loopback)
    return same_host and (up.port or (443 if up.scheme == "https" else 80)) == here.port


def _run_command(command: Sequence[str], base_url: str, grace: float) -> tuple[int, int | None]:
    """The wrapped command's exit code, and the signal that stopped the run (None when the command ended)."""
    env = {**os.environ, ENV_BASE_URL: base_url}
    try:
        process = subprocess.Popen(list(command), env=env)
    except OSError as exc:
        raise ConfigError(f"cannot run {command[0]!r}: {exc.strerror or exc}") from None
    received = None
    try:
        process.wait()
    except KeyboardInterrupt as exc:  # interrupts.trapped: SIGINT or SIGTERM
        received = interrupts.interrupted_by(exc)
        with interrupts.shielded():  # the command's own clean-up closes its sessions: not cut short
            if received == signal.SIGTERM:
                process.terminate()
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(5.0)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    code = process.returncode
    return (code if code >= 0 else 128 - code), received


def _until_signalled() -> int:
    """Serve until SIGINT or SIGTERM; the signal."""
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt as exc:
        return interrupts.interrupted_by(exc)


def exit_code(record: RunRecord, received: int | None) -> int:
    if received is not None:
        return EXIT_SIGINT if received == signal.SIGINT else EXIT_SIGTERM
    if record.failing():
        return EXIT_FINDINGS
    if record.command_exit:
        return record.command_exit
    return EXIT_OK


def run_proxy(options: ProxyOptions, stream: TextIO | None = None) -> ProxyResult:
    """Serve the proxy until the wrapped command ends (or a signal comes), then write the reports."""
    printer = Printer(stream or sys.stderr)
    upstream, transport, channel_app, label = _upstream(options)
    findings = Findings(on_finding=printer)
    app = ProxyApp(
        upstream,
        findings,
        policy=options.policy,
        signature_required=transport is None,
        transport=transport,
        channel_app=channel_app,
    )
    try:
        folder = run_dir(options.report_dir, "proxy")
    except OSError as exc:
        raise ConfigError(f"cannot create the report folder: {exc.strerror or exc}") from None
    started, clock = dt.datetime.now(dt.UTC), time.monotonic()
    command_exit: int | None = None
    received: int | None = None
    with interrupts.trapped():  # the common handling: a signal raises here, the clean-up is shielded
        running = serve_in_thread(app, options.host, options.listen_port)
        if _same_address(upstream, running.base_url):
            running.stop()
            raise ConfigError(f"--upstream {upstream} is the proxy itself: every call would loop")
        why = "the proxy was stopped"
        try:
            printer.say(f"on {running.base_url} -> {label} | fail on {options.fail_on} | reports in {folder}")
            if options.command:
                command_exit, received = _run_command(options.command, running.base_url, options.stop_grace)
                if received is None:
                    why = "the application stopped"
            else:
                received = _until_signalled()
        except KeyboardInterrupt as exc:
            received = interrupts.interrupted_by(exc)
        finally:
            with interrupts.shielded():
                running.stop()
                app.finish(why)
    record = RunRecord(
        started=started.isoformat(timespec="seconds"),
        duration=time.monotonic() - clock,
        upstream=label,
        fail_on=options.fail_on,
        policy=options.policy,
        findings=findings,
        tracks=app.tracker.tracks(),
        calls=app.calls,
        environmental=app.environmental,
        command=redact(" ".join(options.command)) if options.command else None,
        command_exit=command_exit,
        stopped_by=signal.Signals(received).name if received else None,
        internal_errors=app.internal_errors,
        strict_advice=options.strict_advice,
    )
    record.exit_code = exit_code(record, received)
    reports = write_all(record, folder)
    _say_summary(printer, record, reports)
    return ProxyResult(record.exit_code, folder, record, reports)


def _say_summary(printer: Printer, record: RunRecord, reports: dict[str, Path]) -> None:
    counts = record.findings.counts
    for side in SIDES:
        rules = ", ".join(f"{rule} {n}" for rule, n in counts.items() if n and RULES[rule].side == side)
        printer.say(f"{side} findings: {record.findings.total(side)}{f' ({rules})' if rules else ''}")
    leaked = sum(1 for t in record.tracks if t.leaked)
    printer.say(f"{sum(record.calls.values())} calls, {len(record.tracks)} sessions, {leaked} leaked")
    if record.command is not None:
        printer.say(f"the wrapped command exited with {record.command_exit}")
    printer.say(f"report: {reports['html']} | exit code {record.exit_code}")
