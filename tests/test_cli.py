"""The ``ivhsuite`` front end: ``sign``'s exit codes, and a usage error of any command is one line and exit 2.

Where each exit path of each command is tested (a wrong code there fails that test):

- ``sign``: 0 test_signing.py::test_cli_prints_signed_query; 2 here.
- ``emulate``: 130 (Ctrl-C) and 2 emulator/test_server.py (foreground..._exit_130, a_usage_problem...).
- ``gate``: 0 gate/test_gate_default.py, gate/test_variants.py (faithful); 1 gate/test_variants.py,
  gate/test_verdict.py (a promise outweighs an error); 2 gate/test_cli.py (settings),
  gate/test_verdict.py (a half that errors); 130 gate/test_interrupt.py.
- ``load``: 0 load/test_runs.py::test_create_scenario_through_ivhsuite_load and load/test_cli.py
  (locust's code kept); 1 and 2 (other locust codes, usage) and 130 load/test_cli.py.
- ``verify``: 0 and 1 verify/test_verify.py; 2 verify/test_verify.py (unreachable) and
  verify/test_exit_codes.py; 130 verify/test_exit_codes.py (Ctrl-C in the gate, in a load run).
"""

from __future__ import annotations

import pytest

from ivhsuite.cli import main


def exit_code_and_stderr(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors end the process
        code = int(exc.code or 0)
    return code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sign", "--appkey", "k"], "the following arguments are required: --access-token"),
        (["sign", "--appkey", "k", "--access-token", "t", "--timestamp", "soon"], "argument --timestamp"),
        ([], "the following arguments are required: command"),
        (["nonsense"], "invalid choice: 'nonsense'"),
    ],
    ids=["sign-missing-token", "sign-bad-timestamp", "no-command", "unknown-command"],
)
def test_a_usage_error_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = exit_code_and_stderr(argv, capsys)
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("ivhsuite: error:") and message in lines[0], lines


def test_sign_prints_one_signed_query_and_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sign", "--appkey", "k", "--access-token", "t", "--timestamp", "1"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("appkey=k&timestamp=1&signature=")
