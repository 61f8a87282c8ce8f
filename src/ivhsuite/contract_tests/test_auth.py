"""The documented signature (pages 107197, 100386, 90943), when credentials are configured.

Each refusal is checked on listsessionofprojectid, which creates nothing, next to a
correctly signed request that must pass, so a refusal of everything cannot look like
enforcement.
"""

from __future__ import annotations

import time

import pytest

from ivhsuite.config import ENV_ACCESS_TOKEN, ENV_APPKEY
from ivhsuite.gate.context import RunContext
from ivhsuite.gate.scenarios.scenario_client import Probe
from ivhsuite.signing import encode_query, sign_params

STALE_SECONDS = 600  # twice the documented 5-minute window: no clock skew can excuse it


@pytest.fixture(autouse=True)
def _credentials(run: RunContext) -> None:
    if not run.target.signed:
        pytest.skip(f"no credentials ({ENV_APPKEY}, {ENV_ACCESS_TOKEN}): signature enforcement cannot be tested")


def test_good_signature_accepted(probe: Probe) -> None:
    target = probe.run.target
    answer = probe.raw(
        "listsessionofprojectid",
        {"VirtualmanProjectId": target.project_id},
        encode_query(sign_params(str(target.appkey), str(target.access_token))),
        resign=True,
    )
    probe.expect(answer.ok, "positive-accepted", f"a correctly signed request got {answer}")


def test_bad_signature_refused(probe: Probe) -> None:
    target = probe.run.target
    query = encode_query(sign_params(str(target.appkey), "not-the-access-token"))
    answer = probe.raw("listsessionofprojectid", {"VirtualmanProjectId": target.project_id}, query, resign=False)
    probe.expect_rejected(answer, "auth", "a request signed with the wrong access token")


def test_stale_timestamp_refused(probe: Probe) -> None:
    target = probe.run.target
    stamp = int(time.time()) - STALE_SECONDS
    query = encode_query(sign_params(str(target.appkey), str(target.access_token), timestamp=stamp))
    answer = probe.raw("listsessionofprojectid", {"VirtualmanProjectId": target.project_id}, query, resign=True)
    probe.expect_rejected(answer, "auth", f"a correctly signed request {STALE_SECONDS} s old")


def test_missing_appkey_refused(probe: Probe) -> None:
    target = probe.run.target
    params = sign_params(str(target.appkey), str(target.access_token))
    del params["appkey"]
    answer = probe.raw(
        "listsessionofprojectid", {"VirtualmanProjectId": target.project_id}, encode_query(params), resign=False
    )
    probe.expect_rejected(answer, "auth", "a signed request without appkey")
