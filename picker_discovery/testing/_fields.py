"""Partial responses: the ``fields=`` query parameter every Google API takes.

Google's syntax (https://developers.google.com/photos/overview/best-practices and every
API's "performance tips" page): a comma-separated list of fields; ``a/b`` selects ``b`` inside
``a``; ``a(b,c)`` selects ``b`` and ``c`` inside ``a``; ``*`` is every field at its level; a
selection inside an array applies to each element. A mask naming a field the answer's schema
does not have (or a sub-field of a field that has none) is refused before the method runs,
with the body Google's front end sends: 400 ``INVALID_ARGUMENT`` "Request contains an invalid
argument." and a ``BadRequest`` detail whose violation says "Error expanding 'fields'
parameter. Cannot find matching fields for path '...'." (as seen in public reports).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from picker_discovery.testing._api_errors import ApiError

__all__ = ["Mask", "parse_mask", "select"]

# A selection: field name -> what to select inside it ({} for the whole field).
Mask = dict[str, "Mask"]

_TOKEN_RE = re.compile(r"\s*(?:(?P<name>[A-Za-z_$][A-Za-z0-9_$]*|\*)|(?P<op>[,/()]))")
MAX_MASK = 2048


def _invalid(fields: str, path: str) -> ApiError:
    return ApiError(
        "INVALID_ARGUMENT",
        "Request contains an invalid argument.",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [
                    {
                        "field": fields,
                        "description": "Error expanding 'fields' parameter. Cannot find "
                        f"matching fields for path '{path}'.",
                    }
                ],
            }
        ],
    )


def _tokens(fields: str) -> list[str]:
    out: list[str] = []
    at = 0
    text = fields.rstrip()
    while at < len(text):
        found = _TOKEN_RE.match(text, at)
        if found is None or found.end() == at:
            raise _invalid(fields, text[at:] or fields)
        out.append(found.group("name") or found.group("op"))
        at = found.end()
    return out


def _merge(into: Mask, name: str, inner: Mask) -> None:
    """Add ``name`` selecting ``inner`` (``{}``: all of it) to ``into``."""
    if name in into:
        if not into[name] or not inner:  # the whole field wins over part of it
            into[name] = {}
        else:
            for key, value in inner.items():
                _merge(into[name], key, value)
    else:
        into[name] = inner


def parse_mask(fields: str) -> Mask:
    """The selection ``fields`` describes; ``ApiError`` (Google's 400) if it is malformed."""
    if len(fields) > MAX_MASK:
        raise _invalid(fields[:MAX_MASK], fields[:40])
    tokens = _tokens(fields)
    position = 0

    def selection(depth: int) -> Mask:
        nonlocal position
        mask: Mask = {}
        while True:
            path: list[str] = []
            while True:
                if position >= len(tokens) or tokens[position] in ",/()":
                    raise _invalid(fields, "/".join(path) or fields)
                path.append(tokens[position])
                position += 1
                if position < len(tokens) and tokens[position] == "/":
                    position += 1
                    continue
                break
            inner: Mask = {}
            if position < len(tokens) and tokens[position] == "(":
                position += 1
                inner = selection(depth + 1)
                if position >= len(tokens) or tokens[position] != ")":
                    raise _invalid(fields, "/".join(path))
                position += 1
            for name in reversed(path[1:]):
                inner = {name: inner}
            _merge(mask, path[0], inner)
            if position < len(tokens) and tokens[position] == ",":
                position += 1
                continue
            if depth and position < len(tokens) and tokens[position] == ")":
                return mask
            if position < len(tokens):
                raise _invalid(fields, tokens[position])
            if depth:
                raise _invalid(fields, fields)
            return mask

    if not tokens:
        raise _invalid(fields, fields)
    return selection(0)


def check_mask(
    mask: Mask, schema: str, schemas: Mapping[str, Any], fields: str, prefix: str = ""
) -> None:
    """Refuse a selection naming a field ``schema`` does not have (Google's 400)."""
    properties: Mapping[str, Any] = schemas.get(schema, {}).get("properties", {})
    for name, inner in mask.items():
        path = f"{prefix}{name}"
        if name == "*":
            targets = list(properties.values())
        elif name in properties:
            targets = [properties[name]]
        else:
            raise _invalid(fields, path)
        if not inner:
            continue
        refs = [spec.get("$ref") or spec.get("items", {}).get("$ref") for spec in targets]
        problems: list[ApiError] = []
        for ref in refs:
            try:
                if ref is None:
                    raise _invalid(fields, f"{path}/{next(iter(inner))}")
                check_mask(inner, ref, schemas, fields, f"{path}/")
            except ApiError as exc:
                problems.append(exc)
        # `*/x` asks inside whichever fields have an `x`: one of them must.
        if problems and (name != "*" or len(problems) == len(refs)):
            raise problems[0]


def select(value: Any, mask: Mask) -> Any:
    """``value`` with only the fields ``mask`` selects (each element of an array alike)."""
    if not mask:
        return value
    if isinstance(value, list):
        return [select(v, mask) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key not in mask and "*" not in mask:
            continue
        inner = mask[key] if key in mask else mask["*"]
        if inner and not isinstance(item, (dict, list)):
            continue  # `*/x` skips plain values: they have no `x`
        chosen = select(item, inner)
        if inner and isinstance(item, dict) and not chosen:
            continue  # an object none of whose selected fields is set is left out
        out[key] = chosen
    return out
