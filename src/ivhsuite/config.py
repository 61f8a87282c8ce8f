"""Where to send requests and with which credentials: flags first, then the environment.

Secrets (the access token) come only from the environment or an explicit argument,
and ``Target.__repr__`` never shows them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ivhsuite.errors import ConfigError

ENV_BASE_URL = "IVH_BASE_URL"
ENV_APPKEY = "IVH_APPKEY"
ENV_ACCESS_TOKEN = "IVH_ACCESS_TOKEN"
ENV_PROJECT_ID = "IVH_PROJECT_ID"
ENV_MODE = "IVH_MODE"

DEFAULT_PROJECT_ID = "ivhsuite-demo-project"
MODES = ("saas", "private")


@dataclass(frozen=True)
class Target:
    """An endpoint and how to talk to it.

    >>> Target(base_url="http://127.0.0.1:8000", project_id="p1").signed
    False
    """

    base_url: str | None = None
    appkey: str | None = None
    access_token: str | None = field(default=None, repr=False)
    project_id: str = DEFAULT_PROJECT_ID
    mode: str = "saas"

    def __post_init__(self) -> None:
        if bool(self.appkey) != bool(self.access_token):
            missing = ENV_ACCESS_TOKEN if self.appkey else ENV_APPKEY
            raise ConfigError(f"credentials are incomplete: {missing} is not set")
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base URL must start with http:// or https://: {self.base_url!r}")

    @property
    def signed(self) -> bool:
        return bool(self.appkey and self.access_token)

    @classmethod
    def from_env(
        cls,
        base_url: str | None = None,
        appkey: str | None = None,
        access_token: str | None = None,
        project_id: str | None = None,
        mode: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> Target:
        """Build a target from explicit values, falling back to ``IVH_*`` variables."""
        env = os.environ if environ is None else environ
        return cls(
            base_url=(base_url or env.get(ENV_BASE_URL) or None),
            appkey=appkey or env.get(ENV_APPKEY) or None,
            access_token=access_token or env.get(ENV_ACCESS_TOKEN) or None,
            project_id=project_id or env.get(ENV_PROJECT_ID) or DEFAULT_PROJECT_ID,
            mode=(mode or env.get(ENV_MODE) or "saas").lower(),
        )

    def with_base_url(self, base_url: str) -> Target:
        return Target(base_url.rstrip("/"), self.appkey, self.access_token, self.project_id, self.mode)
