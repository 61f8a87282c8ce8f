"""What a gate run is asked to do: flags first, then ``IVH_*`` variables, then these defaults.

The defaults are chosen for a real endpoint, where every session is a paid stream: the
quota is the customer's purchase, not a documented number, so without ``--quota`` the gate
holds one session of its own at a time and checks no quota; generated requests of
realistic size; the documented two minutes for a session to become ready (plus a margin);
and a bound on the whole run (``--max-time``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ivhsuite.config import (
    DEFAULT_MAX_SESSIONS,
    DEFAULT_MAX_TRANSPORT_ERRORS,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_READY_TIMEOUT,
    DEFAULT_USER_ID_MAX_LENGTH,
    Target,
    setting,
)
from ivhsuite.embedded import HOSTING
from ivhsuite.errors import ConfigError

DEFAULT_MAX_EXAMPLES = 80
DEFAULT_WORKERS = 8  # a distant endpoint's requests are mostly waiting; the session guard keeps creates within the quota
DEFAULT_MAX_TIME = 900.0  # 15 minutes: past it the gate stops, closes what it opened and reports what it covered
MIN_USER_ID_LENGTH = 16  # room for the run's prefix, which the final clean-up sweep matches
PHASES = ("examples", "coverage", "fuzzing", "stateful")


@dataclass(frozen=True)
class GateOptions:
    """One gate run's settings.

    >>> GateOptions(Target(base_url="http://127.0.0.1:8000"), quota=3).session_limit
    2
    >>> GateOptions(Target(base_url="http://127.0.0.1:8000")).session_limit
    1
    """

    target: Target = field(default_factory=Target)
    report_dir: Path | None = None
    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int | None = None
    workers: int = DEFAULT_WORKERS
    quota: int | None = None  # as the user stated it (--quota, IVH_QUOTA, the config file); None: unknown
    quota_exact: bool = False  # the gate started the emulator with this quota, so it is the server's
    ready_timeout: float = DEFAULT_READY_TIMEOUT
    poll_interval: float = DEFAULT_POLL_INTERVAL
    user_id_max_length: int = DEFAULT_USER_ID_MAX_LENGTH
    phases: tuple[str, ...] = PHASES
    run_schemathesis: bool = True
    run_scenarios: bool = True
    max_time: float = DEFAULT_MAX_TIME
    max_transport_errors: float = DEFAULT_MAX_TRANSPORT_ERRORS  # share of requests left unanswered: beyond, exit 3
    max_sessions: int = DEFAULT_MAX_SESSIONS  # sessions the run may create in all (ivhsuite.gate.budget)
    record_choices: Path | None = None  # write the endpoint's observed choices here (ivhsuite.gate.endpoint_choices)
    expect_choices: Path | None = None  # compare them with this recording: drift
    fail_on_drift: bool = False  # drift exits 1

    def __post_init__(self) -> None:
        if self.max_examples < 1:
            raise ConfigError(f"--max-examples must be at least 1, not {self.max_examples}")
        if not 1 <= self.workers <= 64:
            raise ConfigError(f"--workers must be between 1 and 64, not {self.workers}")
        if self.quota is not None and self.quota < 1:
            raise ConfigError(f"--quota must be at least 1, not {self.quota}")
        if self.max_sessions < 1:
            raise ConfigError(f"--max-sessions must be at least 1, not {self.max_sessions}")
        if self.max_time <= 0:
            raise ConfigError(f"--max-time must be more than 0, not {self.max_time:g}")
        if self.ready_timeout <= 0 or self.poll_interval <= 0:
            raise ConfigError("--ready-timeout and the poll interval must be more than 0")
        if not 0.0 <= self.max_transport_errors <= 1.0:
            raise ConfigError(f"--max-transport-errors must be from 0% to 100%, not {self.max_transport_errors}")
        if self.user_id_max_length < MIN_USER_ID_LENGTH:
            raise ConfigError(f"--user-id-max-length must be at least {MIN_USER_ID_LENGTH}")
        unknown = sorted(set(self.phases) - set(PHASES))
        if unknown:
            raise ConfigError(f"unknown phase(s) {', '.join(unknown)}; known: {', '.join(PHASES)}")

    @property
    def session_limit(self) -> int:
        """How many of its own sessions the gate keeps open at once: one slot stays free; one when the quota is unknown."""
        return max(1, self.quota - 1) if self.quota else 1

    def with_target(self, target: Target) -> GateOptions:
        return replace(self, target=target)

    def for_embedded_emulator(self, target: Target) -> GateOptions:
        """The options against an emulator the gate started: its quota is the one the gate gave it."""
        return replace(self, target=target, quota=self.quota or HOSTING["gate"].quota, quota_exact=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given: object) -> GateOptions:
        """Fill what ``given`` leaves as None from ``IVH_*`` variables, then the defaults."""
        values = {k: v for k, v in given.items() if v is not None}
        for key in ("quota", "ready_timeout", "user_id_max_length", "max_transport_errors", "max_sessions"):
            if key not in values:
                found = setting(key, environ=environ)
                if found is not None:
                    values[key] = found
        if "target" not in values:
            values["target"] = Target.from_env(environ=environ)
        return cls(**values)  # type: ignore[arg-type]
