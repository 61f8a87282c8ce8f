"""``ivhsuite sweep``: closes what earlier runs left by run tag, never an untagged session; and the tag format."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ivhsuite.cli import main
from ivhsuite.client import IvhClient
from ivhsuite.config import Target
from ivhsuite.emulator import EmulatorSettings, serve_in_thread
from ivhsuite.protocol import ExitCode
from ivhsuite.run_sessions import RunSessions, live_tagged, new_run_id, run_id_of, run_tag


@pytest.fixture
def ivh(monkeypatch: pytest.MonkeyPatch) -> Iterator[IvhClient]:
    for name in ("IVH_BASE_URL", "IVH_APPKEY", "IVH_ACCESS_TOKEN", "IVH_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    with serve_in_thread(EmulatorSettings(prepare_seconds=0, quota=20)) as running:
        client = IvhClient(Target(base_url=running.base_url))
        yield client
        client.sessions = RunSessions()  # nothing of the test's own to close at the end
        client.http.close()


def _leave_behind(ivh: IvhClient, user_ids: list[str]) -> dict[str, str]:
    created = {ivh.create_session(user_id)["SessionId"]: user_id for user_id in user_ids}
    ivh.sessions = RunSessions()  # as if the run had been killed
    return created


def _live(ivh: IvhClient) -> set[str]:
    return {str(s["UserId"]) for s in ivh.list_account_sessions() if s.get("SessionStatus") in (1, 3)}


def test_sweep_closes_one_runs_sessions_then_every_runs_and_never_an_untagged_one(
    ivh: IvhClient, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--base-url", str(ivh.target.base_url)]
    _leave_behind(ivh, [run_tag("0000aaa1") + "a", run_tag("0000aaa1") + "b", run_tag("0000aaa2") + "c", "someone-else"])

    assert main(["sweep", "--run", "0000aaa1", "--dry-run", *base]) == ExitCode.OK
    assert "dry run: none closed" in capsys.readouterr().out and len(_live(ivh)) == 4

    assert main(["sweep", "--run", "0000aaa1", *base]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "closed 2 of 2" in out and "run 0000aaa1" in out
    assert _live(ivh) == {run_tag("0000aaa2") + "c", "someone-else"}

    assert main(["sweep", "--all-runs", *base]) == ExitCode.OK
    assert _live(ivh) == {"someone-else"}
    assert main(["sweep", "--all-runs", *base]) == ExitCode.OK
    assert "no live session of an ivhsuite run" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [["sweep"], ["sweep", "--run", "x", "--all-runs"], ["sweep", "--run", "Not-A-Run"], ["sweep", "--all-runs"]],
    ids=["neither", "both", "bad-id", "no-endpoint"],
)
def test_sweep_refuses_what_it_cannot_do_in_one_line(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("IVH_BASE_URL", raising=False)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err


def test_one_tag_format() -> None:
    run_id = new_run_id()
    assert run_tag(run_id).startswith("ivhs-") and run_id_of(run_tag(run_id) + "l1234") == run_id
    assert run_id_of("ivhload-abc-1") is None and run_id_of("gateabc_") is None and run_id_of(None) is None
    with pytest.raises(ValueError):
        run_tag("UPPER")
    listed = [
        {"SessionId": "a", "UserId": run_tag("000000a1") + "x", "SessionStatus": 1},
        {"SessionId": "b", "UserId": run_tag("000000a1") + "y", "SessionStatus": 2},
        {"SessionId": "c", "UserId": run_tag("000000a2") + "z", "SessionStatus": 3},
        {"SessionId": "d", "UserId": "ivhs-someones-own-id", "SessionStatus": 1},
    ]
    assert live_tagged(listed) == {"000000a1": ["a"], "000000a2": ["c"]}
    assert live_tagged(listed, "000000a2") == {"000000a2": ["c"]}


@pytest.mark.parametrize(
    ("user_id", "run_id"),
    [
        ("ivhs-3fa9c1d2-l0a1b2", "3fa9c1d2"),
        ("ivhs-3fa9c1d2-", "3fa9c1d2"),
        ("ivhs-3fa9c1d2xyz", None),  # no dash after the id
        ("ivhs-3fa9c1d2ffff-l0", None),  # a longer hex id: a customer's, not ours
        ("ivhs-3fa9c1d2", None),
        ("ivhs-3FA9C1D2-l0", None),
        ("ivhs-3fa9c1d-l0", None),
        ("my-ivhs-3fa9c1d2-l0", None),
    ],
    ids=["tagged", "bare-tag", "no-dash", "longer-id", "cut-short", "uppercase", "seven-digits", "not-at-start"],
)
def test_only_a_whole_tag_is_a_tag(user_id: str, run_id: str | None) -> None:
    assert run_id_of(user_id) == run_id


def test_sweep_all_runs_spares_user_ids_that_merely_look_tagged() -> None:
    listed = [
        {"SessionId": "ours", "UserId": "ivhs-3fa9c1d2-l1", "SessionStatus": 1},
        {"SessionId": "theirs-1", "UserId": "ivhs-3fa9c1d2xl1", "SessionStatus": 1},
        {"SessionId": "theirs-2", "UserId": "ivhs-3fa9c1d2ffff-l1", "SessionStatus": 3},
    ]
    assert live_tagged(listed) == {"3fa9c1d2": ["ours"]}
def test_sweep_closes_sessions_created_by_asset_and_never_an_untagged_one(
    ivh: IvhClient, capsys: pytest.CaptureFixture[str]
) -> None:
    tagged, untagged = run_tag("0000bbb1") + "asset", "someone-else-by-asset"
    for user_id in (tagged, untagged):
        ivh.create_session_by_asset(user_id, "some-asset")
    ivh.sessions = RunSessions()  # as if the run had been killed
    assert main(["sweep", "--all-runs", "--base-url", str(ivh.target.base_url)]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "closed 1 of 1" in out and "the account" in out
    assert _live(ivh) == {untagged}
