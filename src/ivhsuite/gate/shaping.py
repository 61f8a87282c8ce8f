"""Make generated requests realistic where the docs are silent, without changing what they test.

Schemathesis draws from the spec, which (rightly) leaves undocumented things open: any
string is a UserId, any Header goes. A real endpoint may refuse a 3,000-character
UserId or an unknown field, and the docs never promised otherwise, so a valid
("positive") case is shaped into what a real caller sends:

- the configured project id and asset key, a fresh ReqId, a UserId ``<run prefix><[A-Za-z0-9_-]>``;
- SessionId dropped from both create operations in SaaS mode (the public cloud refuses it);
- a SessionId the run never created becomes a plain 32-hex id (unknown, not malformed);
- a SessionId of a scenario's session (schemathesis reuses ids it read in listed sessions) becomes
  one too, in negative cases as well: the generated half never closes, starts or drives a session
  a scenario beside it is using;
- realistic TRTC and CSS values, ASCII texts of the same length, only documented fields
  (not SpeechParam, Backgrounds, Foregrounds: the fields of their objects are not in the spec).

A negative case keeps its violation: only values that are valid already are swapped
(for a fresh ReqId, the project id, the asset key and a prefixed UserId, so a session a lenient server
creates anyway can be found and closed). Derived values hash the generated ones, so a
seed reproduces a run.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from ivhsuite.config import DEFAULT_ASSET_KEY
from ivhsuite.spec import Spec

USER_ID_ALPHABET = re.compile(r"[^A-Za-z0-9_-]")
REQ_ID = re.compile(r"^[0-9a-fA-F]{32}$")
INTEGER_FIELDS = ("DriverType", "StreamMaxInterval", "TrtcRoomId", "TrtcAutoGenRoomIdType", "RoomId")
CREATES = ("createsession", "createsessionbyasset")
# Objects whose fields the spec leaves open: a real endpoint may refuse random ones, so a valid case leaves them out.
UNDOCUMENTED_OBJECTS = ("ExtraInfo", "SpeechParam", "Backgrounds", "Foregrounds")

CHAT_COMMANDS = ("NotUseChat", "")


def digest(value: object, size: int = 32) -> str:
    return hashlib.sha256(repr(value).encode("utf-8", "surrogatepass")).hexdigest()[:size]


def css_push_url(seed: object) -> str:
    """``rtmp://push.example.com/live/<id>?txSecret=<hex>&txTime=<HEX>``, as the docs describe."""
    h = digest(seed, 48)
    return f"rtmp://push.example.com/live/ivh{h[:8]}?txSecret={h[8:40]}&txTime={h[40:48].upper()}"


