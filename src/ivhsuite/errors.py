"""The errors ivhsuite raises, one tree so callers can catch by intent.

    IvhsuiteError
    ├── ConfigError        a setting is missing or wrong (CLI exit code 2)
    ├── TransportError     no answer to judge: unreachable, reset, too late, or a gateway's 502/503/504
    │   ├── RequestTimeout
    │   └── GatewayError   a 502/503/504 in place of the endpoint's answer
    └── ApiError           the endpoint answered with a non-zero Header.Code

Third-party exceptions (httpx, yaml) are translated where they are caught, so nothing
above ``client`` needs to know which HTTP library sits below it.
"""

from __future__ import annotations


class IvhsuiteError(Exception):
    """Base of every error ivhsuite raises on purpose."""


class ConfigError(IvhsuiteError):
    """A setting is missing or inconsistent; the message says which, in one line."""


class TransportError(IvhsuiteError):
    """No answer to judge: the endpoint could not be reached, the connection failed mid-request,
    the answer came too late, or a gateway answered in its place. Environmental, never a broken promise.

    ``fault`` names it the way reports do (``reset``, ``timeout``, ``HTTP 502 page``; see
    :class:`ivhsuite.retry.Fault`), "" when unknown.
    """

    def __init__(self, message: str, fault: str = "") -> None:
        super().__init__(message)
        self.fault = fault


class RequestTimeout(TransportError):
    """The endpoint did not answer within the client's timeout."""


class GatewayError(TransportError):
    """A 502, 503 or 504 (often a proxy's HTML page) came back instead of the endpoint's answer."""


class ApiError(IvhsuiteError):
    """A business error: the endpoint answered with ``Header.Code != 0``.

    >>> ApiError(110018, "session does not exist", "r-1").code
    110018
    """

    def __init__(self, code: int, message: str = "", request_id: str = "", operation: str = "") -> None:
        self.code = code
        self.message = message
        self.request_id = request_id
        self.operation = operation
        where = f"{operation}: " if operation else ""
        super().__init__(f"{where}code {code}: {message or '(no message)'} [RequestID {request_id or '-'}]")
