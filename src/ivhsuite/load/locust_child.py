"""One load scenario as one locust child process; its verdict back as an exit code.

Used by ``ivhsuite load`` and by ``ivhsuite verify`` (one child per scenario: locust patches
the interpreter with gevent, so it never shares a process with the caller). Writes locust's
HTML report and CSVs, the threshold JUnit/JSON and what the network did (``network.json``,
``network-junit.xml``) into the folder it is given. The exit code is locust's: 0 all
thresholds green, 1 a threshold or a violation failed, 2 a usage problem, 3 the endpoint was
too unstable to judge; after SIGINT or SIGTERM, 130 or 143 once locust has closed the run's
sessions. Locust runs in a process group of its own; the caller relays one signal to it
(:func:`ivhsuite.interrupts.relay_to_child`), so a terminal's Ctrl-C and a CI runner's
SIGTERM reach it exactly once. This module never imports locust.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ivhsuite import interrupts, packaged
from ivhsuite.config import child_environ
from ivhsuite.protocol import EXIT_WORDS, ExitCode

SCENARIOS = {
    "create": "CreateSessionUser",
    "preemption": "PreemptionUser",
    "lifecycle": "LifecycleUser",
    "conversation": "ConversationUser",
}
VERDICT_CODES = {
    ExitCode.OK: EXIT_WORDS[ExitCode.OK],
    ExitCode.FAILED: EXIT_WORDS[ExitCode.FAILED],
    ExitCode.UNSTABLE: f"{EXIT_WORDS[ExitCode.UNSTABLE]} (the network, or the generator behind its pace)",
}


def default_locustfile() -> Path:
    """The packaged ``loadtests/locustfile.py``."""
    return packaged.locustfile()


@dataclass(frozen=True)
class LocustRun:
    """What one scenario's run asks of locust (``ivhsuite load``'s flags; verify's profile)."""

    scenario: str
    users: int = 5
    spawn_rate: float = 5.0
    run_time: str = "30s"
    base_url: str | None = None
    project_id: str | None = None
    shape: str = "constant"
    processes: int | None = None
    userid_pool: int | None = None
    hold_seconds: float | None = None
    thresholds: str | None = None
    thresholds_abort: bool = False
    max_transport_errors: float | None = None
    driver: str | None = None  # ConversationUser: text | audio | streamtext
    asset_key: str | None = None
    speak_timeout: float | None = None
    hold_channels: bool = False  # PreemptionUser keeps each session's command channel open
    extra: tuple[str, ...] = ()  # passed to locust unchanged


def locust_command(run: LocustRun, locustfile: Path, folder: Path) -> list[str]:
    """The locust command line for ``run``, reports going to ``folder``."""
    command = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless"]
    command += ["-u", str(run.users), "-r", f"{run.spawn_rate:g}", "-t", run.run_time]
    command += ["--html", str(folder / "report.html"), "--csv", str(folder / "locust")]
    command += ["--ivh-report-dir", str(folder), "--load-shape", run.shape, "--only-summary"]
    optional = {
        "--host": run.base_url,
        "--project-id": run.project_id,
        "--processes": run.processes,
        "--userid-pool": run.userid_pool,
        "--hold-seconds": run.hold_seconds,
        "--thresholds": run.thresholds,
        "--max-transport-errors": run.max_transport_errors,
        "--driver": run.driver,
        "--asset-key": run.asset_key,
        "--speak-timeout": run.speak_timeout,
    }
    for flag, value in optional.items():
        if value is not None:
            command += [flag, str(value)]
    if run.thresholds_abort:
        command.append("--thresholds-abort")
    if run.hold_channels:
        command.append("--hold-channels")
    command += run.extra
    command.append(SCENARIOS[run.scenario])
    return command


def exit_code_of(code: int) -> int:
    """Locust's exit code as ivhsuite's: its verdicts as they are, death by a signal as 130/143, anything else 2."""
    if code in VERDICT_CODES or code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED):
        return code
    if code in (-signal.SIGTERM, -signal.SIGINT):
        return ExitCode.TERMINATED if code == -signal.SIGTERM else ExitCode.INTERRUPTED
    return ExitCode.USAGE


def relay(command: list[str], folder: Path) -> int:
    """Run locust in its own process group; pass it one SIGINT or SIGTERM; its verdict, or 130/143 after a signal."""
    process = subprocess.Popen(command, env=child_environ(), start_new_session=True)
    code, signum = interrupts.relay_to_child(process)
    if signum is not None:
        print(f"ivhsuite load: stopped by signal {signum} after closing the run's sessions", file=sys.stderr)
        return code
    if code in VERDICT_CODES:
        print(f"ivhsuite load: {VERDICT_CODES[ExitCode(code)]}, reports in {folder}", file=sys.stderr)
        return code
    if exit_code_of(code) != ExitCode.USAGE:
        return exit_code_of(code)
    print(f"ivhsuite: error: locust exited with code {code} (see its output above)", file=sys.stderr)
    return ExitCode.USAGE
