"""The gate's adapter reads the spec of an active run: one pointed at nothing, for code that sends nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ivhsuite.config import Target
from ivhsuite.gate.context import RunContext, active
from ivhsuite.gate.options import GateOptions


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunContext]:
    for name in ("IVH_BASE_URL", "IVH_APPKEY", "IVH_ACCESS_TOKEN", "IVH_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    ctx = RunContext(GateOptions(Target(base_url="http://127.0.0.1:9", project_id="contract-test")), tag="00abc124")
    with active(ctx):
        yield ctx
    ctx.shutdown()
