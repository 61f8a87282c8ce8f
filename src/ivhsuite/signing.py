"""The documented request signature, as pure functions and as an ``httpx.Auth``.

String to sign: every query parameter except ``signature``, sorted by key, joined
``k=v&k=v``. ``signature = urlencode(base64(HMAC-SHA256(accesstoken, string_to_sign)))``,
encoded once with every reserved character (``+``, ``/``, ``=``) encoded.

>>> signature({"appkey": "example_appkey", "timestamp": "1717639699"}, "example_accesstoken")
'aCNWYzZdplxWVo+JsqzZc9+J9XrwWWITfX3eQpsLVno='
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Generator, Mapping
from urllib.parse import quote

import httpx

TIMESTAMP_WINDOW_SECONDS = 300
SIGNED_PARAMS = ("appkey", "timestamp", "signature")


def string_to_sign(params: Mapping[str, str]) -> str:
    return "&".join(f"{key}={params[key]}" for key in sorted(params) if key != "signature")


def signature(params: Mapping[str, str], access_token: str) -> str:
    """The base64 signature, before URL-encoding."""
    digest = hmac.new(access_token.encode(), string_to_sign(params).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign_params(
    appkey: str, access_token: str, timestamp: int | None = None, requestid: str | None = None
) -> dict[str, str]:
    """The query parameters of a signed call, ``signature`` last and not yet URL-encoded."""
    params = {"appkey": appkey, "timestamp": str(int(time.time()) if timestamp is None else timestamp)}
    if requestid is not None:
        params["requestid"] = requestid
    params = dict(sorted(params.items()))
    params["signature"] = signature(params, access_token)
    return params


def encode_query(params: Mapping[str, str]) -> str:
    """``k=v&...`` with every reserved character of each value encoded exactly once."""
    return "&".join(f"{key}={quote(value, safe='')}" for key, value in params.items())


def signed_query(appkey: str, access_token: str, timestamp: int | None = None, requestid: str | None = None) -> str:
    """The signed query string ``appkey=…&timestamp=…&signature=…``.

    >>> signed_query("example_appkey", "example_accesstoken", 1717639699)
    'appkey=example_appkey&timestamp=1717639699&signature=aCNWYzZdplxWVo%2BJsqzZc9%2BJ9XrwWWITfX3eQpsLVno%3D'
    """
    return encode_query(sign_params(appkey, access_token, timestamp, requestid))


def verify_signature(params: Mapping[str, str], appkey: str, access_token: str, now: float | None = None) -> str | None:
    """Check a decoded query against the credentials: None when good, else what is wrong.

    A signature whose ``+`` arrived as a space (sent without URL-encoding) is accepted
    as the same signature: the docs ask callers to encode, and some public clients don't.
    """
    for name in SIGNED_PARAMS:
        if not params.get(name):
            return f"missing {name}"
    if params["appkey"] != appkey:
        return "unknown appkey"
    try:
        stamp = int(params["timestamp"])
    except ValueError:
        return "timestamp is not a whole number of seconds"
    current = time.time() if now is None else now
    if abs(current - stamp) > TIMESTAMP_WINDOW_SECONDS:
        return "timestamp is more than 5 minutes away from server time"
    expected = signature(params, access_token)
    given = params["signature"].replace(" ", "+")
    if not hmac.compare_digest(expected.encode(), given.encode()):
        return "signature does not match"
    return None


class SignatureAuth(httpx.Auth):
    """Signs every request with a fresh timestamp, replacing any earlier signature.

    >>> client = httpx.Client(auth=SignatureAuth("appkey", "token"))  # doctest: +SKIP
    """

    def __init__(self, appkey: str, access_token: str) -> None:
        self._appkey = appkey
        self._access_token = access_token

    def __repr__(self) -> str:
        return f"SignatureAuth(appkey={self._appkey!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        kept = [(k, v) for k, v in request.url.params.multi_items() if k not in SIGNED_PARAMS]
        params = dict(kept)
        params.update(appkey=self._appkey, timestamp=str(int(time.time())))
        params = dict(sorted(params.items()))
        params["signature"] = signature(params, self._access_token)
        request.url = request.url.copy_with(query=encode_query(params).encode())
        yield request
