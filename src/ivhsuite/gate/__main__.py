"""``python -m ivhsuite.gate``: the same command as ``ivhsuite gate``, through the one front end."""

from __future__ import annotations

import sys

from ivhsuite.cli import main

if __name__ == "__main__":
    sys.exit(main(["gate", *sys.argv[1:]]))
