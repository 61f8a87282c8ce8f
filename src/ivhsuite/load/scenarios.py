"""One iteration of each scenario, as functions of an :class:`IvhUser`; the locustfile names the users.

- create: create, poll until ready, hold, close;
- lifecycle: create, ready, start, a few texts at least ``text_interval`` apart, close;
- preemption: create on a UserId shared with other users, check that the session it
  superseded is closed within the grace period, and (one process only) that no UserId
  of the run has two live sessions in ``listsessionofprojectid``; with ``--hold-channels``
  each ready session is started and holds its command channel, which the endpoint must
  close once the session is preempted ("preemption check: channel");
- conversation: create (by project, or by asset), ready, start, open the command channel,
  talk for ``--hold-seconds`` with ``--driver`` (:mod:`ivhsuite.load.conversation`), close.
"""

from __future__ import annotations

import functools
import random
import time
import uuid

import gevent

from ivhsuite.channel_spec import load_channel_spec
from ivhsuite.ids import new_hex_id
from ivhsuite.load import conversation
from ivhsuite.load.conversation import ChannelClosed, Conversation, Refused, WsChannel
from ivhsuite.load.preemption import PreemptionTracker, duplicates, is_gone, persisting
from ivhsuite.load.thresholds import CHANNEL_CONNECT, PREEMPTION_CHECK, PREEMPTION_VIOLATION
from ivhsuite.load.user import IvhUser, Outcome, PreemptionViolation, fire_entry
from ivhsuite.protocol import GONE_CODES

SUPERSEDED_CHECK = f"{PREEMPTION_CHECK}: superseded"
LIST_CHECK = f"{PREEMPTION_CHECK}: list"
CHANNEL_CHECK = f"{PREEMPTION_CHECK}: channel"
TEXT_DRIVEN, AUDIO_DRIVEN = 1, 3  # DriverType: texts only; audio (SEND_AUDIO) too


def unique_user_id(user: IvhUser, kind: str) -> str:
    return f"{user.options.userid_prefix}{kind}{uuid.uuid4().hex[:12]}"


def pool_user_ids(user: IvhUser) -> list[str]:
    return [f"{user.options.userid_prefix}p{i}" for i in range(max(1, user.options.userid_pool))]


def create_hold_close(user: IvhUser, user_id: str) -> None:
    created, sent = user.create(user_id)
    session_id = _session_of(user, created)
    if session_id is None:
        return
    if user.wait_ready(session_id, created, sent) == "ready":
        user.hold(user.options.hold_seconds)
    if session_id in user.sessions:
        user.close(session_id)


def lifecycle(user: IvhUser, user_id: str) -> None:
    created, sent = user.create(user_id)
    session_id = _session_of(user, created)
    if session_id is None:
        return
    if (
        user.wait_ready(session_id, created, sent) == "ready"
        and user.call("startsession", {"SessionId": session_id}).ok
    ):
        last: float | None = None
        for number in range(1, user.options.texts + 1):
            if last is not None:
                gevent.sleep(max(0.0, last + user.options.text_interval - time.perf_counter()))
            last = time.perf_counter()
            text = {"Text": f"ivhsuite load text {number}", "Interrupt": False}
            user.call("command", {"SessionId": session_id, "Command": "SEND_TEXT", "Data": text})
    if session_id in user.sessions:
        user.close(session_id)


def preempt(user: IvhUser, tracker: PreemptionTracker, user_id: str) -> None:
    with tracker.creating(user_id):
        created, sent = user.create(user_id)
        session_id = _session_of(user, created)
        previous = tracker.supersede(user_id, session_id) if session_id else None
        if previous is not None and previous != session_id:
            tracker.mark_preempted(previous)
    if session_id is None:
        return
    try:
        if previous is not None and previous != session_id:
            check_superseded(user, tracker, user_id, previous, session_id)
        if user.wait_ready(session_id, created, sent, preemptible=True) == "ready":
            if user.options.hold_channels:
                _hold_channel(user, tracker, user_id, session_id)
            else:
                _hold_with_checks(user, tracker, user.options.hold_seconds)
        else:
            list_check(user, tracker)
        if session_id in user.sessions:
            user.close(session_id)
    finally:
        tracker.closed(user_id, session_id)


