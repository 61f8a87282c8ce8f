"""A local emulator of the IVH session manager, faithful to the spec unless a fault is asked for.

Where the docs are silent it can play any plausible answer (``Choices``) and a flaky
network (``Toxic``), so a client can be tested against the endpoint that chose differently.

>>> from ivhsuite.emulator import EmulatorSettings, serve_in_thread
>>> with serve_in_thread(EmulatorSettings(quota=2)) as running:  # doctest: +SKIP
...     print(running.base_url)
"""

from __future__ import annotations

from ivhsuite.emulator.app import create_app
from ivhsuite.emulator.choices import Choices
from ivhsuite.emulator.faults import FAULTS
from ivhsuite.emulator.server import RunningEmulator, serve_in_thread
from ivhsuite.emulator.settings import EmulatorSettings
from ivhsuite.emulator.store import SessionInfo, Store, StoreError
from ivhsuite.emulator.toxics import Toxic

__all__ = [
    "Choices",
    "EmulatorSettings",
    "FAULTS",
    "RunningEmulator",
    "SessionInfo",
    "Store",
    "StoreError",
    "Toxic",
    "create_app",
    "serve_in_thread",
]
