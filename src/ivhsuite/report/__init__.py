"""One writer per format for what ``ivhsuite verify`` found: ``page`` (index.html, with ``charts``) and ``markdown``."""
