"""The policy on what the docs leave open, rule by rule: each point the module lists, on an answer it allows and one it must not."""

from __future__ import annotations

from typing import Any

import pytest

from ivhsuite.contract import policy
from ivhsuite.protocol import Code

STRING = {"type": "string"}
ROOM = {"properties": {"Room": {"type": "integer", "minimum": 1, "maximum": 9, "x-silent-bounds": {"minimum": 0}}}}
USER = {"properties": {"UserId": STRING, "Text": STRING, "Kind": {"type": "string", "enum": ["a"]}}}

# (rule, call, expected): the module docstring's list, as data.
CASES: list[tuple[str, Any, Any]] = [
    # only a 500-class answer of the endpoint's own is a server failure
    ("500-is-a-failure", lambda: policy.is_server_failure(500), True),
    ("500-to-an-undocumented-method-too", lambda: policy.is_server_failure(500, documented_method=False), True),
    ("501-to-a-documented-method", lambda: policy.is_server_failure(501), True),
    ("501-to-an-undocumented-method", lambda: policy.is_server_failure(501, documented_method=False), False),
    ("4xx-is-no-server-failure", lambda: policy.is_server_failure(404), False),
    # 502-504 are a gateway's words about the network
    *(
        (f"{s}-is-a-gateway", (lambda s=s: (policy.is_gateway_answer(s), policy.is_server_failure(s))), (True, False))
        for s in (502, 503, 504)
    ),
    ("500-is-no-gateway", lambda: policy.is_gateway_answer(500), False),
    ("501-is-no-gateway", lambda: policy.is_gateway_answer(501), False),
    # a valid request at an open edge may be refused with 100001, with nothing else
    ("100001-tolerated", lambda: policy.refusal_tolerated(Code.BAD_PARAMETER), True),
    ("internal-error-not-tolerated", lambda: policy.refusal_tolerated(Code.INTERNAL_ERROR), False),
    ("not-authorized-not-tolerated", lambda: policy.refusal_tolerated(Code.NOT_AUTHORIZED), False),
    ("no-code-not-tolerated", lambda: policy.refusal_tolerated(None), False),
    # null in place of an optional field may be read as absent
    ("null-read-as-absent", lambda: policy.strip_nulls({"a": None, "b": 1}), {"b": 1}),
    (
        "nested-null-read-as-absent",
        lambda: policy.strip_nulls({"P": {"o": None, "l": [{"x": None}]}}),
        {"P": {"l": [{}]}},
    ),
    ("a-value-is-kept", lambda: policy.strip_nulls({"a": 0, "b": "", "c": False}), {"a": 0, "b": "", "c": False}),
    # a value beyond a bound only another product documents (TrtcRoomId 0) may be accepted; beyond both, never
    ("silent-bound", lambda: policy.beyond_silent_bounds({"Room": 0}, ROOM, {}), ({}, ["Room 0"])),
    ("beyond-both-bounds", lambda: policy.beyond_silent_bounds({"Room": -1}, ROOM, {}), ({"Room": -1}, [])),
    ("beyond-the-written-maximum", lambda: policy.beyond_silent_bounds({"Room": 10}, ROOM, {}), ({"Room": 10}, [])),
    ("inside-the-range", lambda: policy.beyond_silent_bounds({"Room": 1}, ROOM, {}), ({"Room": 1}, [])),
    # the edges: empty, long, unusual characters where no rule is written; never where one is
    ("empty-string", lambda: policy.undocumented_edges({"UserId": ""}, USER), ["empty UserId"]),
    ("long-string", lambda: policy.undocumented_edges({"UserId": "u" * 33}, USER), ["UserId of 33 characters"]),
    ("ordinary-length", lambda: policy.undocumented_edges({"UserId": "u" * 32}, USER), []),
    ("unusual-characters", lambda: policy.undocumented_edges({"UserId": "ü"}, USER), ["unusual characters in UserId"]),
    ("free-text-is-ordinary", lambda: policy.undocumented_edges({"Text": "ü ?"}, USER), []),
    ("an-enum-is-documented", lambda: policy.undocumented_edges({"Kind": ""}, USER), []),
    (
        "a-written-rule-is-no-edge",
        lambda: policy.undocumented_edges({"UserId": ""}, {"properties": {"UserId": {**STRING, "minLength": 1}}}),
        [],
    ),
]


