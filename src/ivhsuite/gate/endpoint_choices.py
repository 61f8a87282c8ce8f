"""The endpoint's choices where the docs are silent, as the emulator names them: spotted, recorded, compared.

Every answer of a run (generated or scenario) passes the :class:`Spotter`, which notes the
plausible answer the endpoint chose at each silent point it can tell apart from answers
that differ from the rest by that one trait (:mod:`ivhsuite.emulator.choices`):
:meth:`Spotter.see` takes a readable POST, :meth:`~Spotter.undocumented` a verb other than
POST or a path no operation has, :meth:`~Spotter.unreadable` a body that is not a JSON
object, :meth:`~Spotter.declared` a JSON body under another Content-Type, and the channel
scenarios tell it how a handshake, a second channel and audio on a text session were
refused. ``ivhsuite gate --record-choices FILE`` writes them in the emulator's config format
(``ivhsuite emulate --config FILE`` plays that endpoint offline); ``--expect-choices FILE``
compares: a choice seen otherwise than recorded is **drift**, one the run could not see is
"not observed", never drift.

Read apart:
- ``unusual-ids``: only from a statsession, startsession or closesession whose valid body
  holds nothing but a ReqId and a SessionId outside ``[A-Za-z0-9_-]`` (the scenarios send
  one): 100001 is then the id's alphabet, a session-state code means it was looked up. The
  run's UserIds are plain by design, so a UserId never votes.
- ``user-id-max``: learned only in a run that records or compares choices (``test_undocumented.py``,
  marked ``learns_choices``): creates that differ only by a plain UserId's length, halving between
  the run's own length and 256 (a few sessions, each closed at once). Where it was not learned it is
  compared by consistency: drift only when a create accepted a plain UserId longer than the recorded
  limit; otherwise "not observed".
- ``undocumented-method``: ``native`` and ``405`` differ only on a path no operation has, and
  ``native`` and ``404`` only on a verb: a value is kept only when the answers seen pin it.
- ``preempt-across``: only in a run that records or compares choices (it costs one more paid
  session and, when the kinds do not preempt each other, the whole preemption grace of 10 s to
  tell "no" from a slow "yes"): a createsessionbyasset with the UserId of a live session created
  by project (``test_preemption.py``, marked ``learns_choices``).

Measured over many answers and their times, not read off one (:mod:`ivhsuite.gate.measured_choices`):
``model-cache``, ``model-cache-seconds``, ``cold-failure`` and ``rate-limit``. The recording keeps
what they were measured from in a ``[measured]`` table, and they drift only when the two runs'
measurements cannot both come from one endpoint.
"""

from __future__ import annotations

import re
import threading
import time
import tomllib
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ivhsuite.emulator.choices import CHOICES, FOUR_XX, PLAIN_ID, Choices
from ivhsuite.errors import ConfigError
from ivhsuite.gate.measured_choices import MEASURED, MEASURES, OBSERVED_HERE, Measures
from ivhsuite.protocol import GONE_CODES, Answer, Code, SessionStatus

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_HEX = re.compile(r"^[0-9a-f]+$")
CLOSED_STATUSES = (SessionStatus.CLOSED, SessionStatus.FAILED)
_ON_SESSION = ("statsession", "startsession", "closesession")  # a Payload of a ReqId and a SessionId only
# Codes that say a SessionId was read and looked up, whatever its alphabet.
_LOOKED_UP = GONE_CODES | {Code.OK, Code.SESSION_NOT_READY, Code.SESSION_NOT_STARTED}
_AUDIO_ON_TEXT = {Code.WRONG_TIME: "wrong-time", Code.BAD_PARAMETER: "bad-parameter"}


@dataclass(frozen=True)
class Drift:
    """One choice compared with the recording: ``now`` None means the run could not observe it."""

    name: str
    was: str
    now: str | None
    detail: str = ""  # what was seen, e.g. the code

    @property
    def drifted(self) -> bool:
        return self.now is not None and self.now != self.was

    def __str__(self) -> str:
        if self.now is None:
            return f"{self.name}: was {self.was}, not observed"
        seen = f" ({self.detail})" if self.detail else ""
        return f"{self.name}: was {self.was}, now {self.now}{seen}"


