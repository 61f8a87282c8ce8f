"""Identifiers made on every request: random version-4 UUIDs, built without a UUID object.

The emulator makes a SessionId per create and a RequestID per answer, a load user a ReqId
per call: 128 bits from a generator of their own (seeded from the OS, reseeded in a
forked child, so locust's worker processes never repeat each other; never the global
``random``, which hypothesis seeds for reproducible test cases) with the version and
variant bits set: the shape ``uuid.uuid4()`` gives, at a fraction of its cost and
without a system call each. They name requests and sessions of a test tool, no secret.

>>> len(new_hex_id()), new_hex_id()[12], new_request_id().count("-")
(32, '4', 4)
"""

from __future__ import annotations

import os
import random

_RANDOM = random.Random()  # seeded from os.urandom
os.register_at_fork(after_in_child=_RANDOM.seed)
_CLEAR = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)  # the version and variant bits
_SET = (0x4 << 76) | (0x2 << 62)  # version 4, RFC 4122 variant


def new_hex_id() -> str:
    """Like ``uuid.uuid4().hex``: 32 lowercase hex digits."""
    return "%032x" % (_RANDOM.getrandbits(128) & _CLEAR | _SET)


def new_request_id() -> str:
    """Like ``str(uuid.uuid4())``: 8-4-4-4-12 hex digits."""
    h = new_hex_id()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
