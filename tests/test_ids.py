"""Identifiers are random version-4 UUIDs, in both shapes."""

from __future__ import annotations

import os
import random
import uuid

from ivhsuite.ids import new_hex_id, new_request_id


def test_hex_ids_are_uuid4_hex() -> None:
    ids = {new_hex_id() for _ in range(2000)}
    assert len(ids) == 2000
    for value in ids:
        parsed = uuid.UUID(hex=value)
        assert (parsed.version, parsed.variant, parsed.hex) == (4, uuid.RFC_4122, value)


def test_request_ids_are_uuid4_strings() -> None:
    for _ in range(500):
        value = new_request_id()
        parsed = uuid.UUID(value)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, value)


def test_ids_do_not_follow_the_global_random_state() -> None:
    """hypothesis seeds ``random`` for each test case; the emulator's ids must not repeat with it."""
    random.seed(1)
    first = new_hex_id()
    random.seed(1)
    assert new_hex_id() != first


def test_a_forked_child_makes_other_ids() -> None:
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        os.write(write, new_hex_id().encode())
        os._exit(0)
    os.waitpid(child, 0)
    assert os.read(read, 64).decode() != new_hex_id()
