"""The embedded emulator of a load run: its own process, signed with the caller's credentials."""

from __future__ import annotations

import pytest

from ivhsuite.client import IvhClient
from ivhsuite.config import Target
from ivhsuite.errors import ApiError
from ivhsuite.load import emulator_proc


def test_child_emulator_serves_signed_and_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVH_APPKEY", "load-appkey")
    monkeypatch.setenv("IVH_ACCESS_TOKEN", "load-token")
    running = emulator_proc.start("proj-1", quota=2, prepare_seconds=0)
    try:
        assert "load-token" not in " ".join(running.process.args)  # never on a command line
        signed = Target(base_url=running.base_url, appkey="load-appkey", access_token="load-token", project_id="proj-1")
        with IvhClient(signed) as ivh:
            assert ivh.list_sessions() == []
        unsigned = Target(base_url=running.base_url, project_id="proj-1")
        with IvhClient(unsigned) as ivh, pytest.raises(ApiError) as refused:
            ivh.list_sessions()
        assert refused.value.code == 100005
    finally:
        running.stop()
    assert running.process.returncode is not None
