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


@pytest.mark.parametrize(
    ("raised", "signum", "code"),
    [(KeyboardInterrupt, signal.SIGINT, 130), (interrupts.Terminated, signal.SIGTERM, 143)],
    ids=["sigint", "sigterm"],
)
def test_a_child_gets_the_one_signal_and_is_waited_for(raised: type[BaseException], signum: int, code: int) -> None:
    """The relay load and verify share: the child ends by the signal it was passed, and its code says which."""
    import subprocess
    import sys

    script = (
        "import signal, sys, time\nfor s in (2, 15): signal.signal(s, lambda n, f: sys.exit(100 + n))\n"
        "print('ready', flush=True)\ntime.sleep(30)"
    )
    child = subprocess.Popen([sys.executable, "-c", script], start_new_session=True, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "ready\n"  # its handlers are in place

    def interrupted() -> int:
        raise raised

    assert interrupts.relay_to_child(child, interrupted) == (code, signum)
    assert child.returncode == 100 + signum, "the child got exactly this signal and finished"
    assert interrupts.relay_to_child(child) == (100 + signum, None)
