"""What the docs leave open, decided in one place: the judge, the gate's scenarios and the emulator ask here.

A finding is a broken *documented* promise. Where the spec constrains nothing (it marks
such places ``x-undocumented`` and writes no rule), any plausible answer passes:

- a valid request touching an edge the spec leaves open (an empty string where no
  ``minLength`` is written, a value longer than 32 characters where no ``maxLength`` is,
  characters outside ``[A-Za-z0-9_.-]`` where no ``pattern`` is, a field whose shape is
  undocumented) may be accepted or refused with 100001;
- ``null`` in place of an optional field may be read as absent (accepted) or refused;
- an undocumented method may get 405, 501, 404 or a gateway's page; only a 500 is the
  server's own failure;
- 502, 503 and 504 are a gateway's words about the network, not the endpoint's contract;
- an unknown AssetVirtualmanKey may be refused with 100001 or with 100015 (as an expired asset);
- a value beyond a bound the spec takes from another product's pages (``x-silent-bounds``:
  TrtcRoomId 0, which TRTC reserves and the IVH page never mentions) may be refused or accepted.

What the gate notices here but cannot call a violation becomes an observation.

>>> undocumented_edges({"UserId": ""}, {"properties": {"UserId": {"type": "string"}}})
['empty UserId']
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ivhsuite.protocol import Code
from ivhsuite.retry import GATEWAY_STATUSES

NOT_IMPLEMENTED = 501
# Beyond this many characters a value with no documented maxLength is an edge: real services cap ids at 32 or 64.
ORDINARY_LENGTH = 32
ORDINARY_CHARACTERS = re.compile(r"^[A-Za-z0-9_.\-]*$")
# Free text fields: any character is ordinary there.
FREE_TEXT = frozenset({"Text", "ChatCommand"})
TOLERATED_REFUSALS = frozenset({Code.BAD_PARAMETER})
UNKNOWN_ASSET_CODES = frozenset({Code.BAD_PARAMETER, Code.ASSET_EXPIRED})


def is_server_failure(status: int, *, documented_method: bool = True) -> bool:
    """Whether an HTTP status breaks "never 5xx": a 500-class answer that is not a gateway's, nor a 501 to a method no one documented."""
    if status < 500 or status in GATEWAY_STATUSES:
        return False
    return documented_method or status != NOT_IMPLEMENTED


def is_gateway_answer(status: int) -> bool:
    """502/503/504: a proxy in front of the endpoint failed; environmental, never a finding."""
    return status in GATEWAY_STATUSES


def strip_nulls(value: Any) -> Any:
    """The value with every ``null`` object member removed: how most JSON decoders read an optional null."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def _resolve(schema: Any, document: Mapping[str, Any]) -> Any:
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 16:
        node: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
        seen += 1
    return schema


def undocumented_edges(value: Any, schema: Any, document: Mapping[str, Any] | None = None, name: str = "") -> list[str]:
    """The edges the spec leaves open that ``value`` touches, each in a few words."""
    doc = document or {}
    schema = _resolve(schema, doc)
    if not isinstance(schema, dict):
        return []
    found: list[str] = []
    if "x-undocumented" in schema and name:
        found.append(f"{name} ({schema['x-undocumented']})")
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key, item in value.items():
            sub = properties.get(key)
            if sub is None or (isinstance(sub, dict) and not sub.get("type") and not sub.get("$ref")):
                if sub is not None:  # a field whose shape the docs leave open (ExtraInfo)
                    found.append(f"{key} (shape undocumented)")
                continue
            found += undocumented_edges(item, sub, doc, key)
    elif isinstance(value, str) and name and "enum" not in schema and "const" not in schema:
        if value == "" and "minLength" not in schema and "pattern" not in schema:
            found.append(f"empty {name}")
        if len(value) > ORDINARY_LENGTH and "maxLength" not in schema and "pattern" not in schema:
            found.append(f"{name} of {len(value)} characters")
        if name not in FREE_TEXT and "pattern" not in schema and not ORDINARY_CHARACTERS.match(value):
            found.append(f"unusual characters in {name}")
    return found


def beyond_silent_bounds(value: Any, schema: Any, document: Mapping[str, Any], name: str = "") -> tuple[Any, list[str]]:
    """``value`` without the members beyond a spec bound but within its ``x-silent-bounds``, and those members' names.

    >>> room = {"type": "integer", "minimum": 1, "x-silent-bounds": {"minimum": 0}}
    >>> beyond_silent_bounds({"Room": 0, "Other": 2}, {"properties": {"Room": room}}, {})
    ({'Other': 2}, ['Room 0'])
    >>> beyond_silent_bounds({"Room": -1}, {"properties": {"Room": room}}, {})
    ({'Room': -1}, [])
    """
    schema = _resolve(schema, document)
    if not isinstance(value, dict) or not isinstance(schema, dict):
        return value, []
    properties = schema.get("properties") or {}
    kept: dict[str, Any] = {}
    found: list[str] = []
    for key, item in value.items():
        sub = _resolve(properties.get(key), document)
        if isinstance(sub, dict) and _breaks_only_silent_bound(item, sub):
            found.append(f"{key} {item}")
            continue
        kept[key], deeper = beyond_silent_bounds(item, sub, document, key)
        found += deeper
    return kept, found


def _breaks_only_silent_bound(value: Any, schema: Mapping[str, Any]) -> bool:
    """Outside the spec's minimum/maximum, inside the wider ones of ``x-silent-bounds``."""
    silent = schema.get("x-silent-bounds")
    if not isinstance(silent, dict) or isinstance(value, bool) or not isinstance(value, int | float):
        return False
    low, high = schema.get("minimum"), schema.get("maximum")
    outside = (low is not None and value < low) or (high is not None and value > high)
    wide_low, wide_high = silent.get("minimum", low), silent.get("maximum", high)
    inside_wide = (wide_low is None or value >= wide_low) and (wide_high is None or value <= wide_high)
    return outside and inside_wide


def payload_edges(body: Any, payload_schema: Any, document: Mapping[str, Any]) -> list[str]:
    """The open edges of a request envelope's Payload."""
    payload = body.get("Payload") if isinstance(body, dict) else None
    return undocumented_edges(payload, payload_schema, document) if isinstance(payload, dict) else []


def refuses_unknown_asset(code: int | None) -> bool:
    """Whether ``code`` is one of the plausible answers to an asset key the endpoint does not know."""
    return code in UNKNOWN_ASSET_CODES


def refusal_tolerated(code: int | None) -> bool:
    """A refusal the docs allow for a request at an open edge."""
    return code in TOLERATED_REFUSALS