class Spotter:
    """Thread-safe: schemathesis workers and the scenarios feed one per run."""

    def __init__(self) -> None:
        self._votes: dict[str, Counter[str]] = {}
        self._details: dict[tuple[str, str], str] = {}
        self._error_statuses: set[tuple[int, int]] = set()  # (Code, HTTP status) of every error answer
        self._closed_seen = False  # a session of ours was closed before some listing
        self._prepare: list[float] = []  # seconds cold sessions took to become ready
        self._undocumented: dict[str, Counter[str]] = {"verb": Counter(), "path": Counter()}
        self._longest_user_id = 0  # the longest plain UserId a create accepted
        self.measures = Measures()  # the choices measured over many answers and their times
        self._lock = threading.Lock()

    def _vote(self, name: str, value: str, detail: str = "") -> None:
        with self._lock:
            self._votes.setdefault(name, Counter())[value] += 1
            if detail:
                self._details.setdefault((name, value), detail)

    def see(
        self,
        operation: str,
        sent: dict[str, Any],
        answer: Answer,
        retry_after: str | None = None,
        *,
        closed_before: bool = False,
        valid: bool = True,
        span: tuple[float, float] | None = None,
    ) -> None:
        """One answer to a POST of a JSON object to ``operation`` (``sent``: the request's Payload).

        ``closed_before``: we had closed its SessionId; ``valid``: the whole body matched the spec;
        ``span``: when it was sent and answered (monotonic seconds; now, when not given).
        """
        if span is None:
            now = time.monotonic()
            span = (now, now)
        self.measures.see(operation, sent, answer, span)
        code = answer.code
        if code is not None and code != Code.OK and answer.status < 500:
            with self._lock:
                self._error_statuses.add((int(code), answer.status))
            self._error_payload(sent, answer)
            if code == Code.TOO_FREQUENT:
                self._vote("retry-after", retry_after.strip() if retry_after else "none")
        if operation == "closesession" and closed_before and (answer.ok or code in GONE_CODES):
            self._vote("close-twice", "ok" if answer.ok else "error", f"Code {code}")  # not a 100012: busy, not closed
        if operation in ("createsession", "createsessionbyasset"):
            self._create(operation, sent, answer)
        if operation == "listsessionofprojectid" and answer.ok:
            self._listing(answer)
        data = sent.get("Data")
        empty_text = valid and operation == "command" and isinstance(data, dict) and data.get("Text") == ""
        if empty_text and (answer.ok or code == Code.BAD_PARAMETER):
            self._vote("empty-text", "accept" if answer.ok else "refuse", f"Code {code}")
        if valid and operation in _ON_SESSION:
            self._unusual_id(sent, answer)
        self._nulls(sent, answer)

    def _unusual_id(self, sent: dict[str, Any], answer: Answer) -> None:
        """A SessionId outside ``[A-Za-z0-9_-]``, the one trait of an otherwise plain body: refused or looked up."""
        session_id = sent.get("SessionId")
        if set(sent) - {"ReqId", "SessionId"} or not isinstance(session_id, str) or not session_id:
            return
        if PLAIN_ID.fullmatch(session_id) or answer.status >= 500:
            return
        if answer.code == Code.BAD_PARAMETER:
            self._vote("unusual-ids", "refuse", f"SessionId {session_id!r}: Code {answer.code}")
        elif answer.code in _LOOKED_UP:
            self._vote("unusual-ids", "accept", f"SessionId {session_id!r}: Code {answer.code}")

    def undocumented(self, answer: Answer, *, unknown_path: bool) -> None:
        """An answer to a request no operation documents: a verb other than POST, or (``unknown_path``) a path."""
        status = answer.status
        if not answer.is_json_object and (status < 500 or status == 501):
            seen = "html"
        elif status in (404, 405, 501):
            seen = str(status)
        else:
            return  # a gateway's 502-504, or an answer no choice plays
        with self._lock:
            self._undocumented["path" if unknown_path else "verb"][seen] += 1

    def unreadable(self, answer: Answer) -> None:
        """An answer to a POST whose body is not a JSON object: the JSON envelope, or a gateway's page."""
        if answer.status < 500:
            self._vote("unreadable-body", "html" if answer.code is None else "json", f"HTTP {answer.status}")

    def declared(self, media_type: str, answer: Answer) -> None:
        """An answer to a JSON body sent as ``media_type``, not application/json: refused 415, or read anyway."""
        if media_type.split(";")[0].strip().lower() == "application/json" or answer.status >= 500:
            return
        if answer.status == 415:
            self._vote("content-type", "json", f"{media_type}: HTTP 415")
        elif answer.code is not None:
            self._vote("content-type", "any", f"{media_type}: HTTP {answer.status}, Code {answer.code}")

    def channel_refused(self, *, before_upgrade: bool, code: int | None) -> None:
        """A handshake the docs say is refused: by an HTTP status before the upgrade, or after it."""
        value = "http" if before_upgrade else "message"
        self._vote("channel-refusal", value, f"Code {code}" if code is not None else "no code")

    def second_channel(self, *, replaced: bool, code: int | None = None) -> None:
        """A second channel to a session: served while the first was closed, or refused."""
        self._vote("second-channel", "replace" if replaced else "refuse", f"Code {code}" if code is not None else "")

    def user_id_limit(self, longest: int | None, detail: str) -> None:
        """The longest plain UserId a create accepted, when a longer one was refused (None: no limit seen)."""
        self._vote("user-id-max", "none" if longest is None else str(longest), detail)

    def preempt_across(self, *, closed: bool, detail: str) -> None:
        """A create by asset with the UserId of a live session created by project closed it (or did not)."""
        self._vote("preempt-across", "yes" if closed else "no", detail)

    def audio_refused(self, code: int | None) -> None:
        """SEND_AUDIO on a DriverType 1 session was refused with ``code``."""
        if code in _AUDIO_ON_TEXT:
            self._vote("audio-on-text-session", _AUDIO_ON_TEXT[code], f"Code {code}")

    def _error_payload(self, sent: dict[str, Any], answer: Answer) -> None:
        body = answer.body if isinstance(answer.body, dict) else None
        if body is None or not isinstance(sent.get("ReqId"), str):
            return
        payload = body.get("Payload", None) if "Payload" in body else None
        if "Payload" not in body:
            self._vote("error-payload", "absent")
        elif payload == {}:
            self._vote("error-payload", "empty")
        elif isinstance(payload, dict) and payload.get("ReqId") == sent["ReqId"]:
            self._vote("error-payload", "reqid")

    def _create(self, operation: str, sent: dict[str, Any], answer: Answer) -> None:
        session_id = answer.payload.get("SessionId")
        if answer.ok and isinstance(session_id, str) and session_id:
            self._vote("session-id", _id_style(session_id))
            option = sent.get("ProtocolOption")
            css = isinstance(option, dict) and option.get("CssCustomPushUrl")
            if answer.payload.get("SessionStatus") == SessionStatus.PREPARING and not css:
                self._vote("play-addr-while-preparing", "yes" if "PlayStreamAddr" in answer.payload else "no")
            user_id = sent.get("UserId")
            if isinstance(user_id, str) and PLAIN_ID.fullmatch(user_id):
                with self._lock:  # its alphabet is plain: the length alone was accepted
                    self._longest_user_id = max(self._longest_user_id, len(user_id))
        key = sent.get("AssetVirtualmanKey")
        if operation == "createsessionbyasset" and key == "" and answer.code in (Code.BAD_PARAMETER, Code.ASSET_EXPIRED):
            self._vote("unknown-asset", str(int(answer.code)))

    def _listing(self, answer: Answer) -> None:
        sessions = answer.payload.get("Sessions")
        if not isinstance(sessions, list):
            return
        if any(isinstance(s, dict) and s.get("SessionStatus") in CLOSED_STATUSES for s in sessions):
            self._vote("list-closed", "yes")
        elif self._closed_seen:
            self._vote("list-closed", "no")

    def _nulls(self, sent: dict[str, Any], answer: Answer) -> None:
        if any(value is None for value in sent.values()) and (answer.ok or answer.code == Code.BAD_PARAMETER):
            missing_required = answer.code == Code.BAD_PARAMETER and "required" in answer.message.lower()
            if not missing_required:
                self._vote("null-optional", "absent" if answer.ok else "refuse")

    def closed_one(self) -> None:
        """A closesession of ours answered Code 0: later listings can tell whether closed sessions are listed."""
        self._closed_seen = True

    def ready_after(self, seconds: float) -> None:
        """A cold session of ours became ready ``seconds`` after its create answered."""
        with self._lock:
            self._prepare.append(seconds)

    def observed(self) -> dict[str, str]:
        """Each choice seen, by the emulator's name: the value most answers showed."""
        with self._lock:
            found = {name: votes.most_common(1)[0][0] for name, votes in self._votes.items()}
            statuses = set(self._error_statuses)
            verb, path = (self._undocumented[k].most_common(1) for k in ("verb", "path"))
        status = _error_status(statuses)
        if status is not None:
            found["error-status"] = status
        method = _undocumented_method(verb[0][0] if verb else None, path[0][0] if path else None)
        if method is not None:
            found["undocumented-method"] = method
        found.update({name: value for name, (value, _) in self.measures.observed().items()})
        return {name: found[name] for name in CHOICES if name in found}

    def longest_user_id(self) -> int:
        """The longest UserId of ``[A-Za-z0-9_-]`` a create accepted (0: none)."""
        with self._lock:
            return self._longest_user_id

    def detail(self, name: str, value: str) -> str:
        if name in OBSERVED_HERE:  # measured over the whole run: computed for these names only
            measured = self.measures.observed().get(name)
            return measured[1] if measured is not None and measured[0] == value else ""
        with self._lock:
            return self._details.get((name, value), "")

    def prepare_seconds(self) -> float | None:
        """The longest cold start seen, rounded up to a tenth of a second; None when no session was cold."""
        with self._lock:
            return round(max(self._prepare), 1) if self._prepare else None


