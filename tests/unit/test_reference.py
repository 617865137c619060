"""The bundled discovery document against a checked-in summary of Google's published
reference (``tests/data/picker_reference.json``): every method, parameter, schema field, type
and output-only mark. A difference must be listed in the summary's ``differences`` with the
reason it is kept, so drift either way (a field added, dropped or changed in the document, or
a listed difference that no longer holds) fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from googleapiclient.errors import HttpError

import picker_discovery
from picker_discovery import _discovery as discovery
from picker_discovery.testing import FakeHttp

SUMMARY = Path(__file__).parent.parent / "data" / "picker_reference.json"


def summarize(document: dict[str, Any]) -> dict[str, Any]:
    """What the published reference says of each method and schema, read from a document."""
    methods: dict[str, Any] = {}
    for resource in document["resources"].values():
        for method in resource["methods"].values():
            entry: dict[str, Any] = {
                "httpMethod": method["httpMethod"],
                "path": method["path"],
                "parameterOrder": method.get("parameterOrder", []),
                "parameters": {
                    name: {
                        k: v
                        for k, v in spec.items()
                        if k in ("location", "type", "format", "required")
                    }
                    for name, spec in method.get("parameters", {}).items()
                },
                "response": method.get("response", {}).get("$ref"),
            }
            if "request" in method:
                entry["request"] = method["request"]["$ref"]
            methods[method["id"]] = entry
    schemas: dict[str, Any] = {}
    for name, schema in document["schemas"].items():
        fields: dict[str, Any] = {}
        for field, spec in schema.get("properties", {}).items():
            fields[field] = {
                k: v for k, v in spec.items() if k in ("type", "format", "$ref", "items", "enum")
            }
            if spec.get("readOnly"):
                fields[field]["outputOnly"] = True
        schemas[name] = fields
    return {"methods": methods, "schemas": schemas}


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(flatten(inner, f"{prefix}/{key}" if prefix else key))
        return out
    return {prefix: value}


def differences(reference: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    ours, theirs = flatten(document), flatten(reference)
    return {
        path: {"reference": theirs.get(path), "document": ours.get(path)}
        for path in sorted(set(ours) | set(theirs))
        if ours.get(path) != theirs.get(path)
    }


def test_the_document_matches_the_published_reference_but_for_listed_differences() -> None:
    summary = json.loads(SUMMARY.read_text(encoding="utf-8"))
    document, _ = discovery.load_document()
    found = differences(summary["reference"], summarize(document))
    listed = {
        d["path"]: {"reference": d["reference"], "document": d["document"]}
        for d in summary["differences"]
    }
    assert all(d["why"] for d in summary["differences"]), "say why each difference is kept"
    unlisted = {p: v for p, v in found.items() if listed.get(p) != v}
    stale = sorted(set(listed) - set(found))
    assert not unlisted, f"the document drifted from the reference: {unlisted}"
    assert not stale, f"listed differences that no longer hold: {stale}"


def test_output_only_fields_are_read_only_in_the_document() -> None:
    summary = json.loads(SUMMARY.read_text(encoding="utf-8"))
    document, _ = discovery.load_document()
    for schema, fields in summary["reference"]["schemas"].items():
        for field, spec in fields.items():
            marked = bool(document["schemas"][schema]["properties"][field].get("readOnly"))
            assert marked == bool(spec.get("outputOnly")), f"{schema}.{field}"


def test_a_missing_session_id_is_the_servers_to_refuse() -> None:

    service = picker_discovery.build(http=FakeHttp())
    request = service.mediaItems().list()  # googleapiclient lets it through, as the live doc does
    with pytest.raises(HttpError) as caught:
        request.execute()
    assert caught.value.status_code == 400
    assert json.loads(caught.value.content)["error"]["status"] == "INVALID_ARGUMENT"
