from __future__ import annotations

import time

from ivhsuite.gate.curl import curl_line
from ivhsuite.signing import signed_query

URL = "http://h:1/v2/ivh/sessionmanager/sessionmanagerservice/statsession"


def test_signed_request_is_reproduced_with_a_fresh_signature() -> None:
    line = curl_line("POST", f"{URL}?{signed_query('ak', 'token')}", b'{"Payload": {}}')
    assert '$(ivhsuite sign --appkey ak --access-token "$IVH_ACCESS_TOKEN")' in line
    assert "signature=" not in line
    assert "timestamp=" not in line
    assert line.startswith(f'curl -X POST "{URL}?$(ivhsuite sign')


def test_stale_timestamp_is_kept_and_signed_for_that_moment() -> None:
    old = int(time.time()) - 600
    line = curl_line("POST", f"{URL}?{signed_query('ak', 'token', old)}", None)
    assert f"--timestamp {old})" in line


def test_a_deliberately_wrong_signature_is_not_resigned() -> None:
    line = curl_line("POST", f"{URL}?appkey=ak&timestamp=1&signature=AbC%2B%3D", None, resign=False)
    assert "signature=***" in line
    assert "ivhsuite sign" not in line


def test_unsigned_request_and_secrets_in_the_body() -> None:
    body = b'{"Payload": {"ProtocolOption": {"TrtcUserSig": "eJw-secret", "CssCustomPushUrl": "rtmp://a/b?txSecret=abc&txTime=1"}}}'
    line = curl_line("POST", URL, body, secrets=("eJw-secret",))
    assert line.startswith(f'curl -X POST "{URL}" -H')
    assert "eJw-secret" not in line
    assert "txSecret=abc" not in line
