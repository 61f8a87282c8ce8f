"""Reading the envelope and the code families: a broken Header is never a success, a busy endpoint is waited out."""

from __future__ import annotations

import pytest

from ivhsuite.protocol import COLD_FAILURE_CODES, GONE_CODES, QUOTA_BUSY_CODES, Answer, Code, header_code


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b'{"Header": {"Code": 0, "Message": "ok"}, "Payload": {}}', 0),
        (b'{"Header": {"Code": 100001}}', 100001),
        (b'{"Header": {"Message": "no code"}, "Payload": {}}', None),
        (b'{"Header": {}, "Payload": {"ReqId": "r"}}', None),
        (b'{"Header": {"Code": "0"}}', None),
        (b'{"Header": {"Code": true}}', None),
        (b'{"Header": {"Code": null}}', None),
        (b'{"Payload": {}}', None),
        (b"<html>502</html>", None),
        (b"", None),
    ],
    ids=["ok", "refused", "no-code", "empty-header", "string", "bool", "null", "no-header", "html", "empty"],
)
def test_only_an_integer_code_is_read(content: bytes, code: int | None) -> None:
    got = Answer.read(200, content)
    assert got.code == code
    assert got.ok == (code == 0)
    assert header_code(got.body) == code


@pytest.mark.parametrize(
    ("code", "busy"),
    [
        (Code.OVER_CONCURRENCY_LIMIT, True),
        (Code.NO_QUOTA_LEFT, True),
        (Code.NOT_ENOUGH_COMPUTE, True),
        (Code.TOO_FREQUENT, False),
        (Code.BAD_PARAMETER, False),
        (Code.INTERNAL_ERROR, False),
        (Code.OK, False),
    ],
    ids=lambda v: v.name if isinstance(v, Code) else str(v),
)
def test_quota_busy_means_wait_and_try_again(code: Code, busy: bool) -> None:
    assert Answer.read(200, b'{"Header": {"Code": %d}}' % code).busy == busy
    assert (code in QUOTA_BUSY_CODES) == busy


def test_the_families_of_codes() -> None:
    assert {Code.SESSION_CLOSED, Code.SESSION_NOT_FOUND, Code.PREEMPTED} == GONE_CODES
    assert Code.NOT_ENOUGH_COMPUTE in COLD_FAILURE_CODES and Code.NOT_ENOUGH_COMPUTE in QUOTA_BUSY_CODES
