"""``ivhsuite load``: the locust command it builds and the usage errors it refuses early."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ivhsuite.cli.commands.load import add_load_parser, run_load_command, run_of
from ivhsuite.errors import ConfigError
from ivhsuite.load.locust_child import default_locustfile, locust_command


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
    command = locust_command(run_of(args), Path("lf.py"), tmp_path)
    assert command[1:5] == ["-m", "locust", "-f", "lf.py"]
    assert command[-1] == "PreemptionUser"
    joined = " ".join(command)
    expected = ["--headless", "-u 7", "-r 2", "-t 10s", "--host http://x:1", "--processes 2", "--userid-pool 3"]
    expected += [f"--html {tmp_path / 'report.html'}", f"--csv {tmp_path / 'locust'}", f"--ivh-report-dir {tmp_path}"]
    expected += ["--thresholds-abort", "--stop-timeout 5"]
    for part in expected:
        assert part in joined


def test_conversation_passes_its_options_to_the_locustfile(tmp_path: Path) -> None:
    argv = "--scenario conversation --driver audio --asset-key a1 --speak-timeout 9 --hold-seconds 30"
    command = locust_command(run_of(parse(*argv.split())), Path("lf.py"), tmp_path)
    joined = " ".join(command)
    assert command[-1] == "ConversationUser"
    for part in ("--driver audio", "--asset-key a1", "--speak-timeout 9.0", "--hold-seconds 30.0"):
        assert part in joined
    channels = locust_command(run_of(parse("--scenario", "preemption", "--hold-channels")), Path("lf.py"), tmp_path)
    assert "--hold-channels" in channels


def test_no_base_url_leaves_the_target_to_the_locustfile(tmp_path: Path) -> None:
    command = locust_command(run_of(parse("--scenario", "create")), Path("lf.py"), tmp_path)
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


# --- exit codes, with a stand-in locustfile that ends locust as told (no load, under a second) ----------

FAKE_LOCUSTFILE = """
import os, signal, time

stopping = []  # locust patches with gevent: a signal handler may not block, so the main loop does the work
if os.environ.get("FAKE_LOCUST_EXIT"):
    os._exit(int(os.environ["FAKE_LOCUST_EXIT"]))
signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
print("fake locust: running", flush=True)
for _ in range(600):
    if stopping:
        time.sleep(0.3)  # as locust does: close the run's sessions, write the reports, then exit
        with open(os.environ["FAKE_LOCUST_MARKER"], "w") as marker:
            marker.write("cleaned up")
        os._exit(0)
    time.sleep(0.1)
os._exit(4)
"""

@pytest.fixture
def fake_locustfile(tmp_path: Path) -> Path:
    path = tmp_path / "fake" / "locustfile.py"
    path.parent.mkdir()
    path.write_text(FAKE_LOCUSTFILE)
    path.with_name("thresholds.toml").write_text("")
    return path


def ivhsuite_load(locustfile: Path, report_dir: Path) -> list[str]:
    argv = ["load", "--scenario", "create", "--locustfile", str(locustfile), "--report-dir", str(report_dir)]
    return [sys.executable, "-m", "ivhsuite.cli", *argv]


@pytest.mark.parametrize(("locust_exit", "expected"), [(0, 0), (1, 1), (3, 3), (4, 2)], ids=["green", "failed", "unstable", "error"])
def test_exit_code_follows_locusts(fake_locustfile: Path, tmp_path: Path, locust_exit: int, expected: int) -> None:
    env = {**os.environ, "FAKE_LOCUST_EXIT": str(locust_exit)}
    done = subprocess.run(
        ivhsuite_load(fake_locustfile, tmp_path / "r"), env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == expected, done.stderr
    assert "Traceback" not in done.stderr
    if expected == 2:
        assert f"ivhsuite: error: locust exited with code {locust_exit}" in done.stderr


def test_ctrl_c_waits_for_locust_to_clean_up_then_exits_130(fake_locustfile: Path, tmp_path: Path) -> None:
    marker = tmp_path / "cleaned"
    env = {k: v for k, v in os.environ.items() if k != "FAKE_LOCUST_EXIT"}
    env["FAKE_LOCUST_MARKER"] = str(marker)
    process = subprocess.Popen(
        ivhsuite_load(fake_locustfile, tmp_path / "r"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group, as a terminal gives a command: Ctrl-C reaches locust too
    )
    try:
        assert process.stdout is not None and "fake locust: running" in process.stdout.readline()
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130, err
    assert marker.read_text() == "cleaned up", "ivhsuite load returned before locust had cleaned up"
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv", [["--scenario", "create", "-u", "0"], ["--scenario", "soak"]], ids=["bad-value", "unknown-scenario"]
)
def test_a_usage_problem_is_one_line_and_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from ivhsuite.cli import main

    try:
        code = main(["load", *argv])
    except SystemExit as exc:  # argparse's own errors end the process
        code = exc.code
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ivhsuite: error:")
