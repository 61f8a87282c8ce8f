"""The channel's promises in the one judge: fed fake message lists, each broken promise named by its key."""

from __future__ import annotations

import pytest

from ivhsuite.channel_spec import load_channel_spec
from ivhsuite.contract import PROMISES
from ivhsuite.contract.channel import (
    Refused,
    closed_issues,
    drive_issues,
    message_issues,
    refusal_issues,
    reqid_issues,
    status,
)
from ivhsuite.protocol import Code

SPEC = load_channel_spec()
RULES = SPEC.rules
R = "a" * 32


def keys(issues: list) -> list[str]:
    return [issue.promise for issue in issues]


def error(code: int, req_id: str | None = R) -> dict:
    payload = {"Type": 9, "SessionId": "s", "SpeakStatus": "Error", **({"ReqId": req_id} if req_id else {})}
    return {"Header": {"Code": code, "Message": "no", "RequestID": "r"}, "Payload": payload}


def test_every_key_the_judge_names_is_a_promise() -> None:
    for key in (
        "channel-text-statuses",
        "channel-audio-statuses",
        "channel-audio-server-final",
        "channel-reqid",
        "channel-message-schema",
        "channel-refusal-documented",
        "channel-closed-with-session",
        "channel-after-start",
        "channel-text-rate",
        "channel-audio-driver",
        "channel-heartbeat",
    ):
        assert key in PROMISES


def test_a_faithful_text_and_audio_pass() -> None:
    seen = [status(R, "TextStart"), status(R, "TextOver")]
    assert drive_issues(SPEC, seen, R, "text") == []
    audio = [status(R, "AudioStart"), status(R, "AudioOver", FinalType=RULES.final_by_client)]
    assert drive_issues(SPEC, audio, R, "audio", final_type=RULES.final_by_client) == []
    assert all(message_issues(SPEC, m) == [] for m in seen + audio + [error(Code.TOO_FREQUENT)])


@pytest.mark.parametrize(
    ("seen", "kind", "final", "key"),
    [
        ([status(R, "TextStart")], "text", None, "channel-text-statuses"),
        ([status(R, "TextOver"), status(R, "TextStart")], "text", None, "channel-text-statuses"),
        ([status(R, "TextOver")], "text", None, "channel-text-statuses"),
        ([status(R, "AudioStart")], "audio", 1, "channel-audio-statuses"),  # no AudioOver after the final packet
        ([status(R, "AudioStart"), status(R, "AudioOver", FinalType=2)], "audio", 1, "channel-audio-statuses"),
        ([status(R, "AudioStart")], "audio", 2, "channel-audio-server-final"),
        ([status(R, "AudioStart"), status(R, "AudioOver", FinalType=1)], "audio", 2, "channel-audio-server-final"),
        ([error(Code.WRONG_TIME)], "text", None, "channel-text-statuses"),
    ],
    ids=[
        "no-over",
        "over-first",
        "no-start",
        "no-audio-over",
        "wrong-final",
        "no-server-final",
        "server-final-1",
        "refused",
    ],
)
def test_a_broken_drive_is_named(seen: list, kind: str, final: int | None, key: str) -> None:
    assert keys(drive_issues(SPEC, seen, R, kind, final_type=final)) == [key]


def test_a_status_for_a_reqid_never_sent_breaks_channel_reqid() -> None:
    assert reqid_issues([status(R, "TextStart")], [R]) == []
    assert keys(reqid_issues([status("b" * 32, "TextStart")], [R])) == ["channel-reqid"]
    assert reqid_issues([error(Code.BAD_PARAMETER, None)], [R]) == []  # an error for no command


def test_a_message_off_the_schema_or_with_an_undocumented_code() -> None:
    bad = status(R, "Speaking")
    assert keys(message_issues(SPEC, bad)) == ["channel-message-schema"]
    assert keys(message_issues(SPEC, {"Header": {"Code": 0}, "Payload": {"SessionId": "s"}})) == [
        "channel-message-schema"
    ]
    assert keys(message_issues(SPEC, error(123456))) == ["channel-refusal-documented"]


def test_refusals_tolerate_every_delivery_but_never_a_drive() -> None:
    assert (
        refusal_issues("channel-after-start", "x", Refused(closed=True)) == []
    )  # no body: delivery undocumented
    assert refusal_issues("channel-after-start", "x", Refused(closed=True)) == []
    assert refusal_issues("channel-after-start", "x", Refused(code=Code.SESSION_NOT_STARTED, closed=True)) == []
    assert keys(refusal_issues("channel-after-start", "x", Refused(drove=("TextStart",)))) == ["channel-after-start"]
    assert keys(refusal_issues("channel-after-start", "x", Refused(code=777))) == ["channel-refusal-documented"]
    only = frozenset({Code.TOO_FREQUENT})
    assert keys(refusal_issues("channel-text-rate", "x", Refused(code=Code.WRONG_TIME), codes=only)) == [
        "channel-text-rate"
    ]


def test_a_channel_left_open_after_its_session_ended() -> None:
    assert closed_issues("closesession", closed=True, within="5 s") == []
    assert keys(closed_issues("preemption", closed=False, within="5 s")) == ["channel-closed-with-session"]
