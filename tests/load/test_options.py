"""Scenario options: added to locust's parser (and its web UI), read back with their types."""

from __future__ import annotations

import argparse
from typing import Any

from ivhsuite.load.options import ScenarioOptions, add_arguments


class UiParser(argparse.ArgumentParser):
    """Stands in for locust's parser: accepts and records ``include_in_web_ui``."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: set[str] = set()

    def add_argument(self, *args: Any, include_in_web_ui: bool = True, **kwargs: Any) -> Any:
        action = super().add_argument(*args, **kwargs)
        if not include_in_web_ui:
            self.hidden.add(action.dest)
        return action


def test_defaults_match_the_parser_defaults() -> None:
    parser = UiParser()
    add_arguments(parser)
    parsed = ScenarioOptions.from_namespace(parser.parse_args([]))
    assert parsed == ScenarioOptions(project_id=parsed.project_id)


def test_web_ui_shows_scenario_options_and_hides_plumbing() -> None:
    parser = UiParser()
    add_arguments(parser)
    shown = {a.dest for a in parser._actions} - parser.hidden - {"help"}
    assert {"userid_pool", "hold_seconds", "ready_timeout", "project_id", "thresholds"} <= shown
    assert {"ivh_run_id", "ivh_report_dir", "emulator_quota"} <= parser.hidden


def test_values_from_the_web_ui_are_coerced() -> None:
    namespace = argparse.Namespace(userid_pool="3", hold_seconds="0.5", thresholds_abort="true", unrelated=1)
    parsed = ScenarioOptions.from_namespace(namespace)
    assert (parsed.userid_pool, parsed.hold_seconds, parsed.thresholds_abort) == (3, 0.5, True)
    assert ScenarioOptions.from_namespace(None) == ScenarioOptions()


def test_user_id_prefix_names_the_run() -> None:
    assert ScenarioOptions(ivh_run_id="0000ab12").userid_prefix == "ivhs-0000ab12-"
