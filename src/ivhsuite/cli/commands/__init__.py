"""One module per ``ivhsuite`` subcommand, each holding only its parser and its handler.

``sign``, ``emulate``, ``gate``, ``load``, ``verify``, ``proxy``, ``init``, ``sweep``: each has an
``add_<name>_parser(subparsers)`` that :func:`ivhsuite.cli.build_parser` calls.
"""