def _id_style(session_id: str) -> str:
    if _UUID.match(session_id):
        return "uuid"
    if len(session_id) == 32 and _HEX.match(session_id):
        return "hex"
    return "short" if len(session_id) <= 16 else "long"


def _undocumented_method(verb: str | None, path: str | None) -> str | None:
    """The undocumented-method choice that the answers to a verb and to an unknown path pin, or None.

    ``native`` answers 405 to a verb and 404 to a path; ``405``/``404``/``501`` answer the same to both.
    """
    seen = {verb, path} - {None}
    if "html" in seen or "501" in seen:
        return "html" if "html" in seen else "501"
    if verb == "405":
        return {"404": "native", "405": "405"}.get(str(path))  # no path seen: native or 405, not pinned
    if verb == "404" or path == "405":
        return "404" if verb == "404" else "405"
    return None  # only a path's 404: native or 404


def _error_status(pairs: set[tuple[int, int]]) -> str | None:
    """The error-status choice the (Code, HTTP status) pairs fit: 200, the per-code 4xx table, or one fixed status."""
    if not pairs:
        return None
    statuses = {status for _, status in pairs}
    if statuses == {200}:
        return "200"
    if all(status == FOUR_XX.get(code, 400) for code, status in pairs) and len(statuses) > 1:
        return "4xx"
    if len(statuses) == 1:
        return str(next(iter(statuses)))
    return "4xx"


