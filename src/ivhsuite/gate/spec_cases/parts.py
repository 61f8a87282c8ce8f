"""How the generated half is split into schemathesis runs that go at the same time.

Schemathesis runs its phases one after another, and its stateful phase on one thread
whatever ``--workers`` says. Against a distant endpoint nearly all of that time is
waiting for answers: at 200 ms a round trip the stateful phase alone, a chain of round
trips, took as long as all the other phases together. So the half runs as parts, each a
schemathesis run of its own (:func:`ivhsuite.gate.spec_cases.in_process.run_generated` starts them
together): examples and coverage; fuzzing; the stateful phase in up to three runs, each
with its share of the example budget and its own seed (the same seed would replay the
same scenarios). The requests, checks and budget stay those of one run; what the parts
no longer share is schemathesis's memory of earlier phases' answers, which only seeds
generation.

Each stateful run needs a session of its own through its chain of steps (create, stat,
start, command, close) while the other parts keep creating: so there are only as many
stateful runs as the session limit leaves room for beside one slot for the rest. With
room for one session only (no ``--quota``, or a quota of 2) the half stays one run with
every phase in order, as does ``--workers 1`` (one request at a time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ivhsuite.gate.options import GateOptions

STATEFUL = "stateful"
UNIT_GROUPS = (("examples", "coverage"), ("fuzzing",))  # phases that share a part, in the order they run
STATEFUL_PARTS = 3


@dataclass(frozen=True)
class Part:
    """One schemathesis run; its reports go to ``folder`` under the half's own ("" for the first part)."""

    phases: tuple[str, ...]
    max_examples: int
    seed: int | None
    folder: str = ""


def whole(options: GateOptions) -> Part:
    """Every phase in one run, as ``schemathesis run`` alone would do it."""
    return Part(options.phases, options.max_examples, options.seed)


def plan(options: GateOptions) -> list[Part]:
    """The parts of the half; the first runs on the calling thread and reports into the half's own folder.

    >>> for part in plan(GateOptions(quota=5, max_examples=80, seed=1)):
    ...     print(part)
    Part(phases=('examples', 'coverage'), max_examples=80, seed=1, folder='')
    Part(phases=('fuzzing',), max_examples=80, seed=1, folder='fuzzing')
    Part(phases=('stateful',), max_examples=27, seed=1, folder='stateful-1')
    Part(phases=('stateful',), max_examples=27, seed=2, folder='stateful-2')
    Part(phases=('stateful',), max_examples=27, seed=3, folder='stateful-3')
    >>> plan(GateOptions(quota=None)) == [whole(GateOptions(quota=None))]
    True
    """
    stateful_runs = min(STATEFUL_PARTS, options.session_limit - 1, options.max_examples)
    if options.workers == 1 or stateful_runs < 1:
        return [whole(options)]
    parts = [
        Part(group, options.max_examples, options.seed, "-".join(group))
        for group in (tuple(phase for phase in g if phase in options.phases) for g in UNIT_GROUPS)
        if group
    ]
    if STATEFUL in options.phases:
        share = math.ceil(options.max_examples / stateful_runs)
        for n in range(stateful_runs):
            seed = None if options.seed is None else options.seed + n
            parts.append(Part((STATEFUL,), share, seed, f"{STATEFUL}-{n + 1}"))
    if not parts:
        return [whole(options)]
    first = parts[0]
    return [Part(first.phases, first.max_examples, first.seed), *parts[1:]]