class Shaper:
    """Shapes bodies for one run: its project, mode and UserId prefix."""

    def __init__(
        self,
        spec: Spec,
        project_id: str,
        prefix: str,
        *,
        mode: str = "saas",
        user_id_max_length: int = 32,
        is_known_session: Callable[[str], bool] = lambda _: False,
        is_scenario_session: Callable[[str], bool] = lambda _: False,
        asset_key: str = DEFAULT_ASSET_KEY,
    ) -> None:
        self.spec = spec
        self.asset_key = asset_key
        self.project_id = project_id
        self.prefix = prefix
        self.mode = mode
        self.user_id_max_length = user_id_max_length
        self.is_known_session = is_known_session  # the generated half's own: kept in a valid case
        self.is_scenario_session = is_scenario_session  # a scenario's: never sent
        self._fields = {op.operation_id: _documented(spec.document, op.payload.pointer) for op in spec}

    def user_id(self, seed: object) -> str:
        room = self.user_id_max_length - len(self.prefix)
        tail = USER_ID_ALPHABET.sub("", seed if isinstance(seed, str) else "")[:room]
        return self.prefix + (tail or digest(seed, min(8, room)))

    def session_id(self, value: str) -> str:
        return value if self.is_known_session(value) else digest(value)

    def shape(self, operation_id: str, body: Any, *, positive: bool) -> Any:
        """The body to send instead of ``body`` (a new object; ``body`` is left as it was)."""
        if not isinstance(body, dict) or not isinstance(body.get("Payload"), dict):
            return body
        payload = dict(body["Payload"])
        self._common(operation_id, payload)
        if positive:
            payload = self._realistic(operation_id, payload)
            return {"Header": {}, "Payload": payload}
        return {**body, "Payload": payload}

    def _common(self, operation_id: str, p: dict[str, Any]) -> None:
        """Swaps that keep a value's validity: safe for negative cases too."""
        if isinstance(p.get("ReqId"), str) and REQ_ID.match(p["ReqId"]):
            p["ReqId"] = uuid.uuid4().hex
        if isinstance(p.get("VirtualmanProjectId"), str):
            p["VirtualmanProjectId"] = self.project_id
        if isinstance(p.get("AssetVirtualmanKey"), str):
            p["AssetVirtualmanKey"] = self.asset_key
        if operation_id in CREATES and isinstance(p.get("UserId"), str):
            p["UserId"] = self.user_id(p["UserId"])
        if (
            operation_id not in CREATES
            and isinstance(p.get("SessionId"), str)
            and self.is_scenario_session(p["SessionId"])
        ):
            p["SessionId"] = digest(p["SessionId"])  # valid as it was, and unknown: the scenario keeps its session

    def _realistic(self, operation_id: str, p: dict[str, Any]) -> dict[str, Any]:
        p = _only(p, self._fields[operation_id])
        for name in UNDOCUMENTED_OBJECTS:
            p.pop(name, None)
        for name in INTEGER_FIELDS:
            if isinstance(p.get(name), float) and p[name].is_integer():
                p[name] = int(p[name])  # 3.0 is an integer to JSON Schema, not to every parser
        if operation_id in CREATES:
            if self.mode == "saas":
                p.pop("SessionId", None)
            elif isinstance(p.get("SessionId"), str):
                p["SessionId"] = digest((self.prefix, p["SessionId"], uuid.uuid4().hex))
            if isinstance(p.get("ProtocolOption"), dict):
                p["ProtocolOption"] = _protocol_option(p["ProtocolOption"])
        elif isinstance(p.get("SessionId"), str):
            p["SessionId"] = self.session_id(p["SessionId"])
        if operation_id == "command" and isinstance(p.get("Data"), dict):
            p["Data"] = _data(p["Data"])
        return p


def _protocol_option(option: dict[str, Any]) -> dict[str, Any]:
    o = _only(option, _PROTOCOL_OPTION_FIELDS)
    seed = digest(option)
    if isinstance(o.get("TrtcAppId"), str):
        o["TrtcAppId"] = f"1400{int(seed[:8], 16) % 1_000_000:06d}"
    if isinstance(o.get("TrtcStrRoomId"), str):
        o["TrtcStrRoomId"] = f"room_{seed[8:20]}"
    if isinstance(o.get("TrtcUserSig"), str):
        o["TrtcUserSig"] = f"eJw{digest(('sig', seed), 40)}"
    if isinstance(o.get("TrtcPrivateMapKey"), str):
        o["TrtcPrivateMapKey"] = f"eJw{digest(('map', seed), 40)}"
    if isinstance(o.get("CssCustomPushUrl"), str):
        o["CssCustomPushUrl"] = css_push_url(seed)
    room = o.get("TrtcRoomId")
    if isinstance(room, float) and room.is_integer():
        room = o["TrtcRoomId"] = int(room)
    if isinstance(room, int) and not isinstance(room, bool) and room == 0:
        o["TrtcRoomId"] = 1  # whether room 0 exists is undocumented
    return o


def _data(data: dict[str, Any]) -> dict[str, Any]:
    d = _only(data, ("Text", "Interrupt", "ChatCommand"))
    if isinstance(d.get("Text"), str):
        # Same length, printable ASCII: characters = bytes = UTF-16 units, whatever the server counts.
        d["Text"] = "".join(c if " " <= c <= "~" else "x" for c in d["Text"])
    if isinstance(d.get("ChatCommand"), str):
        d["ChatCommand"] = CHAT_COMMANDS[len(d["ChatCommand"]) % 2]
    return d


_PROTOCOL_OPTION_FIELDS = (
    "TrtcUseExternalApp",
    "TrtcAppId",
    "TrtcRoomId",
    "TrtcStrRoomId",
    "TrtcAutoGenRoomIdType",
    "TrtcUserSig",
    "TrtcPrivateMapKey",
    "CssCustomPushUrl",
)


def _only(mapping: Mapping[str, Any], names: tuple[str, ...] | frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k in names}


def _documented(document: Mapping[str, Any], pointer: str) -> frozenset[str]:
    """The property names a Payload schema documents."""
    node: Any = document
    for part in pointer.strip("/").split("/"):
        node = node[part]
    return frozenset(node.get("properties", {}))
