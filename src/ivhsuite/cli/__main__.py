"""``python -m ivhsuite.cli``: the ``ivhsuite`` console script, for child processes and checkouts."""

from __future__ import annotations

import sys

from ivhsuite.cli import main

if __name__ == "__main__":
    sys.exit(main())
