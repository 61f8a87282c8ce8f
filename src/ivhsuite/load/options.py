"""The scenario options: added to locust's parser, shown in its web UI, read back as one value object.

Every option has a named default here, so a user built outside a locust run (a unit
test, ``run_single_user``) behaves like one started with no flags.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from typing import Any

from ivhsuite.config import (
    DEFAULT_MAX_TRANSPORT_ERRORS,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_PROJECT_ID,
    DEFAULT_READY_TIMEOUT,
    add_flag,
    setting,
)
from ivhsuite.embedded import HOSTING
from ivhsuite.load.conversation import DEFAULT_SPEAK_TIMEOUT, DRIVERS
from ivhsuite.run_sessions import run_tag

SHAPES = ("constant", "ramp", "step", "spike")

DEFAULT_USERID_POOL = 10
DEFAULT_HOLD_SECONDS = 5.0
DEFAULT_PREEMPTION_GRACE = 5.0
DEFAULT_LIST_INTERVAL = 5.0
DEFAULT_TEXTS = 3
DEFAULT_TEXT_INTERVAL = 1.2  # the docs ask for 1 s between texts; keep a margin for jitter
DEFAULT_SHAPE_DURATION = 60.0
DEFAULT_SHAPE_STEPS = 4
LOCAL_RUN_ID = "00000000"  # a user built outside a locust run (a unit test) has no run id of its own


@dataclass(frozen=True)
class ScenarioOptions:
    """What the scenarios read; built from locust's parsed options (or defaults)."""

    project_id: str = DEFAULT_PROJECT_ID
    userid_pool: int = DEFAULT_USERID_POOL
    hold_seconds: float = DEFAULT_HOLD_SECONDS
    ready_timeout: float = DEFAULT_READY_TIMEOUT
    poll_interval: float = DEFAULT_POLL_INTERVAL
    preemption_grace: float = DEFAULT_PREEMPTION_GRACE
    list_interval: float = DEFAULT_LIST_INTERVAL
    texts: int = DEFAULT_TEXTS
    text_interval: float = DEFAULT_TEXT_INTERVAL
    thresholds: str = ""
    thresholds_abort: bool = False
    ivh_report_dir: str = ""
    load_shape: str = "constant"
    shape_duration: float = DEFAULT_SHAPE_DURATION
    shape_steps: int = DEFAULT_SHAPE_STEPS
    emulator_quota: int = HOSTING["load"].quota
    emulator_prepare_seconds: float = HOSTING["load"].prepare_seconds
    ivh_run_id: str = ""
    max_transport_errors: float = DEFAULT_MAX_TRANSPORT_ERRORS
    driver: str = DRIVERS[0]
    asset_key: str = ""  # empty: ConversationUser creates by project
    speak_timeout: float = DEFAULT_SPEAK_TIMEOUT
    hold_channels: bool = False

    @classmethod
    def from_namespace(cls, namespace: argparse.Namespace | None) -> ScenarioOptions:
        """Pick our fields out of locust's options; missing ones keep their defaults.

        The web UI hands values back as strings of the default's type, so each is coerced.
        """
        values: dict[str, Any] = {}
        given = vars(namespace) if namespace is not None else {}
        for field in fields(cls):
            if given.get(field.name) is None:
                continue
            raw = given[field.name]
            kind = type(field.default)
            if kind is bool and isinstance(raw, str):
                values[field.name] = raw.lower() in ("1", "true", "yes", "on")
            else:
                values[field.name] = kind(raw)
        return cls(**values)

    @property
    def userid_prefix(self) -> str:
        """Every UserId of this run starts with it, so cleanup can tell our sessions apart."""
        return run_tag(self.ivh_run_id or LOCAL_RUN_ID)


