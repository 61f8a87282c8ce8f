"""A local emulator of the IVH session manager, faithful to the spec unless a fault is asked for.

>>> from ivhsuite.emulator import EmulatorSettings, serve_in_thread
>>> with serve_in_thread(EmulatorSettings(quota=2)) as running:  # doctest: +SKIP
...     print(running.base_url)
"""

from __future__ import annotations

from ivhsuite.emulator.app import create_app
from ivhsuite.emulator.faults import FAULTS
from ivhsuite.emulator.server import RunningEmulator, serve_in_thread
from ivhsuite.emulator.settings import EmulatorSettings
from ivhsuite.emulator.store import SessionInfo, Store, StoreError

__all__ = [
    "EmulatorSettings",
    "FAULTS",
    "RunningEmulator",
    "SessionInfo",
    "Store",
    "StoreError",
    "create_app",
    "serve_in_thread",
]
