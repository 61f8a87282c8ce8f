"""fastjson.loads reads every document exactly as json.loads does: same value, or same error."""

from __future__ import annotations

import json

import pytest

from ivhsuite import fastjson

DOCUMENTS = [
    b'{"Header":{"Code":0,"Message":"success"},"Payload":{"ReqId":"0123456789abcdef0123456789abcdef"}}',
    b'{"a": 1, "a": 2}',
    b'{"a": -0.0, "b": 1.5E3, "c": 1e-7, "d": 0.1}',
    b'{"a": 18446744073709551615, "b": -9223372036854775808}',
    b'{"a": 18446744073709551616}',
    b'{"a": -9223372036854775809}',
    b'{"a": 123456789012345678901234567890.5}',
    b'{"a": "12345678901234567890 in a string"}',
    b'{"a": NaN, "b": Infinity, "c": -Infinity}',
    b'{"a": 1e400}',
    b'{"a": "\\ud800"}',
    b'{"a": "\\u0000\\n\\u00e9\xc3\xa9"}',
    b'\xef\xbb\xbf{"a": 1}',
    b' [1, 2, {"b": null}] ',
    b'"text"',
    b"",
    b"{",
    b'{"a": 1,}',
    b"\xff\xfe",
    b'{"a": 1} trailing',
    b"[" * 5000 + b"]" * 5000,
]


def _outcome(parse, data: bytes) -> tuple[str, str]:
    try:
        return "value", repr(parse(data))
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("data", DOCUMENTS, ids=range(len(DOCUMENTS)))
def test_same_value_or_same_error_as_json(data: bytes) -> None:
    assert _outcome(fastjson.loads, data) == _outcome(json.loads, data)
    assert _outcome(fastjson.loads, bytearray(data)) == _outcome(json.loads, bytearray(data))


def test_a_big_integer_stays_an_integer() -> None:
    assert fastjson.loads(b'{"Code": 100000000000000000000}')["Code"] == 10**20


BODIES = [
    {"Header": {}, "Payload": {"ReqId": "0" * 32, "SessionId": "s", "Data": {"Text": "héllo 😀", "Interrupt": True}}},
    {"Header": {}, "Payload": {"ReqId": "0" * 32, "TrtcRoomId": 4294967294, "Big": 10**30}},  # beyond 64 bits
    {"Header": {}, "Payload": {"UserId": "lone \udc80 surrogate"}},  # from a surrogate-escaped argument
    {"Header": {}, "Payload": {1: "a non-string key"}},
]


@pytest.mark.parametrize("document", BODIES, ids=["unicode", "big int", "surrogate", "int key"])
def test_a_body_reads_back_as_json_dumps_would(document: object) -> None:
    assert json.loads(fastjson.dumps(document)) == json.loads(json.dumps(document))