# --- the file ------------------------------------------------------------------------


def record(
    path: Path,
    observed: dict[str, str],
    *,
    base_url: str,
    quota: int | None,
    prepare: float | None,
    measured: Mapping[str, float | int] | None = None,
) -> None:
    """Write the emulator's config format: what was observed, the date and the endpoint's host as comments,
    and what the measured choices were measured from (``[measured]``, which the emulator ignores)."""
    host = urlsplit(base_url).hostname or base_url
    lines = [
        f"# The choices of {host}, recorded by ivhsuite gate on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "# Play it offline: ivhsuite emulate --config <this file>; compare: ivhsuite gate --expect-choices <this file>.",
        "# A choice the run could not observe is left out (the emulator's default plays it).",
    ]
    if quota:
        lines.append(f"quota = {quota}")
    if prepare is not None:
        lines.append(f"prepare-seconds = {prepare}  # the longest cold start measured")
    lines += ["", "[choices]"]
    lines += [f'{name} = "{value}"' for name, value in observed.items()]
    if measured:
        lines += ["", "# What the estimated choices above were measured from: --expect-choices compares with it."]
        lines += ["[measured]"] + [f"{key} = {value!r}" for key, value in measured.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def load_expected(path: Path) -> dict[str, str]:
    """The ``[choices]`` of a recording (or any emulator config file), checked as the emulator would."""
    choices = _table(path, "choices")
    Choices.parse(choices)  # an unknown name or value is the same one-line error as the emulator's
    return {name: _spelt(value) for name, value in choices.items()}


def load_measured(path: Path) -> dict[str, float]:
    """The ``[measured]`` table of a recording: what its estimated choices were measured from (empty if none)."""
    measured = _table(path, "measured")
    for key, value in measured.items():
        if key not in MEASURES or isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"--expect-choices {path}: [measured] {key} = {value!r} (known, each a number: {', '.join(MEASURES)})")
    return {key: float(value) for key, value in measured.items()}


