"""Signals as every command takes them: SIGINT raises KeyboardInterrupt, SIGTERM Terminated; both remembered."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import pytest

from ivhsuite import interrupts
from ivhsuite.protocol import ExitCode


def _signal_self(signum: int) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(0.5)  # the handler runs at the next bytecode boundary


@pytest.mark.parametrize(
    ("signum", "raised", "code"),
    [(signal.SIGINT, KeyboardInterrupt, ExitCode.INTERRUPTED), (signal.SIGTERM, interrupts.Terminated, ExitCode.TERMINATED)],
    ids=["sigint", "sigterm"],
)
def test_a_trapped_signal_raises_and_is_remembered(signum: int, raised: type[BaseException], code: int) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(raised) as caught, interrupts.trapped():
        _signal_self(signum)
    assert interrupts.received() == signum
    assert interrupts.interrupted_by(caught.value) == signum
    assert interrupts.exit_code(0) == code
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_shielded_clean_up_is_not_cut_short() -> None:
    finished = False
    with interrupts.trapped():
        with interrupts.shielded():
            _signal_self(signal.SIGTERM)
            finished = True
        assert interrupts.received() == signal.SIGTERM
    assert finished


def test_a_swallowed_interrupt_is_still_known() -> None:
    """schemathesis takes Ctrl-C itself and returns: the run asks received()."""
    with interrupts.trapped():
        with contextlib.suppress(KeyboardInterrupt):
            _signal_self(signal.SIGINT)
        assert interrupts.received() == signal.SIGINT
