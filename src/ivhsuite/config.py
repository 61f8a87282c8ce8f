"""Every setting the suite reads from outside, once: its flag, its ``IVH_*`` variable, its default, its parsing.

A value comes from a command-line flag first, then the environment, then the project's
config file (``ivhsuite.toml``, or ``[tool.ivhsuite]`` in ``pyproject.toml``, in the current
directory), then the default here: :func:`setting` applies that order, and no other module
reads ``os.environ`` for a setting. Commands declare their flags with :func:`add_flags`
from the same rows (as locust's ``argument_parser`` keeps flag, variable and help together),
so a flag is spelt, typed and explained once. A key of the config file that is no setting is
an error naming the closest known key. The README's configuration table lists the variables
of :data:`SETTINGS` (a test keeps the two equal).

Secrets (the access token) come only from the environment or an explicit argument,
and ``Target.__repr__`` never shows them.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import os
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivhsuite.errors import ConfigError

MODES = ("saas", "private")
DEFAULT_PROJECT_ID = "ivhsuite-demo-project"
DEFAULT_ASSET_KEY = "ivhsuite-demo-asset"
# "Usually under 1 minute, at most 2 minutes" (page 100388), plus a margin.
DEFAULT_READY_TIMEOUT = 150.0
DEFAULT_MAX_SESSIONS = 60  # the gate's session budget: the scenarios' ~30 and as many for the generated half
DEFAULT_POLL_INTERVAL = 1.0
DEFAULT_USER_ID_MAX_LENGTH = 32
# The share of requests a run may leave unanswered (after the safe retries) and still judge.
DEFAULT_MAX_TRANSPORT_ERRORS = 0.05
CONFIG_FILE = "ivhsuite.toml"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError(text)
    return value


def parse_share(text: str) -> float:
    """``"1%"``, ``"0.01"`` → 0.01: a share from 0 to 1 (ValueError otherwise)."""
    raw = str(text).strip()
    value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    if not 0.0 <= value <= 1.0:
        raise ValueError(text)
    return value


def share_argument(text: str) -> float:
    """argparse ``type=`` for a share: a usage error names the expected form."""
    try:
        return parse_share(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share like 5% or 0.05, not {text!r}") from None


def _names(text: str) -> frozenset[str]:
    """A comma-separated list of names, blanks dropped."""
    return frozenset(name.strip() for name in text.split(",") if name.strip())


@dataclass(frozen=True)
class Setting:
    """One outside setting: its key in the config file, its variable, its default and meaning,
    and, when a command takes it as a flag, the flag's argparse ``type``.

    ``env`` None: a flag only (no variable, not in the file). ``flag_type`` None: no flag.
    """

    key: str
    env: str | None
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    secret: bool = False
    in_file: bool = True  # whether the config file may set it (never a secret)
    flag_type: Callable[[str], Any] | None = None
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "base_url",
        "IVH_BASE_URL",
        None,
        "the endpoint, e.g. `https://gw.tvs.qq.com`; unset: the embedded emulator, where a command can start one",
        flag_type=str,
        metavar="URL",
    ),
    Setting("appkey", "IVH_APPKEY", None, "credentials, with IVH_ACCESS_TOKEN; every call is signed when both are set"),
    Setting("access_token", "IVH_ACCESS_TOKEN", None, "the secret half of the credentials", secret=True, in_file=False),
    Setting(
        "project_id",
        "IVH_PROJECT_ID",
        DEFAULT_PROJECT_ID,
        "the VirtualmanProjectId sessions are created in",
        flag_type=str,
        metavar="ID",
    ),
    Setting(
        "asset_key",
        "IVH_ASSET_KEY",
        DEFAULT_ASSET_KEY,
        "the AssetVirtualmanKey the gate creates sessions from (createsessionbyasset)",
        flag_type=str,  # `ivhsuite load` / ConversationUser: create by asset instead of by project
        metavar="KEY",
    ),
    Setting(
        "mode", "IVH_MODE", "saas", "`saas` (SessionId is never sent) or `private` (a private deployment)", str.lower
    ),
    Setting(
        "quota",
        "IVH_QUOTA",
        None,
        "the project's concurrent-session quota, as you bought it",
        _positive_int,
        flag_type=int,  # 0 or less: the command's own one-line error names the flag
        metavar="N",
    ),
    Setting(
        "max_sessions",
        "IVH_MAX_SESSIONS",
        DEFAULT_MAX_SESSIONS,
        "sessions a gate run may create in all (each a paid stream); the scenarios come first, the generated"
        " half gets the rest",
        _positive_int,
        flag_type=int,
        metavar="N",
    ),
    Setting(
        "ready_timeout",
        "IVH_READY_TIMEOUT",
        DEFAULT_READY_TIMEOUT,
        "seconds a new session may take",
        _positive_float,
        flag_type=float,
        metavar="SECONDS",
    ),
    Setting(
        "user_id_max_length",
        "IVH_USER_ID_MAX_LENGTH",
        DEFAULT_USER_ID_MAX_LENGTH,
        "longest UserId the gate generates (the docs give no limit)",
        int,
        flag_type=int,
        metavar="N",
    ),
    Setting(
        "max_transport_errors",
        "IVH_MAX_TRANSPORT_ERRORS",
        DEFAULT_MAX_TRANSPORT_ERRORS,
        "share of requests a run may leave unanswered after safe retries (e.g. `1%`) before it exits 3, unstable",
        parse_share,
        flag_type=share_argument,
        metavar="SHARE",
    ),
    Setting(
        "spec",
        "IVH_SPEC",
        None,
        "an OpenAPI file of your own instead of the packaged spec",
        flag_type=str,
        metavar="FILE",
    ),
    Setting(
        "thresholds",
        "IVH_THRESHOLDS",
        None,
        "a load thresholds file of your own instead of the packaged one",
        flag_type=str,
        metavar="FILE",
    ),
    Setting("profile", "IVH_PROFILE", "standard", "`ivhsuite verify`'s load profile: `smoke` or `standard`"),
    Setting(
        "schemathesis_config",
        "IVH_SCHEMATHESIS_CONFIG",
        None,
        "a `schemathesis.toml` to use instead of the packaged one",
    ),
    Setting(
        "emulator_faults",
        "IVHSUITE_EMULATOR_FAULTS",
        frozenset(),
        "test only: comma-separated broken-emulator variants (`ivhsuite.emulator.faults`)",
        _names,
        in_file=False,
    ),
    Setting(
        "prepare_seconds",
        None,
        None,
        "how long a cold session of an emulator stays preparing (status 3)",
        float,
        in_file=False,
        flag_type=float,
        metavar="SECONDS",
    ),
)
_BY_KEY = {s.key: s for s in SETTINGS}
_FILE_KEYS = sorted(s.key for s in SETTINGS if s.env and s.in_file)
ENV_BASE_URL, ENV_APPKEY, ENV_ACCESS_TOKEN, ENV_PROJECT_ID = (s.env for s in SETTINGS[:4])
# Variables that belong to the platform the suite runs on, read where they matter.
ENV_STEP_SUMMARY = "GITHUB_STEP_SUMMARY"
ENV_CI = "CI"


def env_name(key: str) -> str:
    env = _BY_KEY[key].env
    if env is None:
        raise KeyError(f"{key} is a flag only")
    return env


def add_flag(parser: Any, key: str, note: str = "", default_text: str | None = None, **overrides: Any) -> None:
    """Declare one setting's flag on ``parser``: its name, type and meaning from :data:`SETTINGS`.

    ``note`` adds what the command does with it; ``default_text`` replaces the row's "default: ..."
    for a command that reads the flag alone (``ivhsuite emulate``); ``overrides`` are argparse's (``required``, ``action="append"``, ``dest``, locust's ``include_in_web_ui``).

    >>> parser = argparse.ArgumentParser()
    >>> add_flag(parser, "quota")
    >>> parser.parse_args(["--quota", "3"]).quota
    3
    """
    row = _BY_KEY[key]
    if row.flag_type is None:
        raise KeyError(f"{key} has no flag")
    options: dict[str, Any] = {"help": _flag_help(row, note, default_text), "metavar": row.metavar}
    if overrides.get("action") not in ("store_true", "store_false"):
        options["type"] = row.flag_type
    options.update(overrides)
    parser.add_argument(row.flag, **options)


def _flag_help(row: Setting, note: str, default_text: str | None) -> str:
    """The row's meaning, the command's note, then where the value comes from without the flag."""
    sources = [f"${row.env}"] if row.env else []
    if row.env and row.in_file:
        sources.append("the config file")
    if row.default is not None:
        shown = f"{row.default * 100:g}%" if row.parse is parse_share else str(row.default)
        sources.append(shown)
    default = f"default: {', else '.join(sources)}" if sources else ""
    if default_text is not None:
        default = default_text
    text = "; ".join(part for part in (row.help.replace("`", ""), note, default) if part)
    return text.replace("%", "%%")  # argparse formats help with %


def add_flags(parser: Any, *keys: str) -> None:
    """Declare several settings' flags as they are: ``add_flags(parser, "base_url", "project_id")``."""
    for key in keys:
        add_flag(parser, key)


