"""The gate against the emulator: it passes the faithful one and fails each broken variant.

Each variant breaks one documented promise (``ivhsuite.emulator.FAULTS``); the gate must
exit 1 and name that promise. Budgets are small (--max-examples 5, fixed seed) and the
runs go four at a time, so the whole matrix takes a few minutes on 2 cores.
"""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivhsuite.emulator import FAULTS, EmulatorSettings, serve_in_thread

from .conftest import ACCESS_TOKEN, APPKEY, PROJECT, gate_command, gate_env

FAULT_PROMISE = {
    "auth-not-enforced": "auth",
    "boundary-off-by-one": "boundaries",
    "close-keeps-slot": "close-frees-slot",
    "command-before-start": "command-after-start",
    "external-trtc-unchecked": "external-trtc-fields",
    "list-omits-sessions": "listed",
    "no-preemption": "preemption",
    "no-preemption-by-asset": "preemption",
    "no-quota": "quota",
    "no-rate-limit": "command-rate",
    "no-validation": "negative-rejected",
    "play-addr-with-css": "css-withholds-play-addr",
    "reqid-not-echoed": "reqid-echoed",
    "server-error-on-bad-input": "no-server-error",
    "start-before-ready": "start-after-ready",
    "unknown-session-ok": "unknown-session",
    "wrong-schema": "response-schema",
}
FAITHFUL = "faithful"
# The quota is checked only against a stated one: the user states the emulator's. --max-time is well
# inside the harness's timeout: a run that stalls reports what it did instead of being killed.
SMALL = ("--max-examples", "5", "--seed", "1", "--quota", "5", "--max-time", "300")
BROKEN = re.compile(r"✗ broken promise \[([a-z-]+)\]")
PARALLEL = 4
pytestmark = pytest.mark.slow
# The channel's broken variants run the channel scenarios only, at a fraction of the cost (test_channel_variants.py).
HTTP_FAULTS = sorted(f for f in FAULTS if not f.startswith("channel-"))


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    live_after: int
    reports: Path

    @property
    def broken(self) -> set[str]:
        """The promises the gate's summary names as broken."""
        return set(BROKEN.findall(self.stdout))

    def everything(self) -> str:
        files = [p.read_text(errors="replace") for p in self.reports.rglob("*") if p.is_file()]
        return "\n".join([self.stdout, self.stderr, *files])


def _gate_against(variant: str, root: Path) -> Outcome:
    signed = variant == "auth-not-enforced"
    faults = frozenset() if variant == FAITHFUL else frozenset({variant})
    credentials = {"appkey": APPKEY, "access_token": ACCESS_TOKEN} if signed else {}
    # The channel scenarios run in every gate run: a tenth of the channel's time keeps them short.
    settings = EmulatorSettings(project_ids=(PROJECT,), quota=5, faults=faults, channel_time_scale=0.1, **credentials)
    reports = root / variant
    with serve_in_thread(settings) as running:
        done = subprocess.run(
            gate_command("--base-url", running.base_url, "--report-dir", str(reports), *SMALL),
            env=gate_env(signed=signed),
            capture_output=True,
            text=True,
            timeout=900,
        )
        live = len(running.app.state.store.account_sessions())
    return Outcome(done.returncode, done.stdout, done.stderr, live, reports)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("variants")
    variants = [FAITHFUL, *HTTP_FAULTS]
    with ThreadPoolExecutor(PARALLEL) as pool:
        return dict(zip(variants, pool.map(lambda v: _gate_against(v, root), variants), strict=True))


@pytest.mark.parametrize("fault", HTTP_FAULTS)
def test_gate_fails_the_broken_variant_naming_its_promise(outcomes: dict[str, Outcome], fault: str) -> None:
    outcome = outcomes[fault]
    promise = FAULT_PROMISE[fault]
    assert outcome.code == 1, outcome.stdout[-3000:] + outcome.stderr[-2000:]
    # Judged by the finding sets, not the exit code alone: a finding the faithful run does not have.
    assert promise in outcome.broken - outcomes[FAITHFUL].broken, outcome.stdout[-3000:]
    assert f"✗ broken promise [{promise}]" in outcome.stdout, outcome.stdout[-3000:]
    failures = (outcome.reports / "failures.txt").read_text()
    assert f"broken promise [{promise}]" in failures
    assert "reproduce: curl -X POST" in failures
    if fault != "close-keeps-slot":  # that variant ignores closesession: nothing can close its sessions
        assert outcome.live_after == 0
    assert ACCESS_TOKEN not in outcome.everything()


def test_gate_passes_the_faithful_emulator_and_leaves_nothing_open(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[FAITHFUL]
    assert outcome.broken == set(), outcome.stdout[-4000:]
    assert outcome.code == 0, outcome.stdout[-4000:] + outcome.stderr[-2000:]
    assert "PASS: the contract holds" in outcome.stdout
    assert outcome.live_after == 0
    names = {p.relative_to(outcome.reports).as_posix() for p in outcome.reports.rglob("*") if p.is_file()}
    expected = {"junit.xml", "failures.txt", "scenarios-junit.xml", "schemathesis/junit.xml", "schemathesis/har.json"}
    assert expected <= names
