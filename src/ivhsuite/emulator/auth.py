"""Signature enforcement, a pure-ASGI middleware in front of every route.

The docs give no dedicated code for a bad signature; the emulator answers the closest
documented one, ``100005`` (not authorized), with HTTP 200 like every business error.
The body is never read here: the signature covers only the query string.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ivhsuite.signing import verify_signature

Reject = Callable[[str], Response]


class SignatureMiddleware:
    """Refuse any request whose ``appkey``/``timestamp``/``signature`` do not verify.

    >>> SignatureMiddleware(app, "appkey", "token", reject=lambda why: Response(why))  # doctest: +SKIP
    """

    def __init__(self, app: ASGIApp, appkey: str, access_token: str, reject: Reject, exempt: str | None = None) -> None:
        self.app = app
        self._appkey = appkey
        self._access_token = access_token
        self._reject = reject
        self._exempt = exempt  # a path prefix served unsigned (the emulator's admin endpoints)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self._exempt and scope["path"].startswith(self._exempt)):
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        params = dict(parse_qsl(query, keep_blank_values=True))
        reason = verify_signature(params, self._appkey, self._access_token)
        if reason is None:
            await self.app(scope, receive, send)
            return
        await self._reject(f"not authorized: {reason}")(scope, receive, send)
