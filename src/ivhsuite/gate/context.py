"""The state one gate run shares between schemathesis hooks, checks and the scenarios.

Schemathesis loads hooks by module, so the run's settings cannot be passed as
arguments: :func:`activate` installs a :class:`RunContext` and :func:`current` hands it
out (building one from ``IVH_*`` variables when ``schemathesis run`` is used directly
with the repository's ``schemathesis.toml``).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ivhsuite.client import IvhClient
from ivhsuite.config import Target, setting
from ivhsuite.contract.coverage import Coverage
from ivhsuite.environmental import Tally
from ivhsuite.errors import ApiError, ConfigError, IvhsuiteError
from ivhsuite.gate.answers import AnswerLog
from ivhsuite.gate.budget import SessionBudget, scenario_need
from ivhsuite.gate.cold_start import ColdStarts, sender
from ivhsuite.gate.endpoint_choices import Spotter
from ivhsuite.gate.findings import Finding
from ivhsuite.gate.options import GateOptions
from ivhsuite.gate.quota_guard import SessionGuard
from ivhsuite.gate.shaping import Shaper
from ivhsuite.protocol import Code
from ivhsuite.retry import DEFAULT_POLICY, RetryPolicy
from ivhsuite.run_sessions import RunSessions, close_ignoring_gone, is_live, live_of_run, new_run_id, run_tag, sweep
from ivhsuite.spec import Spec, load_spec

log = logging.getLogger("ivhsuite")
CLOSE_TRIES = 5
CLOSE_BACKOFF = 1.1  # seconds, times the attempt: "too frequent" limits requests per second


@dataclass
class Counters:
    """What the run did, for the summary and the benchmark."""

    generated: int = 0  # requests schemathesis sent
    scenario: int = 0  # requests the scenarios sent
    created: int = 0
    quota_busy: int = 0
    too_frequent: int = 0
    cold_failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)


class RunContext:
    """One run: its options and target, the spec, the session guard, the UserId tag and the network tally."""

    deadline: float  # time.monotonic() past which the run stops starting new work (--max-time)

    def __init__(
        self,
        options: GateOptions,
        spec: Spec | None = None,
        tag: str | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        if not options.target.base_url:
            raise ConfigError("no endpoint: pass --base-url or set IVH_BASE_URL")
        self.options = options
        self.target: Target = options.target
        self.spec = spec or load_spec()
        self.tag = tag or new_run_id()  # the run id
        self.prefix = run_tag(self.tag)  # every UserId of the run starts with it (ivhsuite.run_sessions)
        self.policy = policy
        self.tally = Tally()  # every request of the run (generated, scenarios, clean-up) and its faults
        self.swept = 0  # live sessions of the run only the final sweep found (a create answer lost)
        self.environmental_errors = 0  # schemathesis errors that were the network's
        self.generated_errors: list[str] = []  # schemathesis errors that were not: the run could not judge
        self.counters = Counters()
        self.coverage = Coverage()  # how often each promise was checked and failed, per operation
        self.answers = AnswerLog()  # what each operation was sent and answered
        self.sessions = RunSessions()  # every session of this run, open and closed
        self.findings: list[Finding] = []
        self.observations: dict[str, str] = {}  # what the gate noticed but cannot call a violation, by key
        self.deadline = time.monotonic() + options.max_time
        self.quota_exhausted = False  # a scenario already found every slot held: later ones do not wait as long
        self.beside = False  # the scenarios run beside the generated half: their creates take slots of the guard's
        self.stopping = threading.Event()  # Ctrl-C, SIGTERM or --max-time: the scenarios send nothing but closes
        self.closed_at: dict[str, float] = {}  # SessionId -> when a closesession of ours answered Code 0
        self._scenario_sessions: set[str] = set()  # created by the scenarios: the generated half leaves them alone
        need = scenario_need(options.quota, scenarios=options.run_scenarios, learning=self.learns_choices)
        self.budget = SessionBudget(options.max_sessions, need)  # --max-sessions: the scenarios' share first
        self.spotter = Spotter()  # the endpoint's choices where the docs are silent, from every answer
        self.cold = ColdStarts()  # every create that answers status 3 may check "no start while preparing"
        self._known_lock = threading.Lock()
        # The run's own client: closes, lists, preflight and every scenario's requests share its kept-alive connections.
        self.closer = IvhClient(self.target, spec=self.spec, policy=policy, tally=self.tally)
        self.guard = SessionGuard(self._close, options.session_limit)
        self.shaper = Shaper(
            self.spec,
            self.target.project_id,
            self.prefix,
            mode=self.target.mode,
            user_id_max_length=options.user_id_max_length,
            is_known_session=self.is_generated_session,
            is_scenario_session=self.is_scenario_session,
            asset_key=self.target.asset_key,
        )

    @property
    def secrets(self) -> tuple[str | None, ...]:
        """Literal values never to print: the access token."""
        return (self.target.access_token,)

    def created(
        self, session_id: str, user_id: str = "", *, guarded: bool = False, pinned: bool = False, unbooked: bool = False
    ) -> None:
        """A createsession of this run answered with ``session_id``: count it, and keep it for the clean-up.

        ``guarded``: the create went through :meth:`SessionGuard.before_create`, which expects its answer;
        ``pinned``: a scenario's, beside the generated half (never closed for room while it uses it);
        ``unbooked``: a generated create that took no slot, as no plausible endpoint accepts it: closed at once.
        """
        scenario = pinned or not (guarded or unbooked)
        if scenario:
            with self._known_lock:
                self._scenario_sessions.add(session_id)
        self.sessions.track(session_id, user_id)
        self.counters.add("created")
        self.budget.count(session_id, scenario=scenario)
        if unbooked:
            self.guard.arrived_unbooked(session_id)
        elif guarded:
            self.guard.created(session_id, pinned=pinned)
        else:
            self.guard.track(session_id)

    def seize_cold(self, session_id: str, protocol: object) -> None:
        """A generated create answered status 3: check startsession on it at once, if its Protocol still needs it."""
        if isinstance(protocol, str) and self.cold.wanted(protocol):
            send = sender(self.closer, self.secrets, lambda: self.counters.add("generated"))
            self.cold.seize(session_id, protocol, send, "generated")

    def observe(self, key: str, detail: str) -> None:
        """Note something the docs do not decide (a choice, a scenario that could not run); the first detail stays."""
        with self._known_lock:
            self.observations.setdefault(key, detail)

    @property
    def learns_choices(self) -> bool:
        """The run records or compares the endpoint's choices: it may spend a session or two to learn one."""
        return self.options.record_choices is not None or self.options.expect_choices is not None

    @property
    def out_of_time(self) -> bool:
        return time.monotonic() >= self.deadline

    def is_known(self, session_id: str) -> bool:
        return self.sessions.created(session_id)

    def is_scenario_session(self, session_id: str) -> bool:
        """Created by a scenario: schemathesis may read its id in a list, but the generated half never sends it."""
        with self._known_lock:
            return session_id in self._scenario_sessions

    def is_generated_session(self, session_id: str) -> bool:
        return self.is_known(session_id) and not self.is_scenario_session(session_id)

    def closed(self, session_id: str) -> None:
        """A closesession of this run answered Code 0."""
        self.sessions.forget(session_id)
        self.guard.forget(session_id)
        self.budget.closed(session_id)
        self.spotter.closed_one()
        with self._known_lock:
            self.closed_at.setdefault(session_id, time.monotonic())

    def failed(self, session_id: str) -> None:
        """A session of this run failed its cold start on its own (status 4): it holds no slot and needs no close.

        Left booked, a scenario that met a few such sessions beside the generated half held every
        slot of the guard with sessions that were not there, and its next create waited for ever.
        """
        self.sessions.forget(session_id)
        self.guard.forget(session_id)

    def closed_ids(self) -> set[str]:
        """Every session a closesession of this run closed (Code 0), so far."""
        with self._known_lock:
            return set(self.closed_at)

    def zombies(self, grace: float) -> list[str]:
        """Sessions this run closed (Code 0) over ``grace`` seconds ago that the project still lists live."""
        now = time.monotonic()
        with self._known_lock:
            closed = {sid for sid, at in self.closed_at.items() if now - at >= grace}
        if not closed:
            return []
        try:
            sessions = self.closer.list_all_sessions()
        except Exception:  # noqa: BLE001 - no list, no verdict
            return []
        return [str(s.get("SessionId")) for s in sessions if s.get("SessionId") in closed and is_live(s)]

    def _close(self, session_id: str) -> None:
        if close_ignoring_gone(self._close_backing_off, session_id):
            self.closed(session_id)
        self.closer.forget(session_id)

    def _close_backing_off(self, session_id: str) -> None:
        """closesession, tried again while the endpoint answers "too frequent" (it did not act).

        A close given up leaves a paid stream live and holding a slot the guard no longer counts.
        """
        for attempt in range(1, CLOSE_TRIES + 1):
            try:
                self.closer.close_session(session_id)
                return
            except ApiError as exc:
                if exc.code != Code.TOO_FREQUENT or attempt == CLOSE_TRIES:
                    raise
                self.counters.add("too_frequent")
                time.sleep(CLOSE_BACKOFF * attempt)

    def reconcile(self, user_id: str | None = None, keep: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """Close live sessions of this run that no answer accounted for: listed under the run's prefix
        (and ``user_id`` when given), not in ``keep``, and not open in the quota guard's books.

        After a create whose answer was lost or lacked its SessionId, the list is the only way to
        find the session, and every real session is a paid stream holding a slot.
        """
        try:
            listed = self.closer.list_all_sessions()
        except IvhsuiteError:
            return []
        with self._known_lock:  # closed by us with Code 0 and still listed: the zombie check's, not ours to close again
            closed = set(self.closed_at)
        held = set(self.guard.open_sessions()) | set(keep) | closed
        stray = [
            str(s["SessionId"])
            for s in live_of_run(listed, self.prefix)
            if s.get("SessionId")
            and str(s["SessionId"]) not in held
            and (user_id is None or s.get("UserId") == user_id)
        ]
        for session_id in stray:
            self._close(session_id)
        return stray

    def finish(self) -> list[str]:
        """Close everything this run opened, then sweep the project for the run's prefix; safe to call twice.

        The sweep catches what the guard never saw: a create whose answer was lost to Ctrl-C.
        """
        closed = self.guard.close_all()
        swept = sweep(self.closer, self.prefix)
        if swept.error:
            log.warning("could not list the project's sessions to sweep them: %s", swept.error)
        found = [sid for sid in swept.closed if sid not in closed]
        self.swept += len(found)
        return closed + found

    def shutdown(self) -> None:
        self.closer.http.close()


_active: RunContext | None = None
_active_lock = threading.Lock()


def activate(ctx: RunContext | None) -> None:
    global _active
    with _active_lock:
        _active = ctx


def current() -> RunContext | None:
    """The active run; outside the gate, one built from ``IVH_*`` when IVH_BASE_URL is set, else None.

    A run built here (``schemathesis run`` with this repository's ``schemathesis.toml``)
    closes its sessions when the process exits.
    """
    global _active
    with _active_lock:
        if _active is None and setting("base_url"):
            _active = RunContext(GateOptions.from_env())
            atexit.register(_active.finish)
        return _active


@contextmanager
def target_run(options: GateOptions) -> Iterator[RunContext]:
    """A run against ``options.target``, or against an embedded emulator started for it (quota set by the gate)."""
    from ivhsuite.embedded import HOSTING, endpoint

    embedded = not options.target.base_url
    quota = (options.quota or HOSTING["gate"].quota) if embedded else options.quota
    scale = HOSTING["gate"].channel_time_scale
    with endpoint(options.target, quota=quota, channel_time_scale=scale) as target:
        yield RunContext(options.for_embedded_emulator(target) if embedded else options.with_target(target))


@contextmanager
def active(ctx: RunContext) -> Iterator[RunContext]:
    previous = _active
    activate(ctx)
    try:
        yield ctx
    finally:
        activate(previous)
