"""The application's request on its own: shape, documented bounds, signature form, secrets in the URL.

Stateless: everything here is judged from one request, before it is forwarded. The proxy
holds no credentials, so it cannot tell a right signature from a wrong one; it checks what
the docs say a signature looks like (URL-encoded base64 of a 32-byte HMAC-SHA256) and that
its timestamp is within the documented 5 minutes. No value of a secret ever goes into a
message: only names of parameters and fields.

>>> check_signature(b"appkey=a&timestamp=1&signature=abc", now=1.0, required=True)
[('signature-malformed', 'the signature is not the base64 of a 32-byte HMAC-SHA256 (after URL-decoding)')]
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import parse_qsl

from ivhsuite.contract import UNREADABLE
from ivhsuite.redact import SECRET_FIELDS
from ivhsuite.signing import SIGNED_PARAMS, TIMESTAMP_WINDOW_SECONDS
from ivhsuite.spec import Operation, Spec

Issue = tuple[str, str]  # (rule key, message)

HMAC_SHA256_BYTES = 32
_SECRET_NAME = re.compile(r"token|secret|usersig|privatemapkey|password|passwd", re.IGNORECASE)
_SECRET_FIELD_NAMES = (*SECRET_FIELDS, "txSecret")


def check_signature(raw_query: bytes, now: float, required: bool) -> list[Issue]:
    """Each way the signature parameters break the documented form.

    ``required``: an unsigned call is a finding (a real endpoint refuses it); off when the
    upstream is the embedded emulator, which runs unsigned for offline tests.
    """
    text = raw_query.decode("latin-1")
    params = dict(parse_qsl(text, keep_blank_values=True))
    present = [name for name in SIGNED_PARAMS if params.get(name)]
    if not present:
        return [("signature-malformed", "the call is not signed (no appkey, timestamp, signature)")] if required else []
    found: list[Issue] = [("signature-malformed", f"missing {name}") for name in SIGNED_PARAMS if name not in present]
    if "signature" in present:
        found += _signature_form(_raw_value(text, "signature"), params["signature"])
    if "timestamp" in present:
        found += _timestamp(params["timestamp"], now)
    return found


def _raw_value(text: str, name: str) -> str:
    """A parameter's value as sent, before URL-decoding."""
    for part in text.split("&"):
        key, _, value = part.partition("=")
        if key == name:
            return value
    return ""


def _signature_form(raw: str, decoded: str) -> list[Issue]:
    if "+" in raw:
        return [("signature-malformed", "the signature's '+' is not URL-encoded (%2B): it arrives as a space")]
    if "%25" in raw.upper():
        return [("signature-malformed", "the signature is URL-encoded twice ('%25' in it)")]
    try:
        digest = base64.b64decode(decoded, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != HMAC_SHA256_BYTES:
        return [
            ("signature-malformed", "the signature is not the base64 of a 32-byte HMAC-SHA256 (after URL-decoding)")
        ]
    return []


def _timestamp(value: str, now: float) -> list[Issue]:
    try:
        stamp = int(value)
    except ValueError:
        return [("signature-malformed", "the timestamp is not a whole number of Unix seconds")]
    skew = stamp - now
    if abs(skew) > TIMESTAMP_WINDOW_SECONDS:
        direction = "ahead of" if skew > 0 else "behind"
        message = (
            f"the timestamp is {abs(skew):.0f} s {direction} the current time (at most {TIMESTAMP_WINDOW_SECONDS} s)"
        )
        return [("timestamp-window", message)]
    return []


def check_query_secrets(raw_query: bytes) -> list[Issue]:
    """A parameter other than the signed ones whose name says it is a secret (its value is never shown)."""
    names = {name for name, _ in parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True)}
    leaked = sorted(n for n in names if n not in SIGNED_PARAMS and _SECRET_NAME.search(n))
    return [("secret-in-query", f"the query string carries {name!r}") for name in leaked]


def body_is_valid(op: Operation | None, body: Any) -> bool:
    """Whether the body matches its operation's request schema (the yes/no check: the fast one)."""
    return op is not None and body is not UNREADABLE and op.request.is_valid(body)


def check_body(op: Operation | None, method: str, path: str, body: Any, valid: bool | None = None) -> list[Issue]:
    """The request against the spec: a POST to a documented path whose body matches its schema.

    ``valid``: :func:`body_is_valid`, when the caller has it already.
    """
    if op is None:
        return [("unknown-path", f"{method} {path} is not an operation of the spec")]
    found: list[Issue] = []
    if method != "POST":
        found.append(("request-schema", f"{op.operation_id} called with {method}; every call is POST"))
    if body is UNREADABLE:
        return [*found, ("request-schema", "the body is not JSON")]
    if valid if valid is not None else body_is_valid(op, body):
        return found
    violation = op.request.first_violation(body)  # words the violation: slower, only when there is one
    if violation is not None:
        found.append(("request-schema", _hide_secret(violation.field, violation.message)))
    return found


def _hide_secret(field: str, message: str) -> str:
    """The violation, with the offending value left out when the field holds a secret."""
    if field.rsplit(".", 1)[-1] in _SECRET_FIELD_NAMES or "txSecret" in message:
        return f"{field}: the value breaks the spec (not shown: the field holds a secret)"
    return f"{field}: {message[:300]}"


def parse_body(raw: bytes) -> Any:
    """The JSON body, or :data:`UNREADABLE` when it is not JSON."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return UNREADABLE


def check_request(
    spec: Spec,
    method: str,
    path: str,
    raw_query: bytes,
    body: Any,
    now: float,
    signature_required: bool,
    valid: bool | None = None,
) -> list[Issue]:
    """Every stateless finding on one request (``valid``: :func:`body_is_valid`, if known)."""
    found = check_body(spec.by_path(path), method, path, body, valid)
    found += check_signature(raw_query, now, signature_required)
    found += check_query_secrets(raw_query)
    return found
