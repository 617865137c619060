"""Check JSON values against the ``schemas`` of a discovery document.

A small validator, just enough for the photospicker document: object, array, string, integer,
number and boolean types, ``$ref``, ``enum``, the formats ``int32``, ``int64`` (a decimal
string), ``float``/``double``, ``google-datetime`` (RFC 3339: a date and time that exist) and
``google-duration`` (seconds with up to nine fractional digits and an ``s`` suffix; both also
read by protobuf's well-known types, as the client reads them), and no unknown fields
(discovery schemas without ``additionalProperties`` are closed).

Some checks can be relaxed or added per call: ``allow_unknown_fields`` and
``allow_unknown_enums`` accept what a newer revision of the service may add (fields and enum
values this document does not know), and ``required`` names, per schema, the fields a value
must carry (discovery documents mark no schema field required; what the service always sends
is the caller's knowledge).

The fake backend checks every success answer with it, so an answer the real client could not
have received fails loudly in tests instead of passing silently::

    validator = SchemaValidator(document)
    validator.validate("PickingSession", body)   # raises SchemaError naming the bad field
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import duration_pb2, timestamp_pb2

from picker_discovery._errorbase import BadArgument, PickerError

__all__ = ["DATETIME_RE", "DURATION_RE", "SchemaError", "SchemaValidator"]

DATETIME_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
DURATION_RE = re.compile(r"^-?\d+(\.\d{1,9})?s$")
_INT64_RE = re.compile(r"^-?\d+$")
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


class SchemaError(PickerError, ValueError):
    """A value does not match its schema; ``path`` names the field (``$.mediaItems[0].id``)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class _Rules:
    allow_unknown_fields: bool = False
    allow_unknown_enums: bool = False
    required: Mapping[str, Collection[str]] = field(default_factory=dict)


_STRICT = _Rules()


