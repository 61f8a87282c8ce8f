"""The ``ivhsuite`` command: parses arguments and maps outcomes to exit codes, nothing more.

Each subcommand is one module of :mod:`ivhsuite.cli.commands` holding only its parser and
handler; what a command does is the library's.

Exit codes (:class:`ivhsuite.protocol.ExitCode`): 0 success, 1 the endpoint broke its
contract or a threshold, 2 a usage or configuration problem, said in one line on stderr,
never a traceback; 3 the endpoint was too unstable to judge; 130 interrupted (SIGINT),
143 terminated (SIGTERM), each after closing every session.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ivhsuite import config, interrupts
from ivhsuite.config import add_flag, pinned
from ivhsuite.errors import IvhsuiteError
from ivhsuite.protocol import ExitCode


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(ExitCode.USAGE, f"ivhsuite: error: {message}\n")


def _registrars() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Each subcommand's parser, imported lazily so `ivhsuite sign` stays fast."""
    from ivhsuite.cli.commands import emulate, gate, init, load, proxy, sign, sweep, verify

    return [
        sign.add_sign_parser,
        emulate.add_emulate_parser,
        gate.add_gate_parser,
        load.add_load_parser,
        verify.add_verify_parser,
        proxy.add_proxy_parser,
        init.add_init_parser,
        sweep.add_sweep_parser,
    ]


# Commands that read the spec: `--spec` holds for all of the command, its child processes included.
SPEC_COMMANDS = ("gate", "load", "verify")
# Commands that read settings (`ivhsuite.config`; `emulate` its spec): a misspelt key stops them first.
SETTINGS_COMMANDS = (*SPEC_COMMANDS, "proxy", "sweep", "emulate")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ivhsuite", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for register in _registrars():
        register(subparsers)
    for name in SPEC_COMMANDS:
        add_flag(subparsers.choices[name], "spec", default_text="default: $IVH_SPEC, the config file, else the packaged spec")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in SETTINGS_COMMANDS:
            config.check_file()  # a misspelt key stops the command before it starts
        with pinned(spec=getattr(args, "spec", None)), interrupts.trapped():
            code = int(args.handler(args))
        return interrupts.exit_code(code) if code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED) else code
    except IvhsuiteError as exc:
        print(f"ivhsuite: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt as exc:
        code = interrupts.exit_code_for(interrupts.interrupted_by(exc))
        print(f"ivhsuite: {'terminated' if code == ExitCode.TERMINATED else 'interrupted'}", file=sys.stderr)
        return code

