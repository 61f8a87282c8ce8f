"""The documented signature: the three vectors, the CLI, and the httpx.Auth."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote

import httpx
import pytest

from ivhsuite import signing
from ivhsuite.cli import main

VECTORS = [
    pytest.param(
        "example_appkey",
        "example_accesstoken",
        1717639699,
        None,
        "aCNWYzZdplxWVo%2BJsqzZc9%2BJ9XrwWWITfX3eQpsLVno%3D",
        id="example",
    ),
    pytest.param(
        "e38267c0e86411ebb02aed82acb0ed99",
        "f68f2d10ae9e4604b76fb05cf46bccec",
        1646636485,
        None,
        "BfWuaC9kmaicCggXc693uK%2BsZQ8qe88O4HVQNTdwZuo%3D",
        id="hex-appkey",
    ),
    pytest.param(
        "example_appkey",
        "example_accesstoken",
        1717639699,
        "example_requestid",
        "QVenICk0VHtHGYZKXM6IC%2BW1CjZC1joSr%2Fx0gfKKYT4%3D",
        id="with-requestid",
    ),
]


@pytest.mark.parametrize(("appkey", "token", "timestamp", "requestid", "encoded"), VECTORS)
def test_documented_vectors(appkey: str, token: str, timestamp: int, requestid: str | None, encoded: str) -> None:
    query = signing.signed_query(appkey, token, timestamp, requestid)
    assert query.endswith(f"&signature={encoded}")
    params = dict(parse_qsl(query))
    assert params["appkey"] == appkey and params["timestamp"] == str(timestamp)
    assert params.get("requestid") == requestid


@pytest.mark.parametrize(("appkey", "token", "timestamp", "requestid", "encoded"), VECTORS)
def test_cli_prints_signed_query(
    appkey: str, token: str, timestamp: int, requestid: str | None, encoded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sign", "--appkey", appkey, "--access-token", token, "--timestamp", str(timestamp)]
    if requestid:
        argv += ["--requestid", requestid]
    assert main(argv) == 0
    out = capsys.readouterr().out.strip()
    expected = f"appkey={appkey}" + (f"&requestid={requestid}" if requestid else "") + f"&timestamp={timestamp}"
    assert out == f"{expected}&signature={encoded}"


def test_string_to_sign_sorts_and_skips_signature() -> None:
    params = {"timestamp": "2", "signature": "x", "appkey": "a", "requestid": "r"}
    assert signing.string_to_sign(params) == "appkey=a&requestid=r&timestamp=2"


def test_every_reserved_character_is_encoded_once() -> None:
    encoded = signing.encode_query({"signature": "a+b/c="})
    assert encoded == "signature=a%2Bb%2Fc%3D"


def test_verify_accepts_good_and_names_what_is_wrong() -> None:
    good = signing.sign_params("ak", "tok", timestamp=1000)
    assert signing.verify_signature(good, "ak", "tok", now=1000) is None
    assert signing.verify_signature(good, "ak", "tok", now=1000 + 301) == "timestamp is more than 5 minutes away from server time"
    assert signing.verify_signature({**good, "signature": "AAAA"}, "ak", "tok", now=1000) == "signature does not match"
    assert signing.verify_signature({k: v for k, v in good.items() if k != "appkey"}, "ak", "tok", now=1000) == "missing appkey"
    assert signing.verify_signature(good, "other", "tok", now=1000) == "unknown appkey"


def test_verify_accepts_a_plus_sent_unencoded() -> None:
    params = signing.sign_params("ak", "tok", timestamp=1000)
    while "+" not in params["signature"]:  # find a timestamp whose signature has a '+'
        params = signing.sign_params("ak", "tok", timestamp=int(params["timestamp"]) + 1)
    now = int(params["timestamp"])
    as_received = dict(parse_qsl(f"signature={params['signature']}"))  # '+' arrives as a space
    assert signing.verify_signature({**params, **as_received}, "ak", "tok", now=now) is None


def test_signature_auth_signs_each_request_with_fresh_params() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={})

    with httpx.Client(transport=httpx.MockTransport(handler), auth=signing.SignatureAuth("ak", "tok")) as client:
        client.post("http://ivh.test/x", params={"signature": "stale"})
    params = dict(parse_qsl(seen[0].query.decode()))
    assert signing.verify_signature(params, "ak", "tok") is None
    assert quote(params["signature"], safe="") in seen[0].query.decode()
    assert "tok" not in repr(signing.SignatureAuth("ak", "tok"))


@pytest.mark.parametrize(
    ("age", "accepted"),
    [(0, True), (299, True), (300, True), (301, False), (-299, True), (-300, True), (-301, False)],
    ids=["now", "299s", "300s", "301s", "299s-ahead", "300s-ahead", "301s-ahead"],
)
def test_a_timestamp_up_to_300_s_away_is_accepted(age: int, accepted: bool) -> None:
    """The docs: a timestamp more than 5 minutes from server time is refused; exactly 5 minutes is not "more"."""
    params = signing.sign_params("ak", "tok", timestamp=1_000_000)
    verdict = signing.verify_signature(params, "ak", "tok", now=1_000_000 + age)
    assert verdict == (None if accepted else "timestamp is more than 5 minutes away from server time")