@functools.cache
def _file_values(folder: Path) -> Mapping[str, Any]:
    """``ivhsuite.toml``, else ``[tool.ivhsuite]`` of ``pyproject.toml``, in ``folder``; {} when neither."""
    for name, section in ((CONFIG_FILE, ()), ("pyproject.toml", ("tool", "ivhsuite"))):
        path = folder / name
        if not path.is_file():
            continue
        try:
            data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        for part in section:
            data = data.get(part, {}) if isinstance(data, dict) else {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: [{'.'.join(section)}] must be a table")
        if data or name == CONFIG_FILE:
            keys = {k: k.replace("-", "_") for k in data}
            refused = sorted(
                k for k, key in keys.items() if key in _BY_KEY and _BY_KEY[key].env and key not in _FILE_KEYS
            )
            if refused:
                raise ConfigError(f"{path}: {', '.join(refused)} may not be kept in a file; use the environment")
            for given, key in sorted(keys.items()):
                if key not in _FILE_KEYS:
                    raise ConfigError(f"{path}: unknown setting {given!r}{_closest(key)}")
            values: dict[str, Any] = {keys[k]: v for k, v in data.items()}
            values["__path__"] = str(path)
            return values
    return {}


def _closest(key: str) -> str:
    """`` (did you mean 'quota'?)`` for a misspelt key, or the keys a file may hold."""
    near = difflib.get_close_matches(key, _FILE_KEYS, n=1, cutoff=0.5)
    return f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(_FILE_KEYS)})"


