"""Load scenarios for the IVH API on locust, and what judges them.

Importing this package does not import locust (which patches the interpreter with
gevent): the locust-side modules are :mod:`~ivhsuite.load.user`,
:mod:`~ivhsuite.load.scenarios` and :mod:`~ivhsuite.load.locust_events`, imported by
``loadtests/locustfile.py``. The names below are plain Python, used by the CLI and tests.
"""

from __future__ import annotations

from ivhsuite.load.options import ScenarioOptions
from ivhsuite.load.thresholds import StatsSnapshot, Thresholds, Verdict, evaluate, read_thresholds
from ivhsuite.load.validation import Outcome, ResponseChecker

__all__ = [
    "Outcome",
    "ResponseChecker",
    "ScenarioOptions",
    "StatsSnapshot",
    "Thresholds",
    "Verdict",
    "evaluate",
    "read_thresholds",
]
