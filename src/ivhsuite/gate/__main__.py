"""``python -m ivhsuite.gate``: the gate without the ``ivhsuite`` front end."""

from __future__ import annotations

import sys

from ivhsuite.gate.cli import main

if __name__ == "__main__":
    sys.exit(main())