def check_file(folder: Path | None = None) -> None:
    """Read the project's config file now, so a misspelt key stops a command before it starts."""
    file_values(folder)


def file_values(folder: Path | None = None) -> Mapping[str, Any]:
    """What the project's config file says (cached per folder)."""
    return _file_values((folder or Path.cwd()).resolve())


# Flags that hold for the whole command, in this process and the ones it starts (see `pinned`).
_PINNED: dict[str, str] = {}


@contextmanager
def pinned(**flags: str | None) -> Iterator[None]:
    """Make flags such as ``--spec`` hold for a whole command: every :func:`setting` in this
    process, and every child started with :func:`child_environ` (the locust run, its emulator).

    >>> with pinned(spec="mine.yaml"):
    ...     setting("spec")
    'mine.yaml'
    """
    given = {key: str(value) for key, value in flags.items() if value is not None}
    unknown = sorted(set(given) - set(_BY_KEY))
    if unknown:
        raise KeyError(f"no setting {', '.join(unknown)}")
    previous = dict(_PINNED)
    _PINNED.update(given)
    try:
        yield
    finally:
        _PINNED.clear()
        _PINNED.update(previous)


def child_environ() -> dict[str, str]:
    """The environment for a child process: this one's, with the pinned flags as their variables."""
    return {**os.environ, **{env_name(key): value for key, value in _PINNED.items()}}


def setting(key: str, given: Any = None, environ: Mapping[str, str] | None = None, folder: Path | None = None) -> Any:
    """The value of one setting: ``given`` (a flag) if not None, else a pinned flag, the environment, the file, the default."""
    spec = _BY_KEY[key]
    if given is not None:
        return given
    if key in _PINNED:
        return spec.parse(_PINNED[key])
    env = os.environ if environ is None else environ
    raw = env.get(spec.env) if spec.env else None
    source = spec.env or spec.flag
    if not raw and spec.in_file:
        values = file_values(folder) if environ is None or folder is not None else {}
        if key in values:
            raw, source = values[key], f"{values['__path__']} ({key})"
            if not isinstance(raw, str):
                raw = str(raw).lower() if isinstance(raw, bool) else str(raw)
    if not raw:
        return spec.default
    try:
        return spec.parse(raw)
    except ValueError:
        raise ConfigError(f"{source} is not valid: {raw!r} ({spec.help})") from None


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
    asset_key: str = DEFAULT_ASSET_KEY

    def __post_init__(self) -> None:
        if bool(self.appkey) != bool(self.access_token):
            missing = env_name("access_token") if self.appkey else env_name("appkey")
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
        environ: Mapping[str, str] | None = None,
        asset_key: str | None = None,
    ) -> Target:
        """Build a target from explicit values, falling back to ``IVH_*`` variables and the config file."""
        return cls(
            base_url=setting("base_url", base_url or None, environ),
            appkey=setting("appkey", appkey or None, environ),
            access_token=setting("access_token", access_token or None, environ),
            project_id=setting("project_id", project_id or None, environ),
            mode=setting("mode", mode.lower() if mode else None, environ),
            asset_key=setting("asset_key", asset_key or None, environ),
        )

    def with_base_url(self, base_url: str) -> Target:
        return Target(
            base_url.rstrip("/"), self.appkey, self.access_token, self.project_id, self.mode, self.asset_key
        )
