"""One request before the run, so a wrong setting ends it at once with one line (exit code 2).

Caught here: an endpoint that cannot be reached, a base URL with no IVH API behind it,
a signed endpoint and no credentials, credentials the endpoint refuses, an asset key
(``IVH_ASSET_KEY``) the endpoint does not know. Anything else the endpoint answers is for
the checks to judge.
"""

from __future__ import annotations

from ivhsuite.client import new_reqid
from ivhsuite.config import ENV_ACCESS_TOKEN, ENV_APPKEY, env_name
from ivhsuite.contract import policy
from ivhsuite.errors import ConfigError, TransportError
from ivhsuite.gate.context import RunContext
from ivhsuite.protocol import Answer, Code


def preflight(run: RunContext) -> None:
    """Raise :class:`ConfigError` when the run could not mean anything."""
    target = run.target
    payload = {"ReqId": new_reqid(), "VirtualmanProjectId": target.project_id}
    try:
        response = run.closer.send("listsessionofprojectid", payload)
    except TransportError as exc:
        raise ConfigError(str(exc)) from None
    answer = Answer.read(response.status_code, response.content)
    if response.status_code == 404 and answer.code is None:
        raise ConfigError(f"no IVH session manager at {target.base_url} (HTTP 404): check --base-url")
    if answer.code == Code.NOT_AUTHORIZED and not target.signed:
        raise ConfigError(
            f"{target.base_url} requires a signature (Code {int(Code.NOT_AUTHORIZED)}): set {ENV_APPKEY} and {ENV_ACCESS_TOKEN}"
        )
    if answer.code == Code.NOT_AUTHORIZED:
        raise ConfigError(
            f"{target.base_url} refused the configured credentials (Code {int(Code.NOT_AUTHORIZED)}):"
            f" check {ENV_APPKEY} and {ENV_ACCESS_TOKEN}"
        )
    _check_asset(run)


def _check_asset(run: RunContext) -> None:
    """An unknown asset key would turn every valid createsessionbyasset into a finding: say so at once."""
    payload = {"ReqId": new_reqid(), "AssetVirtualmanKey": run.target.asset_key}
    try:
        response = run.closer.send("listsessionofassetvk", payload)
    except TransportError as exc:
        raise ConfigError(str(exc)) from None
    answer = Answer.read(response.status_code, response.content)
    if policy.refuses_unknown_asset(answer.code):
        raise ConfigError(
            f"{run.target.base_url} does not know the asset key {run.target.asset_key!r} (Code {answer.code}):"
            f" set {env_name('asset_key')} to one of your AssetVirtualmanKeys"
        )
