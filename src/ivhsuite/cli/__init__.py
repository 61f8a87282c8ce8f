"""The ``ivhsuite`` command: parses arguments and maps outcomes to exit codes, nothing more.

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
from ivhsuite.signing import signed_query


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(ExitCode.USAGE, f"ivhsuite: error: {message}\n")


def _sign(args: argparse.Namespace) -> int:
    print(signed_query(args.appkey, args.access_token, args.timestamp, args.requestid))
    return ExitCode.OK


def _add_sign(subparsers: argparse._SubParsersAction) -> None:
    sign = subparsers.add_parser("sign", help="print a signed query string for the documented signature")
    sign.add_argument("--appkey", required=True)
    sign.add_argument("--access-token", required=True)
    sign.add_argument("--timestamp", type=int, help="Unix seconds (default: now)")
    sign.add_argument("--requestid", help="signed too when given")
    sign.set_defaults(handler=_sign)


def _registrars() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Each subcommand's parser, imported lazily so `ivhsuite sign` stays fast."""
    from ivhsuite.emulator.cli import add_emulate_parser
    from ivhsuite.gate.cli import add_gate_parser
    from ivhsuite.load.cli import add_load_parser
    from ivhsuite.proxy.cli import add_proxy_parser
    from ivhsuite.scaffold import add_init_parser
    from ivhsuite.sweep_cli import add_sweep_parser
    from ivhsuite.verify import add_verify_parser

    return [
        _add_sign,
        add_emulate_parser,
        add_gate_parser,
        add_load_parser,
        add_verify_parser,
        add_proxy_parser,
        add_init_parser,
        add_sweep_parser,
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


if __name__ == "__main__":
    sys.exit(main())