@pytest.mark.parametrize(("call", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_policy(call: Any, expected: Any) -> None:
    assert call() == expected


def test_public_names_are_sorted_and_importable() -> None:
    import ivhsuite.contract as contract

    assert contract.__all__ == sorted(contract.__all__)
    for name in contract.__all__:
        assert getattr(contract, name) is not None


def test_the_judge_allows_trtc_room_zero_either_way_and_still_fails_a_negative_room() -> None:
    """TrtcRoomId 0: the spec follows TRTC's range (1 up), the IVH page is silent, so an endpoint may accept it."""
    from ivhsuite.contract import Exchange, Judge
    from ivhsuite.protocol import Answer
    from ivhsuite.spec import load_spec

    spec = load_spec()
    judge = Judge(spec)
    accepted = Answer.read(
        200, '{"Header": {"Code": 0}, "Payload": {"ReqId": "%s", "SessionId": "s", "SessionStatus": 1}}' % ("a" * 32)
    )

    def judged(room: int) -> Any:
        payload = {"ReqId": "a" * 32, "VirtualmanProjectId": "p", "UserId": "u", "Protocol": "trtc", "DriverType": 1}
        sent = {"Header": {}, "Payload": {**payload, "ProtocolOption": {"TrtcRoomId": room}}}
        op = spec.operation("createsession")
        valid = op.request.is_valid(sent)
        return judge.promise(
            "negative-rejected", Exchange(op, "POST", sent, valid, True, 200, "application/json", accepted)
        )

    zero = judged(0)
    assert not zero.issues and "TrtcRoomId 0" in zero.observations["silent-bound-accepted:createsession"]
    assert [issue.promise for issue in judged(-1).issues] == ["negative-rejected"]


CREATE = {"ReqId": "a" * 32, "VirtualmanProjectId": "p", "UserId": "u", "Protocol": "trtc", "DriverType": 1}


@pytest.mark.parametrize(
    ("payload", "may"),
    [
        (CREATE, True),
        ({**CREATE, "ExtraInfo": None}, True),  # null in place of an optional field: may be read as absent
        ({**CREATE, "ProtocolOption": {"TrtcRoomId": 0}}, True),  # beyond a silent bound only
        ({**CREATE, "ProtocolOption": {"TrtcRoomId": -1}}, False),
        ({**CREATE, "DriverType": "one"}, False),
        ({k: v for k, v in CREATE.items() if k != "UserId"}, False),
        ({**CREATE, "UserId": None}, False),  # null in place of a required field is no absence to read
    ],
    ids=["valid", "null-optional", "silent-bound", "beyond-both", "wrong-type", "missing-required", "null-required"],
)
def test_may_accept_is_what_negative_rejected_allows(payload: dict[str, Any], may: bool) -> None:
    """The session guard books a slot for the creates a plausible endpoint may accept: exactly those
    whose acceptance the negative-rejected promise allows, so the two cannot drift apart."""
    from ivhsuite.contract import UNREADABLE, Exchange, Judge
    from ivhsuite.protocol import Answer
    from ivhsuite.spec import load_spec

    spec = load_spec()
    judge, op = Judge(spec), spec.operation("createsession")
    sent = {"Header": {}, "Payload": payload}
    accepted = Answer.read(
        200, '{"Header": {"Code": 0}, "Payload": {"ReqId": "%s", "SessionId": "s", "SessionStatus": 1}}' % ("a" * 32)
    )
    judged = judge.promise(
        "negative-rejected",
        Exchange(op, "POST", sent, op.request.is_valid(sent), True, 200, "application/json", accepted),
    )
    assert judge.may_accept(op, sent) is may
    assert (not judged.issues) is may
    assert judge.may_accept(op, UNREADABLE) is False
