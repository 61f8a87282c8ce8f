"""The OpenAPI spec, loaded once, handed out as compiled validators per operation.

Everything that checks a request or a response (the emulator, the gate, the load
scenarios) asks this module; no field list is restated anywhere else.

>>> spec = load_spec()
>>> spec.operation("createsession").path
'/v2/ivh/sessionmanager/sessionmanagerservice/createsession'
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ivhsuite.config import setting
from ivhsuite.errors import ConfigError
from ivhsuite.packaged import spec_file

SPEC_URI = "urn:ivhsuite:openapi"


def default_spec_path() -> Path:
    """The ``spec`` setting (``--spec``, ``$IVH_SPEC``, the config file) when set, else the packaged spec."""
    given = setting("spec")
    if given:
        return Path(given)
    return spec_file()


@dataclass(frozen=True)
class Violation:
    """One way a document breaks its schema, with the field it concerns."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def _field_of(error: ValidationError) -> str:
    """Name the field an error is about: the missing property, or the path to the value."""
    path = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "required" and isinstance(error.validator_value, list):
        missing = [name for name in error.validator_value if name not in (error.instance or {})]
        if missing:
            return ".".join(filter(None, [path, missing[0]]))
    return path or "(body)"


class SchemaCheck:
    """A compiled validator for one schema of the spec, fast on the valid documents.

    Two validators of the same schema. ``jsonschema_rs`` resolves every ``$ref`` once, when
    it is built, and says "valid" in about a microsecond: the emulator and the load users
    check every request and answer with it. ``jsonschema`` is the authority: it decides
    whenever the fast one says "invalid" (or cannot read the instance), and words the
    violation. The fast "valid" is trusted; where the two dialects differ it is stricter
    (Rust's ``$`` does not match before a final newline, Python's does), so every verdict
    is ``jsonschema``'s; ``tests/test_spec.py`` checks that a fast "valid" is never wrong.
    """

    def __init__(
        self, pointer: str, registry: Registry, document: Mapping[str, Any] | None = None, uri: str = SPEC_URI
    ) -> None:
        self.pointer = pointer
        self._validator = Draft202012Validator({"$ref": f"{uri}#{pointer}"}, registry=registry)
        self._fast = _fast_validator(document, pointer) if document is not None else None

    def is_valid(self, instance: Any) -> bool:
        return self._fast_says_valid(instance) or self._validator.is_valid(instance)

    def first_violation(self, instance: Any) -> Violation | None:
        """The most relevant violation, or None when the instance is valid."""
        if self._fast_says_valid(instance):
            return None
        error = best_match(self._validator.iter_errors(instance))
        if error is None:
            return None
        return Violation(_field_of(error), error.message)

    def _fast_says_valid(self, instance: Any) -> bool:
        if self._fast is None:
            return False
        try:
            return self._fast.is_valid(instance)
        except Exception:  # an instance it cannot convert (a huge int, a Python-only type): ask jsonschema
            return False


def _fast_validator(document: Mapping[str, Any], pointer: str) -> Any:
    """A ``jsonschema_rs`` validator of the schema at ``pointer``, or None when it cannot build one.

    The schema is the spec document itself with a ``$ref`` to the pointer at its root, so
    every local reference resolves inside it, once; the OpenAPI keys are unknown keywords.
    """
    root = {**document, "$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": f"#{pointer}"}
    try:
        return jsonschema_rs.validator_for(root, validate_formats=False)
    except Exception:  # a construct the Rust validator does not support: jsonschema alone serves
        return None


@dataclass(frozen=True)
class Operation:
    """One operation of the API: where it lives and how its bodies are checked."""

    operation_id: str
    path: str
    request: SchemaCheck
    payload: SchemaCheck
    response: SchemaCheck
    session_ref: str | None

    @property
    def takes_session(self) -> bool:
        """Whether the request names an existing SessionId (statsession, closesession, ...)."""
        return self.session_ref in ("uses", "closes")


class Spec:
    """The parsed spec: operations by id and by path, and the documented error codes."""

    def __init__(self, document: Mapping[str, Any], path: Path | None = None) -> None:
        self.document = document
        self.path = path
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        registry: Registry = Registry().with_resource(SPEC_URI, resource)
        self.error_codes: dict[int, str] = {int(k): v for k, v in document["x-error-codes"].items()}
        self.environmental_codes: frozenset[int] = frozenset(document["x-environmental-codes"]["codes"])
        self.session_state_codes: frozenset[int] = frozenset(document["x-session-state-codes"]["codes"])
        self._operations: dict[str, Operation] = {}
        for path_name, item in document["paths"].items():
            post = item["post"]
            body_ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            payload_ref = _payload_ref(document, body_ref)
            response_ref = post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            self._operations[post["operationId"]] = Operation(
                operation_id=post["operationId"],
                path=path_name,
                request=SchemaCheck(body_ref.removeprefix("#"), registry, document),
                payload=SchemaCheck(payload_ref.removeprefix("#"), registry, document),
                response=SchemaCheck(response_ref.removeprefix("#"), registry, document),
                session_ref=post.get("x-session-ref"),
            )
        self._by_path = {op.path: op for op in self._operations.values()}

    def operation(self, operation_id: str) -> Operation:
        try:
            return self._operations[operation_id]
        except KeyError:
            raise KeyError(f"no operation {operation_id!r} in the spec") from None

    def by_path(self, path: str) -> Operation | None:
        return self._by_path.get(path)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self._operations.values())

    @property
    def operation_ids(self) -> list[str]:
        return list(self._operations)


def _payload_ref(document: Mapping[str, Any], body_ref: str) -> str:
    """The ``$ref`` of a request envelope's Payload schema."""
    name = body_ref.rsplit("/", 1)[-1]
    return document["components"]["schemas"][name]["properties"]["Payload"]["$ref"]


def read_document(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read the spec {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"the spec {path} is not valid YAML: {exc}") from None


@functools.cache
def _load(path: Path) -> Spec:
    return Spec(read_document(path), path)


def load_spec(path: Path | str | None = None) -> Spec:
    """The spec at ``path`` (default: the repository's), parsed and compiled once per process."""
    return _load(Path(path) if path else default_spec_path())
