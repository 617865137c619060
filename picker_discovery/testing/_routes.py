"""The methods of a discovery document, and which of them a request URL calls.

The stubber's routing: it knows the document only, never the client, so any service built
from the same document is recognised (``POST …/v1/sessions`` is ``photospicker.sessions.create``).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Route", "Routes"]


@dataclass(frozen=True)
class Route:
    """One method of the document: its id, HTTP method, URL pattern and description."""

    id: str
    http_method: str
    pattern: re.Pattern[str]
    description: Mapping[str, Any]

    @property
    def short(self) -> str:
        """The id without the API name: ``sessions.get``."""
        return self.id.split(".", 1)[-1]

    @property
    def parameters(self) -> Mapping[str, Any]:
        params: Mapping[str, Any] = self.description.get("parameters", {})
        return params

    def schema(self, role: str) -> str | None:
        """The schema name of the method's ``"request"`` or ``"response"``, if it has one."""
        ref = self.description.get(role, {}).get("$ref")
        return ref if isinstance(ref, str) else None


class Routes:
    """Every method of a document by id."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.api = str(document.get("name"))
        self.standard_parameters: Mapping[str, Any] = document.get("parameters", {})
        self.by_id: dict[str, Route] = {}
        self._walk(document.get("resources", {}))

    def _walk(self, resources: Mapping[str, Any]) -> None:
        for resource in resources.values():
            for description in resource.get("methods", {}).values():
                self.by_id[description["id"]] = Route(
                    description["id"],
                    description["httpMethod"].upper(),
                    _path_pattern(description["path"]),
                    description,
                )
            self._walk(resource.get("resources", {}))

    def find(self, name: str) -> Route:
        """The method named by its id or its short name; a ``ValueError`` lists them all."""
        route = self.by_id.get(name) or self.by_id.get(f"{self.api}.{name}")
        if route is None:
            raise ValueError(
                f"{name!r} is not a method of the {self.api} document; use one of "
                f"{', '.join(self.by_id)} (or without the API name: "
                f"{', '.join(r.short for r in self.by_id.values())})"
            )
        return route

    def spec(self, route: Route, name: str) -> Mapping[str, Any] | None:
        """The description of the parameter ``name`` of ``route`` (or a standard one)."""
        found: Mapping[str, Any] | None = route.parameters.get(name)
        return found if found is not None else self.standard_parameters.get(name)

    def match(
        self, uri: str, method: str, body: bytes | str | None
    ) -> tuple[Route, dict[str, Any]] | None:
        """The method a request calls and the parameters it was called with, as a caller
        passes them to googleapiclient (``{"sessionId": "s1", "pageSize": 100}``, ``"body"``
        parsed from JSON); googleapiclient's ``alt=json`` is left out. None if no method."""
        parts = urllib.parse.urlsplit(uri)
        for route in self.by_id.values():
            found = route.pattern.search(parts.path)
            if found is None or route.http_method != method.upper():
                continue
            params: dict[str, Any] = {
                k: urllib.parse.unquote(v) for k, v in found.groupdict().items()
            }
            for name, values in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items():
                if name == "alt" and values == ["json"]:
                    continue  # googleapiclient sends it on every call
                spec = self.spec(route, name) or {}
                typed = [_typed(spec, v) for v in values]
                params[name] = typed if spec.get("repeated") or len(typed) > 1 else typed[0]
            if body:
                text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
                try:
                    params["body"] = json.loads(text)
                except ValueError:
                    params["body"] = text
            return route, params
        return None


def _path_pattern(template: str) -> re.Pattern[str]:
    """A pattern for URL paths ending in ``template`` (``{name}`` is one segment, ``{+name}``
    any text)."""
    pattern = ""
    for piece in re.split(r"(\{\+?[A-Za-z0-9_]+\})", template.lstrip("/")):
        if piece.startswith("{"):
            name = piece.strip("{}+")
            pattern += f"(?P<{name}>.+)" if piece.startswith("{+") else f"(?P<{name}>[^/]+)"
        else:
            pattern += re.escape(piece)
    return re.compile(f"(?:^|/){pattern}$")


def _typed(spec: Mapping[str, Any], value: str) -> Any:
    """A query parameter's text as the value a caller passes (``pageSize=100`` -> 100)."""
    kind = spec.get("type")
    if kind == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value
