"""The channel scenarios' client: one command channel, what it saw, judged by the contract's channel judge.

A :class:`ChannelProbe` opens the client's :class:`~ivhsuite.channel.Channel` for a session,
remembers every ReqId it sent, reads downstream messages until what a scenario waits for
arrives (never raising on a missing status: a status that never comes is a finding, not the
network's), and hands everything to :mod:`ivhsuite.contract.channel`. A broken promise fails
the scenario through the HTTP probe, so the failure carries its curl lines too.

Waits are upper bounds from the docs (StreamMaxInterval, play time) plus a margin; an
emulator with a short ``--channel-time-scale`` answers well before them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ivhsuite.channel import NO_CODE, Channel
from ivhsuite.contract.channel import (
    Refused,
    code_of,
    drive_issues,
    drive_promise,
    is_error,
    message_issues,
    payload_of,
    refusal_issues,
    reqid_issues,
    statuses_of,
)
from ivhsuite.contract.promises import Issue
from ivhsuite.errors import ApiError, TransportError
from ivhsuite.gate.scenarios.scenario_client import Probe

SPEAK_WAIT = 8.0  # seconds a short text or a second of audio may take to be spoken (the speaking time is undocumented)
REFUSAL_WAIT = 5.0  # seconds to watch for a refusal (or a drive that should not happen)
CHANNEL = "commandchannel"  # the report's column for the channel's promises
CLOSE_WAIT = 10.0  # seconds a channel may stay open after its session ended
POLL = 0.05  # seconds each of two channels is read in turn


class ChannelProbe:
    """One scenario's channel to ``session_id``; use it as a context manager (``opened`` None: refused)."""

    def __init__(self, probe: Probe, session_id: str, channel: Channel | None = None) -> None:
        self.probe = probe
        self.session_id = session_id
        self.channel = channel or probe.client.channel(session_id, heartbeat=0)
        self.spec = self.channel.spec
        self.sent: set[str] = set()
        self.refused: Refused | None = None  # how the handshake was refused before the upgrade, if it was
        self._judged = 0  # messages already judged on their own

    def __enter__(self) -> ChannelProbe:
        try:
            self.channel.open()
        except ApiError as exc:  # refused before the upgrade (an HTTP status)
            self.refused = Refused(code=None if exc.code == NO_CODE else exc.code, closed=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.channel.close()

    @property
    def opened(self) -> bool:
        return self.refused is None

    @property
    def closed(self) -> bool:
        return self.channel.close_code is not None

    # --- sending --------------------------------------------------------------------

    def send(self, name: str, data: dict[str, Any]) -> str:
        """A command as given (not paced); its ReqId. A channel the server closed meanwhile is environmental."""
        req_id = self.channel.send_command(name, data)
        self.sent.add(req_id)
        return req_id

    def text(self, text: str) -> str:
        req_id = self.channel.send_text(text, ChatCommand="NotUseChat")
        self.sent.add(req_id)
        return req_id

    def stream_text(self, chunks: list[str]) -> str:
        req_id = self.channel.send_stream_text(chunks)
        self.sent.add(req_id)
        return req_id

    def audio(self, pcm: bytes, *, final: bool = True) -> str:
        req_id = self.channel.send_audio(pcm, final=final)
        self.sent.add(req_id)
        return req_id

    # --- reading --------------------------------------------------------------------

    @property
    def received(self) -> list[dict[str, Any]]:
        return self.channel.received

    def read_until(self, done: Callable[[list[dict[str, Any]]], bool], timeout: float) -> bool:
        """Read until ``done(received)`` holds, the channel closes or ``timeout`` passes; whether it held."""
        deadline = time.monotonic() + timeout
        while not done(self.received):
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return False
            try:
                self.channel.receive(left)
            except TransportError:
                continue  # a timeout or the close: the loop's conditions say which
        return True

    def wait_status(self, req_id: str, speak_status: str, timeout: float) -> bool:
        def done(seen: list[dict[str, Any]]) -> bool:
            return speak_status in statuses_of(seen, req_id) or any(_error_for(m, req_id) for m in seen)

        found = self.read_until(done, timeout)
        if not found and self.closed:
            raise TransportError(
                f"the command channel closed (code {self.channel.close_code}) while waiting for {speak_status}"
            )
        return found

    def refusal(self, req_id: str | None, timeout: float = REFUSAL_WAIT) -> Refused:
        """What came of something that must be refused: an error, a close, a drive all the same, or nothing."""

        def done(seen: list[dict[str, Any]]) -> bool:
            if req_id is None:
                return any(is_error(m) for m in seen)
            return any(_error_for(m, req_id) for m in seen) or bool(statuses_of(seen, req_id))

        self.read_until(done, timeout)
        errors = [m for m in self.received if (_error_for(m, req_id) if req_id else is_error(m))]
        code = (errors[0].get("Header") or {}).get("Code") if errors else None
        drove = tuple(s for s in statuses_of(self.received, req_id) if s != "Error") if req_id else ()
        return Refused(code=code if isinstance(code, int) else None, drove=drove, closed=self.closed)

    def drain(self, timeout: float) -> bool:
        """Read what comes for up to ``timeout`` seconds; whether the server closed the channel."""
        self.read_until(lambda _: False, timeout)
        return self.closed

    # --- verdicts -------------------------------------------------------------------

    def judge(self) -> None:
        """Every message so far on its own (schema, documented codes) and every status's ReqId."""
        issues: list[Issue] = []
        for message in self.received[self._judged :]:
            issues += message_issues(self.spec, message)
        self._judged = len(self.received)
        issues += reqid_issues(self.received, self.sent)
        self.fail_on(issues, ("channel-message-schema", "channel-reqid"))

    def expect_drive(
        self, req_id: str, kind: str, *, final_type: int | None = None, timeout: float = SPEAK_WAIT
    ) -> None:
        last = "TextOver" if kind == "text" else "AudioOver"
        self.wait_status(req_id, last, timeout)
        self.judge()
        found = drive_issues(self.spec, self.received, req_id, kind, final_type=final_type, within=f"{timeout:g} s")
        self.fail_on(found, (drive_promise(self.spec, kind, final_type),))

    def expect_refused(self, promise: str, what: str, req_id: str | None, **kw: Any) -> Refused:
        got = self.refused or self.refusal(req_id)
        self.judge()
        # A refusal that carried a code also checked that the code is a documented one.
        checked = (promise, "channel-refusal-documented") if got.code is not None and not got.drove else (promise,)
        self.fail_on(refusal_issues(promise, what, got, **kw), checked)
        return got

    def expect_refused_handshake(self, what: str, req_id: str | None) -> Refused:
        """A channel the docs say is refused (``channel-after-start``); how, the run's spotter notes."""
        got = self.expect_refused("channel-after-start", what, req_id)
        if self.refused is not None or got.code is not None or got.closed:
            self.probe.run.spotter.channel_refused(before_upgrade=self.refused is not None, code=got.code)
        return got

    def fail_on(self, issues: list[Issue], checked: tuple[str, ...] = ("channel-closed-with-session",)) -> None:
        """Raise the first broken promise; count the ones ``checked`` that held (the report's matrix).

        The default is the scenarios' own call, on whether the channel closed with its session.
        """
        broken = {issue.promise for issue in issues}
        for promise in checked:
            if promise not in broken:
                self.probe.run.coverage.note(promise, CHANNEL, held=True)
        if issues:
            self.probe.run.coverage.note(issues[0].promise, CHANNEL, held=False)
            raise AssertionError(self.probe.explain(issues[0].promise, issues[0].detail))


def _error_for(message: Any, req_id: str) -> bool:
    return is_error(message) and payload_of(message).get("ReqId") in (None, req_id)


def serving(first: ChannelProbe, second: ChannelProbe, timeout: float = REFUSAL_WAIT) -> ChannelProbe:
    """The channel left serving a session once ``second`` opened beside ``first``; the run's spotter notes which.

    Undocumented (the emulator's ``second-channel``): the first closed (replaced) or the second
    refused. Neither within ``timeout``: no choice noted, the first serves.
    """
    spotter = first.probe.run.spotter
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        errors = [m for m in second.received if is_error(m)]
        if second.refused is not None or errors or second.closed:
            code = second.refused.code if second.refused is not None else code_of(errors[0]) if errors else None
            spotter.second_channel(replaced=False, code=code)
            second.judge()
            return first
        if first.closed:
            spotter.second_channel(replaced=True)
            return second
        first.drain(POLL)
        second.drain(POLL)
    return first
