"""``ivhsuite load``: the locust command it builds and the usage errors it refuses early."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from ivhsuite.errors import ConfigError
from ivhsuite.load.cli import add_load_parser, default_locustfile, locust_command, run_load_command


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_load_parser(parser.add_subparsers())
    return parser.parse_args(["load", *argv])


def test_default_locustfile_is_the_repositorys() -> None:
    assert default_locustfile().is_file()
    assert default_locustfile().parent.name == "loadtests"


def test_command_runs_the_scenario_headless_with_reports(tmp_path: Path) -> None:
    argv = "--scenario preemption -u 7 -r 2 -t 10s --base-url http://x:1 --processes 2 --userid-pool 3"
    args = parse(*argv.split(), "--thresholds-abort", "--", "--stop-timeout", "5")
    command = locust_command(args, Path("lf.py"), tmp_path)
    assert command[1:5] == ["-m", "locust", "-f", "lf.py"]
    assert command[-1] == "PreemptionUser"
    joined = " ".join(command)
    expected = ["--headless", "-u 7", "-r 2", "-t 10s", "--host http://x:1", "--processes 2", "--userid-pool 3"]
    expected += [f"--html {tmp_path / 'report.html'}", f"--csv {tmp_path / 'locust'}", f"--ivh-report-dir {tmp_path}"]
    expected += ["--thresholds-abort", "--stop-timeout 5"]
    for part in expected:
        assert part in joined


def test_no_base_url_leaves_the_target_to_the_locustfile(tmp_path: Path) -> None:
    command = locust_command(parse("--scenario", "create"), Path("lf.py"), tmp_path)
    assert "--host" not in command and command[-1] == "CreateSessionUser"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--locustfile", "/nonexistent/lf.py"], "no locustfile"),
        (["-u", "0"], "-u must be"),
        (["--thresholds", "/nonexistent/t.toml"], "cannot read the thresholds"),
    ],
    ids=["locustfile", "users", "thresholds"],
)
def test_usage_errors_before_any_load(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        run_load_command(parse("--scenario", "create", *argv))


def test_unknown_scenario_is_an_argparse_error() -> None:
    with pytest.raises(SystemExit):
        parse("--scenario", "soak")
