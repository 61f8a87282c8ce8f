"""ProtocolOption rules of createsession (page 100388): custom CSS push, the caller's own TRTC app."""

from __future__ import annotations

import pytest

from ivhsuite.gate.scenarios.scenario_client import Probe
from ivhsuite.gate.shaping import css_push_url

EXTERNAL_APP = {
    "TrtcAppId": "1400000001",
    "TrtcUserSig": "eJw1jcEKgjAcxu97ivlcxF1LSFt0MKEWpnkRYbNW6Mr-gR-gateonly",
    "TrtcPrivateMapKey": "eJw1jUEKgjAcgL2gateonly",
}
REQUIRED = tuple(EXTERNAL_APP)


def test_css_push_url_withholds_play_stream_addr(probe: Probe) -> None:
    option = {"CssCustomPushUrl": css_push_url(probe.user_id())}
    created = probe.create(ProtocolOption=option)
    probe.expect(created.ok, "positive-accepted", f"createsession with CssCustomPushUrl got {created}")
    probe.expect(
        "PlayStreamAddr" not in created.payload,
        "css-withholds-play-addr",
        f"createsession returned PlayStreamAddr {created.payload.get('PlayStreamAddr')!r}",
    )


@pytest.mark.parametrize(
    "missing",
    [REQUIRED, *((name,) for name in REQUIRED)],
    ids=["all-three", *(f"no-{name}" for name in REQUIRED)],
)
def test_external_trtc_app_needs_its_three_fields(probe: Probe, missing: tuple[str, ...]) -> None:
    option = {"TrtcUseExternalApp": True, **{k: v for k, v in EXTERNAL_APP.items() if k not in missing}}
    answer = probe.create(protocol="trtc", ProtocolOption=option)
    probe.expect_rejected(answer, "external-trtc-fields", f"TrtcUseExternalApp true without {', '.join(missing)}")