class SchemaValidator:
    """Validate values against the named schemas of one discovery document."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        schemas = document.get("schemas")
        if not isinstance(schemas, Mapping):
            raise BadArgument("the discovery document has no schemas")
        self._schemas: Mapping[str, Any] = schemas

    @property
    def names(self) -> list[str]:
        """The schema names the document defines."""
        return sorted(self._schemas)

    def properties(self, schema_name: str) -> list[str]:
        """The field names of the object schema ``schema_name``."""
        return sorted(self._resolve({"$ref": schema_name}, schema_name).get("properties", {}))

    def validate(
        self,
        schema: str | Mapping[str, Any],
        value: Any,
        *,
        allow_unknown_fields: bool = False,
        allow_unknown_enums: bool = False,
        required: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """Raise :class:`SchemaError` unless ``value`` matches ``schema``.

        Args:
            schema: the name of one of the document's schemas, or a schema itself (such as a
                method parameter's description).
            allow_unknown_fields: accept object fields the schema does not describe.
            allow_unknown_enums: accept enum values the schema does not list.
            required: schema name -> fields a value of that schema must have, wherever it
                appears in ``value``.
        """
        rules = _Rules(allow_unknown_fields, allow_unknown_enums, dict(required or {}))
        top = {"$ref": schema} if isinstance(schema, str) else schema
        self._check(top, value, "$", rules)

    def is_valid(self, schema: str | Mapping[str, Any], value: Any, **options: Any) -> bool:
        """Whether ``value`` matches ``schema`` (the options of :meth:`validate` apply)."""
        try:
            self.validate(schema, value, **options)
        except SchemaError:
            return False
        return True

    def _resolve(self, schema: Mapping[str, Any], path: str) -> Mapping[str, Any]:
        seen: set[str] = set()
        while "$ref" in schema:
            name = schema["$ref"]
            if name in seen or name not in self._schemas:
                raise SchemaError(path, f"refers to the unknown or cyclic schema {name!r}")
            seen.add(name)
            schema = self._schemas[name]
        return schema

    def _check(
        self, schema: Mapping[str, Any], value: Any, path: str, rules: _Rules = _STRICT
    ) -> None:
        name = schema.get("$ref")
        schema = self._resolve(schema, path)
        kind = schema.get("type")
        if kind == "object":
            self._check_object(schema, value, path, rules)
            for needed in rules.required.get(name, ()) if isinstance(name, str) else ():
                if needed not in value:
                    raise SchemaError(f"{path}.{needed}", f"is missing; every {name} has it")
        elif kind == "array":
            if not isinstance(value, list):
                raise SchemaError(path, f"expected an array, got {_kind(value)}")
            for index, item in enumerate(value):
                self._check(schema.get("items", {}), item, f"{path}[{index}]", rules)
        elif kind == "string":
            self._check_string(schema, value, path, rules)
        elif kind == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                raise SchemaError(path, f"expected an integer, got {_kind(value)}")
            low, high = _INT64 if schema.get("format") == "int64" else _INT32
            if schema.get("format") in ("uint32", "uint64"):
                low = 0
            if not low <= value <= high:
                raise SchemaError(path, f"{value} is out of range for {schema.get('format')}")
        elif kind == "number":
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise SchemaError(path, f"expected a number, got {_kind(value)}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                raise SchemaError(path, f"expected a boolean, got {_kind(value)}")
        elif kind == "any" or kind is None:
            return
        else:
            raise SchemaError(path, f"the schema has the unsupported type {kind!r}")

    def _check_object(
        self, schema: Mapping[str, Any], value: Any, path: str, rules: _Rules
    ) -> None:
        if not isinstance(value, Mapping):
            raise SchemaError(path, f"expected an object, got {_kind(value)}")
        properties: Mapping[str, Any] = schema.get("properties", {})
        additional = schema.get("additionalProperties")
        for key, item in value.items():
            if not isinstance(key, str):
                raise SchemaError(path, f"has the non-string key {key!r}")
            if key in properties:
                self._check(properties[key], item, f"{path}.{key}", rules)
            elif isinstance(additional, Mapping):
                self._check(additional, item, f"{path}.{key}", rules)
            elif not rules.allow_unknown_fields:
                raise SchemaError(f"{path}.{key}", "is not a field of this schema")

    def _check_string(
        self, schema: Mapping[str, Any], value: Any, path: str, rules: _Rules
    ) -> None:
        if not isinstance(value, str):
            raise SchemaError(path, f"expected a string, got {_kind(value)}")
        enum = schema.get("enum")
        if enum is not None and value not in enum and not rules.allow_unknown_enums:
            raise SchemaError(path, f"{value!r} is not one of {', '.join(enum)}")
        fmt = schema.get("format")
        if fmt in ("int64", "uint64"):
            if not _INT64_RE.match(value):
                raise SchemaError(path, f"{value!r} is not a decimal {fmt} string")
            low, high = (0, 2**64 - 1) if fmt == "uint64" else _INT64
            if not low <= int(value) <= high:
                raise SchemaError(path, f"{value!r} is out of range for {fmt}")
        elif fmt == "google-datetime":
            if not (DATETIME_RE.match(value) and _parses(timestamp_pb2.Timestamp(), value)):
                raise SchemaError(path, f"{value!r} is not an RFC 3339 timestamp")
        elif fmt == "google-duration" and not (
            DURATION_RE.match(value) and _parses(duration_pb2.Duration(), value)
        ):
            raise SchemaError(path, f"{value!r} is not a duration like '3.5s'")


def _parses(message: timestamp_pb2.Timestamp | duration_pb2.Duration, value: str) -> bool:
    """Whether protobuf's well-known type reads ``value`` as the service's JSON would be read
    (dates that exist, times within a day, durations within about 10,000 years)."""
    try:
        message.FromJsonString(value)
        if isinstance(message, timestamp_pb2.Timestamp):
            message.ToDatetime()
        else:
            message.ToTimedelta()
    except (ValueError, OverflowError):
        return False
    return True


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__