def add_arguments(parser: Any, **_: Any) -> None:
    """Listener for ``events.init_command_line_parser``: the scenario options, most shown in the UI."""
    # locust's own add_argument takes include_in_web_ui; argument groups do not
    group = parser
    add_flag(group, "project_id", default=setting("project_id"))
    group.add_argument(
        "--userid-pool",
        type=int,
        default=DEFAULT_USERID_POOL,
        help="PreemptionUser: how many UserIds the users contend for",
    )
    group.add_argument(
        "--hold-seconds",
        type=float,
        default=DEFAULT_HOLD_SECONDS,
        help="how long a ready session is held (ConversationUser: talks over its channel that long)",
    )
    add_flag(group, "ready_timeout", default=DEFAULT_READY_TIMEOUT, default_text=f"default: {DEFAULT_READY_TIMEOUT:g}")
    group.add_argument(
        "--poll-interval", type=float, default=DEFAULT_POLL_INTERVAL, help="seconds between statsession polls"
    )
    group.add_argument(
        "--preemption-grace",
        type=float,
        default=DEFAULT_PREEMPTION_GRACE,
        help="seconds a superseded session may stay live before it counts as a violation",
    )
    group.add_argument(
        "--list-interval",
        type=float,
        default=DEFAULT_LIST_INTERVAL,
        help="seconds between listsessionofprojectid checks for a UserId with two live sessions",
    )
    group.add_argument("--texts", type=int, default=DEFAULT_TEXTS, help="LifecycleUser: text commands per session")
    group.add_argument(
        "--text-interval",
        type=float,
        default=DEFAULT_TEXT_INTERVAL,
        help="LifecycleUser, ConversationUser: seconds between text commands (at least 1)",
    )
    group.add_argument(
        "--thresholds", default="", help="thresholds file (default: thresholds.toml beside the locustfile)"
    )
    group.add_argument(
        "--thresholds-abort", action="store_true", default=False, help="stop the run as soon as a threshold fails"
    )
    group.add_argument(
        "--ivh-report-dir",
        default="",
        include_in_web_ui=False,
        help="where the threshold JUnit/JSON go (default: reports/<UTC stamp>-load)",
    )
    group.add_argument(
        "--load-shape",
        choices=SHAPES,
        default="constant",
        help="constant (-u/-r), ramp, step or spike up to -u users over -t (or --shape-duration)",
    )
    group.add_argument(
        "--shape-duration",
        type=float,
        default=DEFAULT_SHAPE_DURATION,
        help="seconds a ramp/step/spike shape lasts when -t is not given",
    )
    group.add_argument(
        "--shape-steps", type=int, default=DEFAULT_SHAPE_STEPS, help="number of steps of --load-shape step"
    )
    group.add_argument(
        "--emulator-quota",
        type=int,
        default=HOSTING["load"].quota,
        include_in_web_ui=False,
        help="quota of the embedded emulator (started when neither --host nor IVH_BASE_URL is set)",
    )
    group.add_argument(
        "--emulator-prepare-seconds",
        type=float,
        default=HOSTING["load"].prepare_seconds,
        include_in_web_ui=False,
        help="how long a cold session of the embedded emulator prepares",
    )
    add_flag(group, "max_transport_errors", default=setting("max_transport_errors"), include_in_web_ui=False)
    group.add_argument(
        "--driver",
        choices=DRIVERS,
        default=DRIVERS[0],
        help="ConversationUser: what it says over the command channel: texts, paced audio or streamed text",
    )
    add_flag(
        group,
        "asset_key",
        "ConversationUser: create by asset (createsessionbyasset) instead of by project",
        default_text="default: by project",
        default="",
    )
    group.add_argument(
        "--speak-timeout",
        type=float,
        default=DEFAULT_SPEAK_TIMEOUT,
        help="ConversationUser: seconds a TextOver/AudioOver may take after the last send before it counts as missing",
    )
    group.add_argument(
        "--hold-channels",
        action="store_true",
        default=False,
        help="PreemptionUser: hold the command channel of each ready session; a preempted one must be closed",
    )
    group.add_argument("--ivh-run-id", default="", include_in_web_ui=False, help=argparse.SUPPRESS)
