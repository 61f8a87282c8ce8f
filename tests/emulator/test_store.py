"""The session lifecycle in the pure store, time moved by hand."""

from __future__ import annotations

from typing import Any

import pytest

from ivhsuite.emulator import EmulatorSettings, Store, StoreError
from ivhsuite.emulator import store as store_module

from .conftest import PROJECT, FakeClock


def make(clock: FakeClock, **overrides: Any) -> Store:
    return Store(EmulatorSettings(**{"prepare_seconds": 0.0, **overrides}), clock)


def refused(code: int, call: Any, *args: Any, **kwargs: Any) -> StoreError:
    with pytest.raises(StoreError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


def test_ready_at_once_without_preparation(clock: FakeClock) -> None:
    info = make(clock).create(PROJECT, "u1", 1)
    assert (info.status, info.live, info.started) == (1, True, False)
    assert info.play_stream_addr == f"rtmp://liveplay.ivh.qq.com/live/{info.session_id}"


def test_cold_start_prepares_then_turns_ready(clock: FakeClock) -> None:
    store = make(clock, prepare_seconds=2.0)
    info = store.create(PROJECT, "u1", 1)
    assert info.status == 3
    clock.advance(1.9)
    assert store.stat(info.session_id).status == 3
    clock.advance(0.1)
    assert store.stat(info.session_id).status == 1


def test_warm_user_is_ready_at_once_until_the_cache_expires(clock: FakeClock) -> None:
    store = make(clock, prepare_seconds=2.0, idle_seconds=60)
    store.create(PROJECT, "u1", 1)
    clock.advance(30)
    assert store.create(PROJECT, "u1", 1).status == 1
    assert store.create(PROJECT, "u2", 1).status == 3  # a different UserId is cold
    clock.advance(60)
    assert store.create(PROJECT, "u1", 1).status == 3


def test_a_protocol_model_cache_warms_every_user_of_that_protocol_for_its_seconds(clock: FakeClock) -> None:
    store = make(clock, prepare_seconds=2.0, choices={"model-cache": "protocol", "model-cache-seconds": 30})
    assert store.create(PROJECT, "u1", 1, protocol="trtc").status == 3  # the first trtc create is cold
    assert store.create(PROJECT, "u2", 1, protocol="trtc").status == 1  # another UserId, same model: warm
    assert store.create(PROJECT, "u3", 1, protocol="webrtc").status == 3  # another Protocol: cold
    clock.advance(29.9)
    assert store.create(PROJECT, "u4", 1, protocol="trtc").status == 1  # and the create warms it again
    clock.advance(30)
    assert store.create(PROJECT, "u5", 1, protocol="trtc").status == 3


def test_cold_start_can_be_switched_off(clock: FakeClock) -> None:
    assert make(clock, prepare_seconds=2.0, cold_start=False).create(PROJECT, "u1", 1).status == 1


def test_same_user_preempts_the_previous_session(clock: FakeClock) -> None:
    store = make(clock)
    first = store.create(PROJECT, "u1", 1).session_id
    store.start(first)
    second = store.create(PROJECT, "u1", 1).session_id
    info = store.stat(first)
    assert (info.status, info.error_code) == (2, 110022)
    assert info.error_message and info.started  # IsSessionStarted stays true whatever the status
    refused(110022, store.start, first)
    refused(110022, store.command, first)
    assert [s.session_id for s in store.sessions(PROJECT)] == [second]


def test_preemption_is_per_project(clock: FakeClock) -> None:
    store = make(clock, project_ids=("p1", "p2"))
    first = store.create("p1", "u1", 1).session_id
    store.create("p2", "u1", 1)
    assert store.stat(first).status == 1


def test_preemption_frees_the_slot_before_the_quota_check(clock: FakeClock) -> None:
    store = make(clock, quota=1)
    store.create(PROJECT, "u1", 1)
    assert store.create(PROJECT, "u1", 1).status == 1


def test_quota_counts_live_sessions_per_project(clock: FakeClock) -> None:
    store = make(clock, quota=2, project_ids=(PROJECT, "other"))
    first = store.create(PROJECT, "u1", 1).session_id
    store.create(PROJECT, "u2", 1)
    refused(100008, store.create, PROJECT, "u3", 1)
    store.create("other", "u3", 1)
    store.close(first)
    store.create(PROJECT, "u3", 1)


def test_preparing_sessions_hold_a_slot(clock: FakeClock) -> None:
    store = make(clock, quota=1, prepare_seconds=5)
    assert store.create(PROJECT, "u1", 1).status == 3
    refused(100008, store.create, PROJECT, "u2", 1)


def test_unknown_project_is_a_bad_parameter(clock: FakeClock) -> None:
    store = make(clock)
    assert "VirtualmanProjectId" in refused(100001, store.create, "nope", "u1", 1).message
    assert "VirtualmanProjectId" in refused(100001, store.sessions, "nope").message


def test_saas_refuses_a_caller_session_id(clock: FakeClock) -> None:
    assert "SessionId" in refused(100001, make(clock).create, PROJECT, "u1", 1, session_id="mine").message


def test_private_mode_honours_a_caller_session_id(clock: FakeClock) -> None:
    store = make(clock, mode="private")
    assert store.create(PROJECT, "u1", 1, session_id="mine").session_id == "mine"
    assert "SessionId" in refused(100001, store.create, PROJECT, "u2", 1, session_id="mine").message
    store.close("mine")
    assert store.create(PROJECT, "u2", 1, session_id="mine").user_id == "u2"


def test_custom_push_hides_the_play_address(clock: FakeClock) -> None:
    store = make(clock)
    sid = store.create(PROJECT, "u1", 1, custom_push=True).session_id
    assert store.stat(sid).play_stream_addr is None
    assert store.sessions(PROJECT)[0].play_stream_addr is None


def test_start_needs_a_ready_session(clock: FakeClock) -> None:
    store = make(clock, prepare_seconds=5)
    sid = store.create(PROJECT, "u1", 1).session_id
    refused(110014, store.start, sid)
    clock.advance(5)
    assert store.start(sid).started
    assert store.start(sid).started  # twice is fine
    refused(110018, store.start, "unknown")
    store.close(sid)
    refused(110013, store.start, sid)


def test_command_rules(clock: FakeClock) -> None:
    store = make(clock, command_interval=1.0)
    sid = store.create(PROJECT, "u1", 1).session_id
    refused(110016, store.command, sid)
    store.start(sid)
    store.command(sid)
    clock.advance(0.5)
    refused(100012, store.command, sid)
    clock.advance(0.5)
    store.command(sid)
    refused(110018, store.command, "unknown")
    store.close(sid)
    refused(110013, store.command, sid)


def test_close_is_idempotent_and_keeps_the_session_known(clock: FakeClock) -> None:
    store = make(clock)
    sid = store.create(PROJECT, "u1", 1).session_id
    assert store.close(sid).status == 2
    assert store.close(sid).status == 2
    assert store.stat(sid).status == 2
    assert store.stat(sid).error_code is None
    assert store.sessions(PROJECT) == []
    refused(110018, store.close, "unknown")
    refused(110018, store.stat, "unknown")


def test_idle_sessions_close_and_free_their_slot(clock: FakeClock) -> None:
    store = make(clock, idle_seconds=600, quota=1)
    sid = store.create(PROJECT, "u1", 1).session_id
    clock.advance(599)
    refused(100008, store.create, PROJECT, "u2", 1)
    clock.advance(1)
    assert store.create(PROJECT, "u2", 1).status == 1
    assert store.stat(sid).status == 2


def test_driving_keeps_a_session_alive_and_stat_does_not(clock: FakeClock) -> None:
    store = make(clock, idle_seconds=100)
    driven = store.create(PROJECT, "u1", 1).session_id
    watched = store.create(PROJECT, "u2", 1).session_id
    store.start(driven)
    for _ in range(3):
        clock.advance(60)
        store.command(driven)
        store.stat(watched)
    assert store.stat(driven).status == 1
    assert store.stat(watched).status == 2
    refused(110013, store.start, watched)


def test_oldest_closed_sessions_are_forgotten(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "CLOSED_KEPT", 2)
    store = make(clock)
    ids = [store.create(PROJECT, f"u{i}", 1).session_id for i in range(3)]
    for sid in ids:
        store.close(sid)
    refused(110018, store.stat, ids[0])
    assert store.stat(ids[2]).status == 2


def test_sessions_lists_live_ones_oldest_first(clock: FakeClock) -> None:
    store = make(clock)
    ids = [store.create(PROJECT, f"u{i}", 3).session_id for i in range(3)]
    store.close(ids[1])
    listed = store.sessions(PROJECT)
    assert [s.session_id for s in listed] == [ids[0], ids[2]]
    assert {s.driver_type for s in listed} == {3}