def check_superseded(user: IvhUser, tracker: PreemptionTracker, user_id: str, previous: str, new: str) -> None:
    """statsession on the superseded session until it is gone, or the grace period ends (a breach)."""
    grace = user.options.preemption_grace
    step = min(0.5, max(0.05, grace / 10))
    start = time.perf_counter()
    while True:
        outcome = user.call("statsession", {"SessionId": previous}, GONE_CODES)
        elapsed = time.perf_counter() - start
        if is_gone(outcome.code, outcome.payload):
            fire_entry(user.environment, SUPERSEDED_CHECK, elapsed * 1000)
            return
        if elapsed >= grace:
            fire_entry(user.environment, SUPERSEDED_CHECK, elapsed * 1000)
            if outcome.ok:  # a live status, seen after the grace period: proven
                tracker.flag([previous])
                status = outcome.payload.get("SessionStatus") if outcome.payload else None
                message = (
                    f"session {previous} of UserId {user_id} still live (SessionStatus {status}) "
                    f"{elapsed:.1f} s after session {new} was created for the same UserId"
                )
                fire_entry(user.environment, PREEMPTION_VIOLATION, elapsed * 1000, PreemptionViolation(message))
            return
        gevent.sleep(step)


def list_check(user: IvhUser, tracker: PreemptionTracker) -> None:
    """listsessionofprojectid: a UserId of this run with two live sessions after the grace period."""
    if getattr(user.environment.runner, "worker_index", 0) != 0:
        return  # one process lists for the whole run, so a breach is counted once
    if not tracker.list_check_due(user.options.list_interval):
        return
    start = time.perf_counter()
    prefix = user.options.userid_prefix
    first = user.list_sessions()
    if first is None:
        return
    found = duplicates(first, prefix)
    if found:
        gevent.sleep(user.options.preemption_grace)
        second = user.list_sessions()
        found = persisting(found, duplicates(second, prefix)) if second is not None else {}
    elapsed_ms = (time.perf_counter() - start) * 1000
    fire_entry(user.environment, LIST_CHECK, elapsed_ms)
    for user_id, ids in sorted(tracker.new_breaches(found).items()):
        message = (
            f"UserId {user_id} has {len(ids)} live sessions: {', '.join(sorted(ids))} "
            f"(listsessionofprojectid, still after {user.options.preemption_grace:g} s)"
        )
        fire_entry(user.environment, PREEMPTION_VIOLATION, elapsed_ms, PreemptionViolation(message))


