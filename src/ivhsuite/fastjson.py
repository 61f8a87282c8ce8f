"""JSON as the standard library reads and writes it, several times faster on usual documents.

The emulator parses every request, the load users write every request and parse every
answer. orjson does the work; where it could differ from the standard library, the
standard library decides. Reading: orjson refuses NaN and Infinity, lone surrogates
and a BOM (``json`` accepts them, or raises its own error with its own message), and
reads an integer beyond 64 bits as a float, so a run of 19 digits anywhere sends the
document to ``json`` whole. Writing: orjson refuses integers beyond 64 bits, lone
surrogates and non-string keys, which ``json`` writes.

>>> loads(b'{"Code": 0, "Big": 123456789012345678901234567890}')["Big"]
123456789012345678901234567890
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19


def loads(data: bytes | bytearray) -> Any:
    """``json.loads(data)``: the same value, or the same exception with the same message."""
    if _LONG_NUMBER not in data.translate(_DIGITS_TO_ZERO):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)


def dumps(document: Any) -> bytes:
    """A request body: compact UTF-8 JSON meaning what ``json.dumps(document)`` means.

    For documents of strings, integers, booleans, None, lists and dicts (a request's
    payload); orjson writes a float as NaN would be written differently, so no float.
    """
    try:
        return orjson.dumps(document)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(document).encode()