def _table(path: Path, name: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read --expect-choices {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--expect-choices {path} is not valid TOML: {exc}") from None
    table = document.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"--expect-choices {path}: [{name}] must be a table of name = value")
    return table


def _spelt(value: Any) -> str:
    """A TOML value as the emulator's parser reads it, and :meth:`Spotter.observed` spells it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def compare(
    expected: Mapping[str, str],
    observed: Mapping[str, str],
    spotter: Spotter | None = None,
    measured: Mapping[str, float] | None = None,
) -> list[Drift]:
    """One :class:`Drift` per recorded choice, in the emulator's order: drifted, held, or not observed.

    ``measured``: the recording's ``[measured]`` table, which the measured choices are compared with.
    """
    rows = []
    for name in (n for n in CHOICES if n in expected):
        now, detail = observed.get(name), ""
        if spotter is None:
            pass
        elif name in MEASURED:
            now, detail = spotter.measures.compare(name, expected[name], measured or {})
        elif name == "user-id-max" and now is None:  # not learned: by consistency
            now, detail = _user_id_max(expected[name], spotter.longest_user_id())
        elif now is not None:
            detail = spotter.detail(name, now)
        rows.append(Drift(name, expected[name], now, detail))
    return rows


def _user_id_max(limit: str, longest: int) -> tuple[str | None, str]:
    """user-id-max by consistency: drift when a longer plain UserId was accepted, else not observed."""
    if limit.isdigit() and longest > int(limit):
        return f"over {limit}", f"a {longest}-character UserId accepted"
    return None, ""



def drift_junit(rows: list[Drift], path: Path, *, fail_on_drift: bool) -> Path:
    """One test case per recorded choice: drift fails it under --fail-on-drift (else it is skipped, named);
    a choice not observed is skipped."""
    suite = ET.Element("testsuite", name="ivhsuite-choices", tests=str(len(rows)))
    failures = skipped = 0
    for row in rows:
        case = ET.SubElement(suite, "testcase", classname="choices", name=row.name)
        if row.drifted and fail_on_drift:
            ET.SubElement(case, "failure", message=f"drift: {row}")
            failures += 1
        elif row.drifted or row.now is None:
            ET.SubElement(case, "skipped", message=f"drift: {row}" if row.drifted else str(row))
            skipped += 1
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode"), encoding="utf-8")
    return path
