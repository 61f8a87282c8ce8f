"""``ivhsuite proxy`` usage errors: one line and exit 2, before anything is started."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from ivhsuite.cli import build_parser, main
from ivhsuite.cli.commands.proxy import options_from_args


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--upstream", "ftp://example"], "--upstream must start with http:// or https://"),
        (["--emulator", "--", "no-such-command-ivhsuite"], "cannot run 'no-such-command-ivhsuite'"),
        (["--emulator", "--upstream", "http://127.0.0.1:9"], "not allowed with argument"),
        (["--fail-on", "sometimes"], "invalid choice"),
        (["--port", "70000", "--", "true"], "--port must be 0 to 65535"),
        (["--quota", "0", "--", "true"], "--quota must be 1 or more"),
        (["--heartbeat-seconds", "0", "--", "true"], "--heartbeat-seconds must be more than 0"),
    ],
    ids=["upstream-scheme", "no-command", "both-upstreams", "fail-on", "port", "quota", "heartbeat"],
)
def test_usage_errors_are_one_line_and_exit_2(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    try:
        code = main(["proxy", "--report-dir", str(tmp_path), *args])
    except SystemExit as exc:  # argparse's own errors leave through sys.exit
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_flags_first_then_the_environment() -> None:
    parser = build_parser()
    wrapped = options_from_args(
        parser.parse_args(["proxy", "--", sys.executable, "-V"]), {"IVH_BASE_URL": "https://gw.tvs.qq.com"}
    )
    assert wrapped.upstream == "https://gw.tvs.qq.com" and wrapped.command == (sys.executable, "-V")
    assert wrapped.policy.quota is None, "a real endpoint's quota is unknown unless --quota says it"
    assert wrapped.listen_port == 0, "a wrapped command learns the URL, so any free port will do"
    served = options_from_args(
        parser.parse_args(["proxy", "--emulator", "--stat-interval", "5"]),
        {"IVH_BASE_URL": "https://gw.tvs.qq.com", "IVH_PROJECT_ID": "mine"},
    )
    assert served.upstream is None and served.project_ids == ("mine",) and served.listen_port == 8080
    assert served.policy.quota == 10 and served.policy.stat_interval == 5
    assert not served.strict_advice and served.policy.heartbeat_seconds is None  # None: the documented maximum
    strict = options_from_args(
        parser.parse_args(["proxy", "--emulator", "--strict-advice", "--heartbeat-seconds", "2.5"]), {}
    )
    assert strict.strict_advice and strict.policy.heartbeat_seconds == 2.5


def test_an_upstream_that_is_the_proxy_itself_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = ["proxy", "--upstream", f"http://localhost:{port}", "--port", str(port), "--report-dir", str(tmp_path)]
    assert main(args) == 2
    assert "is the proxy itself" in capsys.readouterr().err
