from __future__ import annotations

import pytest

from ivhsuite.config import DEFAULT_MAX_SESSIONS, Target
from ivhsuite.embedded import HOSTING
from ivhsuite.errors import ConfigError
from ivhsuite.gate.budget import scenario_need
from ivhsuite.gate.options import GateOptions

DEFAULT_QUOTA = HOSTING["gate"].quota


def test_defaults_are_safe_for_a_real_endpoint() -> None:
    """No quota is assumed of a real project: one session at a time, and the quota promise is not checked."""
    options = GateOptions.from_env(environ={})
    assert options.quota is None
    assert options.session_limit == 1
    assert not options.quota_exact
    assert options.target.base_url is None


def test_the_embedded_emulator_gets_the_gates_own_quota() -> None:
    options = GateOptions.from_env(environ={}).for_embedded_emulator(Target(base_url="http://127.0.0.1:1"))
    assert options.quota == DEFAULT_QUOTA and options.quota_exact
    assert options.session_limit == DEFAULT_QUOTA - 1


def test_a_stated_quota_keeps_one_slot_free() -> None:
    assert GateOptions(Target(), quota=2).session_limit == 1
    assert GateOptions(Target(), quota=5).session_limit == 4


def test_flags_win_over_the_environment() -> None:
    env = {"IVH_QUOTA": "3", "IVH_READY_TIMEOUT": "20", "IVH_BASE_URL": "http://e:1"}
    options = GateOptions.from_env(environ=env, quota=7)
    assert options.quota == 7
    assert options.ready_timeout == 20.0
    assert options.target.base_url == "http://e:1"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"max_examples": 0}, "--max-examples"),
        ({"workers": 0}, "--workers"),
        ({"quota": 0}, "--quota"),
        ({"max_sessions": 0}, "--max-sessions"),
        ({"user_id_max_length": 8}, "--user-id-max-length"),
        ({"phases": ("fuzzing", "chaos")}, "chaos"),
    ],
)
def test_bad_values_are_config_errors(given: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        GateOptions(Target(), **given)  # type: ignore[arg-type]


def test_a_non_number_in_the_environment_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="IVH_QUOTA"):
        GateOptions.from_env(environ={"IVH_QUOTA": "five"})


def test_the_session_budget_comes_from_the_flag_the_environment_or_its_default() -> None:
    assert GateOptions.from_env(environ={}).max_sessions == DEFAULT_MAX_SESSIONS
    assert GateOptions.from_env(environ={"IVH_MAX_SESSIONS": "40"}).max_sessions == 40
    assert GateOptions.from_env(environ={"IVH_MAX_SESSIONS": "40"}, max_sessions=12).max_sessions == 12


def test_the_default_budget_leaves_the_generated_half_sessions_beside_the_scenarios() -> None:
    """The default must still check every promise: the scenarios' whole need, and some for the generated half."""
    for quota in (None, 1, 5, DEFAULT_QUOTA):
        assert DEFAULT_MAX_SESSIONS - scenario_need(quota) >= 20
