"""Load scenarios for the IVH session manager.

    locust -f loadtests/locustfile.py                       # web UI, scenario options in the form
    locust -f loadtests/locustfile.py --headless -u 5 -r 5 -t 30s --user-classes PreemptionUser
    locust -f loadtests/locustfile.py --headless -u 50 -r 10 -t 60s --driver audio ConversationUser
    ivhsuite load --scenario preemption -u 5 -r 5 -t 30s    # the same, with reports/<run>/

Target: ``--host``, else ``IVH_BASE_URL``, else an embedded emulator started for the run.
Load shape: ``--load-shape constant|ramp|step|spike`` (up to -u users over -t).
Signed when ``IVH_APPKEY``/``IVH_ACCESS_TOKEN`` are set; project from ``--project-id`` or
``IVH_PROJECT_ID``. Thresholds: ``thresholds.toml`` beside this file (or ``--thresholds``);
they decide the exit code. Every session a user opens is closed when the test stops.
"""

from __future__ import annotations

import random
from pathlib import Path

from locust import between, events, task

from ivhsuite.load import scenarios
from ivhsuite.load.locust_events import IvhShape, install
from ivhsuite.load.user import IvhUser, shared_tracker

__all__ = ["ConversationUser", "CreateSessionUser", "IvhShape", "LifecycleUser", "PreemptionUser"]

install(events, thresholds_file=Path(__file__).with_name("thresholds.toml"))


class CreateSessionUser(IvhUser):
    """Its own UserId: create, poll statsession until ready ("time to ready"), hold, close."""

    def on_start(self) -> None:
        self.user_id = scenarios.unique_user_id(self, "c")

    @task
    def create_hold_close(self) -> None:
        scenarios.create_hold_close(self, self.user_id)


class PreemptionUser(IvhUser):
    """UserIds shared by all users (--userid-pool): each create must close the UserId's previous session."""

    wait_time = between(0.0, 0.5)

    def on_start(self) -> None:
        self.pool = scenarios.pool_user_ids(self)
        self.tracker = shared_tracker()

    @task
    def contend(self) -> None:
        scenarios.preempt(self, self.tracker, random.choice(self.pool))


class LifecycleUser(IvhUser):
    """create, ready, start, a few texts at least --text-interval apart, close."""

    def on_start(self) -> None:
        self.user_id = scenarios.unique_user_id(self, "l")

    @task
    def full_lifecycle(self) -> None:
        scenarios.lifecycle(self, self.user_id)


class ConversationUser(IvhUser):
    """create (--asset-key: by asset), ready, start, open the command channel, talk for --hold-seconds
    (--driver text|audio|streamtext, paced as documented), close: "time to TextStart" and the rest."""

    def on_start(self) -> None:
        self.user_id = scenarios.unique_user_id(self, "v")

    @task
    def converse(self) -> None:
        scenarios.converse(self, self.user_id)