def _hold_with_checks(user: IvhUser, tracker: PreemptionTracker, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while (left := end - time.perf_counter()) > 0:
        gevent.sleep(min(left, max(0.2, user.options.list_interval)))
        list_check(user, tracker)


def _hold_channel(user: IvhUser, tracker: PreemptionTracker, user_id: str, session_id: str) -> None:
    """Start the session and hold its channel; once preempted, the endpoint must close it within the grace period."""
    if not user.call("startsession", {"SessionId": session_id}, GONE_CODES).ok:
        return  # preempted before it started: no channel to hold
    record = functools.partial(_record, user)
    channel = WsChannel(user.channel_url(session_id), session_id)
    began = time.perf_counter()
    try:
        channel.open()
    except Refused as refused:
        if refused.code not in GONE_CODES:  # preempted before the handshake is no failure
            record(CHANNEL_CONNECT, _ms_since(began), conversation.ChannelFailure(f"handshake refused: {refused}"))
        return
    except OSError as exc:
        record(CHANNEL_CONNECT, _ms_since(began), conversation.ChannelFailure(f"cannot connect: {exc}"))
        return
    record(CHANNEL_CONNECT, _ms_since(began), None)
    try:
        _watch_channel(user, tracker, user_id, session_id, channel)
    finally:
        channel.close()


def _watch_channel(user: IvhUser, tracker: PreemptionTracker, user_id: str, session_id: str, channel: WsChannel) -> None:
    opts = user.options
    end = time.perf_counter() + opts.hold_seconds
    next_list = time.perf_counter()
    beat = load_channel_spec().rules.heartbeat_seconds[0]
    last_beat = next_list
    try:
        while True:
            now = time.perf_counter()
            if now - last_beat >= beat:
                channel.send("SEND_HEARTBEAT", new_hex_id(), {"Text": "PING"})
                last_beat = now
            preempted = tracker.preempted_at(session_id)
            if preempted is not None:  # hold past the end until the grace period has run out
                end = max(end, preempted + opts.preemption_grace)
            if now >= end:
                break
            if now >= next_list:
                list_check(user, tracker)
                next_list = time.perf_counter() + max(0.2, opts.list_interval)
            channel.read(min(end, next_list, last_beat + beat) - time.perf_counter())
    except ChannelClosed:  # not preempted by this process: maybe by another worker's create, so no drop
        preempted = tracker.preempted_at(session_id)
        if preempted is not None:
            fire_entry(user.environment, CHANNEL_CHECK, _ms_since(preempted))
        return
    preempted = tracker.preempted_at(session_id)
    if preempted is None:
        return
    elapsed = time.perf_counter() - preempted
    fire_entry(user.environment, CHANNEL_CHECK, elapsed * 1000)
    outcome = user.call("statsession", {"SessionId": session_id}, GONE_CODES)
    if is_gone(outcome.code, outcome.payload):  # the session ended, its channel did not
        message = (
            f"the command channel of session {session_id} (UserId {user_id}) was still open {elapsed:.1f} s "
            f"after a new session for the same UserId was created, its session gone"
        )
        fire_entry(user.environment, PREEMPTION_VIOLATION, elapsed * 1000, PreemptionViolation(message))


def converse(user: IvhUser, user_id: str) -> None:
    """ConversationUser's iteration: create, ready, start, talk over the channel, close."""
    opts = user.options
    driver_type = AUDIO_DRIVEN if opts.driver == "audio" else TEXT_DRIVEN
    created, sent = user.create(user_id, driver_type, opts.asset_key)
    session_id = _session_of(user, created)
    if session_id is None:
        return
    if user.wait_ready(session_id, created, sent) == "ready" and user.call("startsession", {"SessionId": session_id}).ok:
        talk(user, session_id)
    if session_id in user.sessions:
        user.close(session_id)


def talk(user: IvhUser, session_id: str) -> None:
    """Open the channel, drive it for ``--hold-seconds``, close it; a close by the endpoint is a drop."""
    opts = user.options
    record = functools.partial(_record, user)
    channel = WsChannel(user.channel_url(session_id), session_id)
    if not conversation.connect(channel, record):
        return
    speaker = Conversation(channel, load_channel_spec().rules, record, opts.text_interval, opts.speak_timeout)
    end = time.perf_counter() + opts.hold_seconds
    try:
        while time.perf_counter() < end:
            speaker.drive(opts.driver)
    except ChannelClosed as closed:
        conversation.dropped(record, closed)
    finally:
        channel.close()


def _record(user: IvhUser, name: str, ms: float, failure: Exception | None) -> None:
    fire_entry(user.environment, name, ms, failure)


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _session_of(user: IvhUser, created: Outcome) -> str | None:
    """The new SessionId, or None after backing off (busy: 1-2 s; failed: one poll interval)."""
    session_id = (created.payload or {}).get("SessionId") if created.ok else None
    if session_id:
        return str(session_id)
    gevent.sleep(1.0 + random.random() if created.environmental is not None else user.options.poll_interval)
    return None
