"""ivhsuite: contract and load testing for Tencent Cloud's IVH session manager API."""

from importlib.metadata import version

from ivhsuite.channel import AsyncChannel, Channel
from ivhsuite.client import AsyncIvhClient, IvhClient, new_reqid
from ivhsuite.config import Target
from ivhsuite.errors import ApiError, ConfigError, IvhsuiteError, RequestTimeout, TransportError
from ivhsuite.signing import SignatureAuth, signature, signed_query
from ivhsuite.spec import Spec, load_spec

__version__ = version("ivhsuite")

__all__ = [
    "ApiError",
    "AsyncChannel",
    "AsyncIvhClient",
    "Channel",
    "ConfigError",
    "IvhClient",
    "IvhsuiteError",
    "RequestTimeout",
    "SignatureAuth",
    "Spec",
    "Target",
    "TransportError",
    "load_spec",
    "new_reqid",
    "signature",
    "signed_query",
]
