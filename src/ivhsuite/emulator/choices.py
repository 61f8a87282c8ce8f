"""Where the vendor docs are silent, every plausible answer as a named choice.

A gate that passes only against the emulator's defaults proves little: the real
endpoint may have chosen differently wherever the docs say nothing. Each choice here
names one such silent point and the answers a real endpoint could plausibly give; the
defaults are the emulator's historical behaviour, so ``Choices()`` changes nothing.

>>> Choices.parse({"error-status": "4xx", "close-twice": "error"}).status_of(110018)
404
>>> Choices().status_of(110018)
200
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ivhsuite.errors import ConfigError
from ivhsuite.protocol import Code

# The alphabet of a plain id: under ``unusual-ids=refuse`` a UserId or SessionId outside it gets 100001.
PLAIN_ID = re.compile(r"[A-Za-z0-9_-]+")
# The HTTP status of each business error under ``error-status=4xx``; others get 400.
FOUR_XX: dict[int, int] = {
    Code.BAD_PARAMETER: 400,
    Code.NOT_AUTHORIZED: 401,
    Code.OVER_CONCURRENCY_LIMIT: 403,
    Code.NO_QUOTA_LEFT: 403,
    Code.TOO_FREQUENT: 429,
    Code.SESSION_NOT_FOUND: 404,
    Code.SESSION_CLOSED: 409,
    Code.SESSION_NOT_READY: 409,
    Code.SESSION_NOT_STARTED: 409,
    Code.PREEMPTED: 409,
}


@dataclass(frozen=True)
class ChoiceDoc:
    """One choice as the README and ``--help`` show it."""

    name: str
    values: str
    default: str
    accept: str  # what an honest gate must accept


def _one_of(*values: str) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        text = ("yes" if raw else "no") if isinstance(raw, bool) else str(raw)
        if text not in values:
            raise ValueError(f"one of {' | '.join(values)}")
        return text

    return parse


def _number(kind: type, low: float, high: float = math.inf, *, none: bool = False) -> Callable[[Any], Any]:
    words = f"a number from {low:g}" + ("" if high == math.inf else f" to {high:g}")
    words = ("none or " if none else "") + (words.replace("a number", "an integer") if kind is int else words)

    def parse(raw: Any) -> Any:
        if raw is None or (none and str(raw).lower() == "none"):
            if none:
                return None
            raise ValueError(words)
        try:
            value = kind(raw) if not isinstance(raw, bool) else None
        except (TypeError, ValueError):
            value = None
        if value is None or (kind is int and str(raw).strip() != str(value)) or not low <= value <= high:
            raise ValueError(words)
        return value

    return parse


# name → (field, parser, doc). The order is the README's.
_TABLE: tuple[tuple[str, str, Callable[[Any], Any], ChoiceDoc], ...] = (
    (
        "error-status",
        "error_status",
        _one_of("200", "4xx", "400", "401", "403", "404", "409", "429"),
        ChoiceDoc(
            "error-status",
            "`200` · `4xx` (per code: 100001→400, 100005→401, 100008/100014→403, 100012→429, 110018→404, "
            "other 110xxx→409) · one fixed `400`/`401`/`403`/`404`/`409`/`429`",
            "200",
            "a non-zero Header.Code with HTTP 200 or any 4xx",
        ),
    ),
    (
        "error-payload",
        "error_payload",
        _one_of("reqid", "empty", "absent"),
        ChoiceDoc(
            "error-payload",
            '`reqid` (`{"ReqId": …}` when the request carried one, else `{}`) · `empty` (`{}`) · `absent`',
            "reqid",
            "Payload `{}`, absent, or carrying the ReqId",
        ),
    ),
    (
        "undocumented-method",
        "undocumented_method",
        _one_of("native", "405", "501", "404", "html"),
        ChoiceDoc(
            "undocumented-method",
            "`native` (405 for a verb other than POST, 404 for an unknown path) · `405` · `501` · `404` · "
            "`html` (a gateway's HTML page, same statuses as native)",
            "native",
            "405, 501, 404 or an HTML page; never a 5xx other than 501",
        ),
    ),
    (
        "unreadable-body",
        "unreadable_body",
        _one_of("json", "html"),
        ChoiceDoc(
            "unreadable-body",
            "`json` (the envelope, Code 100001) · `html` (a gateway's HTML page); status 400, 413 or 415 either way",
            "json",
            "400, 413 or 415, as the JSON envelope or as HTML",
        ),
    ),
    (
        "content-type",
        "content_type",
        _one_of("any", "json"),
        ChoiceDoc(
            "content-type",
            "`any` (the body is read whatever its Content-Type) · `json` (415 unless `application/json`)",
            "any",
            "415 for a non-JSON Content-Type, or the body read anyway",
        ),
    ),
    (
        "empty-text",
        "empty_text",
        _one_of("accept", "refuse"),
        ChoiceDoc("empty-text", "`accept` · `refuse` (100001)", "accept", "Code 0 or 100001, never a 5xx"),
    ),
    (
        "user-id-max",
        "user_id_max",
        _number(int, 1, none=True),
        ChoiceDoc(
            "user-id-max",
            "`none` · a length, e.g. `32` or `64` (a longer UserId is refused with 100001)",
            "none",
            "Code 0 or 100001, never a 5xx",
        ),
    ),
    (
        "unusual-ids",
        "unusual_ids",
        _one_of("accept", "refuse"),
        ChoiceDoc(
            "unusual-ids",
            "`accept` · `refuse` (a UserId or SessionId outside `[A-Za-z0-9_-]` gets 100001)",
            "accept",
            "Code 0 (or the session-state code) or 100001, never a 5xx",
        ),
    ),
    (
        "close-twice",
        "close_twice",
        _one_of("ok", "error"),
        ChoiceDoc("close-twice", "`ok` (Code 0) · `error` (110013)", "ok", "Code 0 or 110013"),
    ),
    (
        "list-closed",
        "list_closed",
        _one_of("no", "yes"),
        ChoiceDoc(
            "list-closed",
            "`no` · `yes` (listsessionofprojectid also shows the project's last 100 closed or failed sessions, "
            "status 2 or 4)",
            "no",
            "closed sessions listed (status 2 or 4) or not; only status 1 and 3 hold a slot",
        ),
    ),
    (
        "play-addr-while-preparing",
        "play_addr_while_preparing",
        _one_of("yes", "no"),
        ChoiceDoc(
            "play-addr-while-preparing",
            "`yes` · `no` (PlayStreamAddr only once the status is 1)",
            "yes",
            "PlayStreamAddr given or withheld while the status is 3",
        ),
    ),
    (
        "session-id",
        "session_id",
        _one_of("hex", "uuid", "short", "long"),
        ChoiceDoc(
            "session-id",
            "`hex` (32 hex digits) · `uuid` (dashed) · `short` (8 characters) · `long` (128 characters)",
            "hex",
            "any non-empty string",
        ),
    ),
    (
        "null-optional",
        "null_optional",
        _one_of("refuse", "absent"),
        ChoiceDoc(
            "null-optional",
            "`refuse` (100001) · `absent` (a null field is treated as missing; a required one is still refused)",
            "refuse",
            "Code 0 or 100001",
        ),
    ),
    (
        "preempt-across",
        "preempt_across",
        _one_of("yes", "no"),
        ChoiceDoc(
            "preempt-across",
            "`yes` (UserId per account: createsession and createsessionbyasset preempt each other) · `no` (per"
            " create kind: each preempts only sessions it created the same way)",
            "yes",
            "only the documented preemption within one create kind is asserted",
        ),
    ),
    (
        "unknown-asset",
        "unknown_asset",
        _one_of("100001", "100015"),
        ChoiceDoc(
            "unknown-asset",
            "`100001` (bad parameter) · `100015` (as for an expired asset): the Code for an empty"
            " AssetVirtualmanKey, or one outside `--asset` when given",
            "100001",
            "Code 100001 or 100015",
        ),
    ),
    (
        "cold-failure",
        "cold_failure",
        _number(float, 0.0, 1.0),
        ChoiceDoc(
            "cold-failure",
            "a probability 0 to 1 that a cold session ends in status 4 with ErrorCode -111003, -111004 or -101001"
            " (its slot is freed)",
            "0",
            "status 4 with those ErrorCodes as environmental, not a broken promise",
        ),
    ),
    (
        "model-cache",
        "model_cache",
        _one_of("user", "protocol"),
        ChoiceDoc(
            "model-cache",
            "`user` (a create is warm, ready at once, when the same project and UserId created one within the"
            " idle timeout) · `protocol` (warm when the project created any session of the same Protocol within"
            " `model-cache-seconds`: \"the cache hit directly provides the playback URL\", read per model)",
            "user",
            "a new session ready at once (status 1) or preparing (status 3)",
        ),
    ),
    (
        "model-cache-seconds",
        "model_cache_seconds",
        _number(float, 0.0),
        ChoiceDoc(
            "model-cache-seconds",
            "seconds a `protocol` model cache stays warm after a create",
            "30",
            "any: only when a session is cold changes",
        ),
    ),
    (
        "rate-limit",
        "rate_limit",
        _number(float, 0.001, none=True),
        ChoiceDoc(
            "rate-limit",
            "`none` · requests a second over all operations (burst of one second); beyond it Code 100012",
            "none",
            "100012 at modest rates (10–20/s): back off, retry",
        ),
    ),
    (
        "retry-after",
        "retry_after",
        _number(int, 0, none=True),
        ChoiceDoc(
            "retry-after",
            "`none` · seconds, sent as `Retry-After` with every 100012",
            "none",
            "Retry-After honoured when present",
        ),
    ),
    (
        "channel-refusal",
        "channel_refusal",
        _one_of("message", "http"),
        ChoiceDoc(
            "channel-refusal",
            "`message` (the WebSocket is accepted, an error message with the code is sent, then a close 1008) · "
            "`http` (HTTP 403 with the JSON envelope before the upgrade)",
            "message",
            "either: the code in an error message, or the upgrade refused",
        ),
    ),
    (
        "second-channel",
        "second_channel",
        _one_of("replace", "refuse"),
        ChoiceDoc(
            "second-channel",
            "`replace` (a new channel to a session closes the old one, 1000) · `refuse` (the new one gets 110015)",
            "replace",
            "the new channel served and the old one closed, or the new one refused",
        ),
    ),
    (
        "audio-on-text-session",
        "audio_on_text_session",
        _one_of("wrong-time", "bad-parameter"),
        ChoiceDoc(
            "audio-on-text-session",
            "`wrong-time` (110015) · `bad-parameter` (100001): SEND_AUDIO on a DriverType 1 session",
            "wrong-time",
            "an error message with 110015 or 100001",
        ),
    ),
)
CHOICES: dict[str, ChoiceDoc] = {name: doc for name, _, _, doc in _TABLE}
_PARSERS = {name: (attr, parse) for name, attr, parse, _ in _TABLE}


@dataclass(frozen=True)
class Choices:
    """One answer per silent point of the docs; ``Choices()`` is the emulator's default.

    Build it from the names users type with :meth:`parse`:

    >>> Choices.parse({"session-id": "uuid", "cold-failure": "0.5"}).cold_failure
    0.5
    """

    error_status: str = "200"
    error_payload: str = "reqid"
    undocumented_method: str = "native"
    unreadable_body: str = "json"
    content_type: str = "any"
    empty_text: str = "accept"
    user_id_max: int | None = None
    unusual_ids: str = "accept"
    close_twice: str = "ok"
    list_closed: str = "no"
    play_addr_while_preparing: str = "yes"
    session_id: str = "hex"
    null_optional: str = "refuse"
    preempt_across: str = "yes"
    unknown_asset: str = "100001"
    cold_failure: float = 0.0
    model_cache: str = "user"
    model_cache_seconds: float = 30.0
    rate_limit: float | None = None
    retry_after: int | None = None
    channel_refusal: str = "message"
    second_channel: str = "replace"
    audio_on_text_session: str = "wrong-time"

    def __post_init__(self) -> None:
        for name, (attr, parse) in _PARSERS.items():
            object.__setattr__(self, attr, _checked(name, parse, getattr(self, attr)))

    @classmethod
    def parse(cls, pairs: Mapping[str, Any], base: Choices | None = None) -> Choices:
        """Choices from ``{"name": value}`` (CLI strings or TOML scalars), over ``base``."""
        values = {attr: getattr(base or cls(), attr) for attr, _ in _PARSERS.values()}
        for name, raw in pairs.items():
            if name not in _PARSERS:
                raise ConfigError(f"unknown emulator choice {name!r} (known: {', '.join(CHOICES)})")
            attr, parse = _PARSERS[name]
            values[attr] = _checked(name, parse, raw)
        return cls(**values)

    def changed(self) -> dict[str, str]:
        """The choices that differ from the default, by name, for the start-up line."""
        default = Choices()
        return {
            name: "none" if getattr(self, attr) is None else str(getattr(self, attr))
            for name, (attr, _) in _PARSERS.items()
            if getattr(self, attr) != getattr(default, attr)
        }

    def status_of(self, code: int) -> int:
        """The HTTP status of an answer carrying business error ``code``."""
        if self.error_status == "200":
            return 200
        if self.error_status == "4xx":
            return FOUR_XX.get(code, 400)
        return int(self.error_status)


def parse_pair(text: str) -> tuple[str, str]:
    """``"name=value"`` as typed after ``--choice``."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ConfigError(f"--choice takes NAME=VALUE, not {text!r}")
    return name.strip(), value.strip()


def _checked(name: str, parse: Callable[[Any], Any], raw: Any) -> Any:
    try:
        return parse(raw)
    except ValueError as exc:
        raise ConfigError(f"emulator choice {name} must be {exc}, not {raw!r}") from None


COLD_FAILURES: dict[int, str] = {
    Code.MODEL_LOAD_ERROR: "model load error",
    Code.STREAM_CREATION_TIMEOUT: "stream creation timed out",
    Code.NOT_ENOUGH_COMPUTE: "not enough compute",
}


def new_session_id(style: str) -> str:
    """A fresh SessionId in the format the ``session-id`` choice names."""
    if style == "uuid":
        return str(uuid.uuid4())
    if style == "short":
        return uuid.uuid4().hex[:8]
    if style == "long":
        return "".join(uuid.uuid4().hex for _ in range(4))
    return uuid.uuid4().hex
