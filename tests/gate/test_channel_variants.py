"""The gate's channel scenarios against the emulator: they pass the faithful one and fail each broken channel.

Each ``channel-*`` variant (``ivhsuite.emulator.FAULTS``) breaks one promise of the command
channel; the scenarios (``contract_tests/test_channel.py``, run as the gate runs them: pytest
on the shipped file, here standalone against ``IVH_BASE_URL``) must fail naming it, and the
faithful emulator must give no finding at all. Only the channel scenarios run, on an emulator
whose channel time is scaled down, several at once: the whole matrix costs seconds, not a gate
run per variant (the HTTP variants are ``test_variants.py``'s).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivhsuite.contract import keys_in
from ivhsuite.emulator import FAULTS, EmulatorSettings, serve_in_thread

from .conftest import ACCESS_TOKEN, APPKEY, PROJECT, run_shipped_scenarios

pytestmark = pytest.mark.slow

# The promise each broken channel breaks; the variants another branch adds are caught by the same scenarios.
CHANNEL_FAULT_PROMISE = {
    "channel-bad-message": "channel-message-schema",
    "channel-no-audio-over": "channel-audio-statuses",
    "channel-no-text-interval": "channel-text-rate",
    "channel-no-text-over": "channel-text-statuses",
    "channel-open-before-start": "channel-after-start",
    "channel-survives-close": "channel-closed-with-session",
    "channel-survives-preemption": "channel-closed-with-session",
    "channel-undocumented-refusal": "channel-refusal-documented",
    "channel-wrong-reqid": "channel-reqid",
}
CHANNEL_FAULTS = sorted(f for f in FAULTS if f.startswith("channel-"))
FAITHFUL = "faithful"
# Every plausible answer where the docs leave the channel open (the emulator's channel choices): no finding.
CHANNEL_CHOICES = {
    "choice:channel-refusal=http": {"channel-refusal": "http"},
    "choice:second-channel=refuse": {"second-channel": "refuse"},
    "choice:audio-on-text-session=bad-parameter": {"audio-on-text-session": "bad-parameter"},
}
PARALLEL = 4


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    live_after: int

    @property
    def broken(self) -> set[str]:
        return set(keys_in(self.out))


def _scenarios_against(variant: str, root: Path) -> Outcome:
    faults = frozenset({variant}) if variant in FAULTS else frozenset()
    settings = EmulatorSettings(
        project_ids=(PROJECT,),
        quota=5,
        faults=faults,
        choices=CHANNEL_CHOICES.get(variant, {}),
        appkey=APPKEY,
        access_token=ACCESS_TOKEN,
        channel_time_scale=0.1,
    )
    with serve_in_thread(settings) as running:
        done = run_shipped_scenarios("test_channel.py", running, root, signed=True, timeout=300)
        live = len(running.app.state.store.account_sessions())
    return Outcome(done.returncode, done.stdout + done.stderr, live)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("channel-variants")
    variants = [FAITHFUL, *CHANNEL_CHOICES, *CHANNEL_FAULTS]
    with ThreadPoolExecutor(PARALLEL) as pool:
        return dict(zip(variants, pool.map(lambda v: _scenarios_against(v, root), variants), strict=True))


def test_every_channel_variant_names_its_promise() -> None:
    assert set(CHANNEL_FAULTS) <= CHANNEL_FAULT_PROMISE.keys()


@pytest.mark.parametrize("fault", CHANNEL_FAULTS)
def test_the_channel_scenarios_fail_the_broken_variant_naming_its_promise(
    outcomes: dict[str, Outcome], fault: str
) -> None:
    outcome = outcomes[fault]
    promise = CHANNEL_FAULT_PROMISE[fault]
    assert outcome.code == 1, outcome.out[-3000:]
    assert promise in outcome.broken - outcomes[FAITHFUL].broken, outcome.out[-3000:]
    assert ACCESS_TOKEN not in outcome.out
    if fault != "channel-survives-close":  # nothing else about closing is broken: every session still ends
        assert outcome.live_after == 0


@pytest.mark.parametrize("variant", [FAITHFUL, *CHANNEL_CHOICES])
def test_the_channel_scenarios_pass_a_faithful_emulator_whatever_it_chose(
    outcomes: dict[str, Outcome], variant: str
) -> None:
    outcome = outcomes[variant]
    assert outcome.broken == set(), outcome.out[-4000:]
    assert outcome.code == 0, outcome.out[-4000:]
    assert outcome.live_after == 0
