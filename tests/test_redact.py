from __future__ import annotations

import json

from ivhsuite.redact import MASK, redact


def test_query_secrets_are_masked() -> None:
    url = "http://h/p?appkey=ak&timestamp=1&signature=ab%2Bc%3D"
    push = "rtmp://push.example.com/live/s?txSecret=0123abcd&txTime=6F0A"
    assert redact(url) == f"http://h/p?appkey=ak&timestamp=1&signature={MASK}"
    assert redact(push) == f"rtmp://push.example.com/live/s?txSecret={MASK}&txTime=6F0A"


def test_json_fields_are_masked() -> None:
    body = json.dumps({"ProtocolOption": {"TrtcUserSig": "eJwsig", "TrtcPrivateMapKey": "pmk", "TrtcAppId": "14"}})
    out = redact(body)
    assert "eJwsig" not in out and "pmk" not in out and '"TrtcAppId": "14"' in out


def test_escaped_json_inside_a_string_is_masked() -> None:
    inner = json.dumps({"TrtcUserSig": "eJwsig"})
    assert "eJwsig" not in redact(json.dumps({"body": inner}))


def test_literal_secrets_are_masked_wherever_they_are() -> None:
    assert redact("token=tok-123456 in a message", ["tok-123456"]) == f"token={MASK} in a message"


def test_har_name_value_pairs_are_masked() -> None:
    har = '[{"name": "signature", "value": "c2ln+bmF0="}, {"name": "appkey", "value": "ak"}]'
    assert redact(har) == f'[{{"name": "signature", "value": "{MASK}"}}, {{"name": "appkey", "value": "ak"}}]'
