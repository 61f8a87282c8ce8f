"""Ctrl-C and SIGTERM are noted for every schemathesis run of the gate, and still raise as before."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ivhsuite.config import Target
from ivhsuite.emulator import RunningEmulator
from ivhsuite.gate.context import RunContext
from ivhsuite.gate.options import GateOptions
from ivhsuite.gate.spec_cases import stopper

from .conftest import PROJECT


@pytest.fixture
def sigint(request: pytest.FixtureRequest) -> Iterator[None]:
    """SIGINT handled as ``request.param`` says (Python's own handler by default), whatever the test runner started with:
    under ``nohup … &`` or some CI runners pytest starts with SIGINT ignored."""
    handler = getattr(request, "param", signal.default_int_handler)
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("sigint")
def test_an_interrupt_is_noted_and_still_raises() -> None:
    before = signal.getsignal(signal.SIGINT)
    with stopper.interruptible():
        assert not stopper.interrupted()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        assert stopper.interrupted() and stopper.stop_requested()
        with pytest.raises(KeyboardInterrupt):
            stopper.before_call(None, None)  # no worker sends another request
    assert signal.getsignal(signal.SIGINT) is before
    assert not stopper.interrupted()
    stopper.before_call(None, None)


def test_sigterm_goes_to_the_handler_already_installed() -> None:
    seen: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        with stopper.interruptible():
            signal.raise_signal(signal.SIGTERM)
            assert stopper.interrupted()
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_thread_asked_to_stop_is_stopped_at_its_next_event() -> None:
    handler = stopper.StopWhenAsked()
    raised: list[bool] = []
    go = threading.Event()

    def part() -> None:
        go.wait(5)
        try:
            handler.handle_event(None, None)
            raised.append(False)
        except KeyboardInterrupt:
            raised.append(True)

    thread = threading.Thread(target=part)
    thread.start()
    stopper.request_stop(thread)
    handler.handle_event(None, None)  # another thread goes on
    go.set()
    thread.join(5)
    stopper.forget(thread)
    assert raised == [True]


@pytest.mark.parametrize("sigint", [signal.default_int_handler, signal.SIG_IGN], indirect=True, ids=["python", "ignored"])
@pytest.mark.usefixtures("sigint")
def test_off_the_main_thread_nothing_is_installed() -> None:
    done: list[bool] = []
    before = signal.getsignal(signal.SIGINT)

    def elsewhere() -> None:
        with stopper.interruptible():
            done.append(signal.getsignal(signal.SIGINT) is before)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join(5)
    assert done == [True]


@pytest.mark.parametrize("sigint", [signal.SIG_IGN], indirect=True, ids=["ignored"])
@pytest.mark.usefixtures("sigint")
def test_an_ignored_sigint_stays_ignored() -> None:
    """Started with SIGINT ignored (``nohup … &``), the caller asked for no Ctrl-C: none is wrapped, none raises."""
    with stopper.interruptible():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        signal.raise_signal(signal.SIGINT)
        assert not stopper.interrupted()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


@pytest.mark.slow
def test_an_interrupt_schemathesis_swallowed_still_stops_the_half(
    emulator: Callable[..., RunningEmulator], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schemathesis 4.32 drops a KeyboardInterrupt that lands while a phase starts or joins its workers
    and goes on with the next phase; played here by a run that swallows the first one."""
    from ivhsuite.gate.spec_cases import in_process as generated

    running = emulator(quota=5)
    options = GateOptions(Target(base_url=running.base_url, project_id=PROJECT), max_examples=5, seed=1)
    real = generated._schemathesis

    def swallowing(args: list[str]) -> int:
        with contextlib.suppress(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        return real(args)

    monkeypatch.setattr(generated, "_schemathesis", swallowing)
    # A terminal's Ctrl-C: a CI job started in the background (``cmd &``) inherits SIGINT ignored,
    # which the gate rightly keeps ignored; this test plays an interactive run.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    run = RunContext(options)
    try:
        code = generated.run_generated(run, tmp_path)
    finally:
        run.finish()
        run.shutdown()
        signal.signal(signal.SIGINT, previous)
    assert code == 130
    assert run.counters.generated < 50  # uninterrupted, this budget sends several hundred
