"""The files every command needs, shipped inside the package and found there, never in a checkout.

The spec, the schemathesis settings, the contract tests, the locustfile and its default
thresholds are package data: a wheel carries them, and ``importlib.resources`` finds them
wherever it was installed. A checkout keeps one copy of each, under ``src/ivhsuite/``; the
top-level ``openapi/``, ``contract_tests/``, ``loadtests/`` and ``schemathesis.toml`` are
links to them, so ``pytest contract_tests`` and ``locust -f loadtests/locustfile.py`` work
there as before.

pytest and locust take paths, not resources: the package must be installed as files (as
pip installs every wheel), not imported from a zip.

>>> spec_file().name
'ivh-sessionmanager.yaml'
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from ivhsuite.errors import ConfigError

SPEC_FILENAME = "ivh-sessionmanager.yaml"
CHANNEL_SPEC_FILENAME = "ivh-commandchannel.yaml"


def _path(*parts: str) -> Path:
    found = files("ivhsuite").joinpath(*parts)
    if not isinstance(found, Path) or not found.exists():
        where = "/".join(parts)
        raise ConfigError(f"the installed ivhsuite has no {where}: reinstall it from a wheel or a source tree")
    return found


def spec_file() -> Path:
    """The OpenAPI spec, the single source of truth."""
    return _path("openapi", SPEC_FILENAME)


def channel_spec_file() -> Path:
    """The AsyncAPI document of the WebSocket command channel, beside the OpenAPI spec."""
    return _path("asyncapi", CHANNEL_SPEC_FILENAME)


def schemathesis_config() -> Path:
    """The gate's ``schemathesis.toml``: its hooks, and the stock checks it replaces (with reasons)."""
    return _path("schemathesis.toml")


def contract_tests() -> Path:
    """The scenarios' folder, for ``pytest``; also importable as ``ivhsuite.contract_tests`` (``--pyargs``)."""
    return _path("contract_tests")


def locustfile() -> Path:
    """The load scenarios' locustfile."""
    return _path("loadtests", "locustfile.py")


def thresholds_file() -> Path:
    """The default pass/fail thresholds of a load run, beside the locustfile."""
    return _path("loadtests", "thresholds.toml")


def template(name: str) -> Path:
    """A starter file ``ivhsuite init`` copies into a user's repository (``templates/``)."""
    return _path("templates", name)
