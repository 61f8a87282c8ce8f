"""The errors ivhsuite raises, one tree so callers can catch by intent.

    IvhsuiteError
    ├── ConfigError        a setting is missing or wrong (CLI exit code 2)
    ├── TransportError     the endpoint could not be reached or did not answer in time
    │   └── RequestTimeout
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
    """The endpoint could not be reached, or the connection failed mid-request."""


class RequestTimeout(TransportError):
    """The endpoint did not answer within the client's timeout."""


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
