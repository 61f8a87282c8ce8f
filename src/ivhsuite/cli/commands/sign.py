"""``ivhsuite sign``: print a signed query string for the documented signature."""

from __future__ import annotations

import argparse

from ivhsuite.protocol import ExitCode
from ivhsuite.signing import signed_query


def add_sign_parser(subparsers: argparse._SubParsersAction) -> None:
    sign = subparsers.add_parser("sign", help="print a signed query string for the documented signature")
    sign.add_argument("--appkey", required=True)
    sign.add_argument("--access-token", required=True)
    sign.add_argument("--timestamp", type=int, help="Unix seconds (default: now)")
    sign.add_argument("--requestid", help="signed too when given")
    sign.set_defaults(handler=run_sign_command)


def run_sign_command(args: argparse.Namespace) -> int:
    print(signed_query(args.appkey, args.access_token, args.timestamp, args.requestid))
    return ExitCode.OK
