"""The gate passes every endpoint that keeps the documented promises, whatever it chose where the docs are silent.

The emulator plays each plausible endpoint (``ivhsuite emulate --choice``): every choice
and every pair of choices (a pairwise covering array, ``allpairspy``), quotas 1 and 2 (the
commonest real projects), and a slow cold start. Each run must exit 0, leave no session
live, and list what it noticed as observations. Budgets are small; runs go in parallel.
"""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from allpairspy import AllPairs

from ivhsuite.config import DEFAULT_ASSET_KEY
from ivhsuite.emulator import EmulatorSettings, serve_in_thread
from ivhsuite.protocol import LIVE_STATUSES

from .conftest import PROJECT, gate_command, gate_env

pytestmark = pytest.mark.slow

# Every value a choice may take besides its default (README: "The emulator's choices").
CHOICES: dict[str, list[str]] = {
    "error-status": ["200", "4xx", "401", "409"],
    "error-payload": ["reqid", "empty", "absent"],
    "undocumented-method": ["native", "405", "501", "404", "html"],
    "unreadable-body": ["json", "html"],
    "content-type": ["any", "json"],
    "empty-text": ["accept", "refuse"],
    "user-id-max": ["none", "32", "64"],
    "unusual-ids": ["accept", "refuse"],
    "close-twice": ["ok", "error"],
    "list-closed": ["no", "yes"],
    "play-addr-while-preparing": ["yes", "no"],
    "session-id": ["hex", "uuid", "short", "long"],
    "null-optional": ["refuse", "absent"],
    "preempt-across": ["yes", "no"],
    "unknown-asset": ["100001", "100015"],
    "cold-failure": ["0", "0.3"],
    "model-cache": ["user", "protocol"],
    "rate-limit": ["none", "20"],
    "retry-after": ["none", "1"],
}
# --max-time well inside the harness's timeout: a run that stalls reports what it did instead of being killed.
SMALL = ("--max-examples", "2", "--seed", "3", "--max-time", "300")
PARALLEL = 3
BROKEN = re.compile(r"✗ broken promise \[([a-z-]+)\]")


@dataclass(frozen=True)
class Endpoint:
    """One plausible endpoint: its choices, its quota, its cold start."""

    name: str
    choices: dict[str, str] = field(default_factory=dict)
    quota: int = 5
    prepare_seconds: float = 1.0
    assets: tuple[str, ...] = ()  # the asset keys it knows (--asset); empty: any


def _pairwise() -> list[Endpoint]:
    names = list(CHOICES)
    rows = AllPairs([CHOICES[name] for name in names])
    return [Endpoint(f"pairs-{n}", dict(zip(names, row, strict=True))) for n, row in enumerate(rows)]


ENDPOINTS = [
    *_pairwise(),
    Endpoint("quota-1", quota=1),
    Endpoint("quota-2", quota=2),
    Endpoint("cold-start-5s", prepare_seconds=5.0),
    Endpoint("known-assets-only", {"unknown-asset": "100015"}, assets=(DEFAULT_ASSET_KEY, "another-asset")),
]


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    live_after: int

    @property
    def broken(self) -> set[str]:
        return set(BROKEN.findall(self.out))


def _gate(endpoint: Endpoint, tmp: Any) -> Outcome:
    settings = EmulatorSettings(
        project_ids=(PROJECT,),
        quota=endpoint.quota,
        prepare_seconds=endpoint.prepare_seconds,
        choices=endpoint.choices,
        assets=endpoint.assets,
        channel_time_scale=0.1,  # the channel scenarios run in every gate run: a tenth of the channel's time
    )
    with serve_in_thread(settings) as running:
        done = subprocess.run(
            gate_command(
                "--base-url",
                running.base_url,
                "--quota",
                str(endpoint.quota),
                "--report-dir",
                str(tmp / endpoint.name),
                *SMALL,
            ),
            env=gate_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        live = sum(s.status in LIVE_STATUSES for s in running.app.state.store.account_sessions())
    return Outcome(done.returncode, done.stdout + done.stderr, live)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("plausible")
    with ThreadPoolExecutor(PARALLEL) as pool:
        return dict(zip([e.name for e in ENDPOINTS], pool.map(lambda e: _gate(e, root), ENDPOINTS), strict=True))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_gate_passes_a_plausible_endpoint(outcomes: dict[str, Outcome], endpoint: Endpoint) -> None:
    outcome = outcomes[endpoint.name]
    assert outcome.broken == set(), f"{endpoint}: false findings\n{outcome.out[-5000:]}"
    assert outcome.code == 0, f"{endpoint}\n{outcome.out[-5000:]}"
    assert outcome.live_after == 0
    assert "Traceback" not in outcome.out


def test_every_choice_value_is_covered() -> None:
    covered = {(name, value) for e in ENDPOINTS for name, value in e.choices.items()}
    assert covered == {(name, value) for name, values in CHOICES.items() for value in values}
