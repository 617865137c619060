"""The bundled discovery document: what googleapiclient builds from it, and the API facts."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from googleapiclient.discovery import Resource, build_from_document
from googleapiclient.http import HttpMock

from picker_discovery import _discovery as discovery

SCOPE = "https://www.googleapis.com/auth/photospicker.mediaitems.readonly"
STANDARD_QUERY_PARAMETERS = {
    "$.xgafv",
    "access_token",
    "alt",
    "callback",
    "fields",
    "key",
    "oauth_token",
    "prettyPrint",
    "quotaUser",
    "uploadType",
    "upload_protocol",
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(discovery.BUNDLED_DOCUMENT.read_text("utf-8"))
    return parsed


@pytest.fixture(scope="module")
def service(document: dict[str, Any]) -> Resource:
    return build_from_document(document, http=HttpMock(None, {"status": "200"}))


def method(document: dict[str, Any], resource: str, name: str) -> dict[str, Any]:
    described: dict[str, Any] = document["resources"][resource]["methods"][name]
    return described


@pytest.mark.parametrize(
    ("call", "http_method", "path", "query"),
    [
        (lambda s: s.sessions().create(body={}), "POST", "/v1/sessions", {}),
        (
            lambda s: s.sessions().create(
                body={"pickingConfig": {"maxItemCount": "24"}},
                requestId="0f5c9a4e-2b7d-4c1e-9a3f-5d6e7f809a1b",
            ),
            "POST",
            "/v1/sessions",
            {"requestId": ["0f5c9a4e-2b7d-4c1e-9a3f-5d6e7f809a1b"]},
        ),
        (lambda s: s.sessions().get(sessionId="abc"), "GET", "/v1/sessions/abc", {}),
        (lambda s: s.sessions().delete(sessionId="abc"), "DELETE", "/v1/sessions/abc", {}),
        (
            lambda s: s.mediaItems().list(sessionId="abc", pageSize=100, pageToken="t"),
            "GET",
            "/v1/mediaItems",
            {"sessionId": ["abc"], "pageSize": ["100"], "pageToken": ["t"]},
        ),
    ],
    ids=["create", "create-with-config", "get", "delete", "list"],
)
def test_every_method_builds_its_url_and_http_method(
    service: Resource, call: Any, http_method: str, path: str, query: dict[str, list[str]]
) -> None:
    request = call(service)
    url = urlsplit(request.uri)
    assert request.method == http_method
    assert (url.scheme, url.netloc, url.path) == ("https", "photospicker.googleapis.com", path)
    assert parse_qs(url.query) == {**query, "alt": ["json"]}


def test_create_sends_max_item_count_as_a_json_string(service: Resource) -> None:
    request = service.sessions().create(body={"pickingConfig": {"maxItemCount": "24"}})
    assert json.loads(request.body) == {"pickingConfig": {"maxItemCount": "24"}}


def test_session_id_is_percent_encoded_in_the_path(service: Resource) -> None:
    assert urlsplit(service.sessions().get(sessionId="a/b c").uri).path == "/v1/sessions/a%2Fb%20c"


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.sessions().get(),
        lambda s: s.sessions().delete(),
    ],
    ids=["get", "delete"],
)
def test_the_session_id_is_required_before_anything_is_sent(service: Resource, call: Any) -> None:
    with pytest.raises(TypeError, match="sessionId"):
        call(service)


def test_unknown_parameters_are_refused(service: Resource) -> None:
    with pytest.raises(TypeError, match="pageSise"):
        service.mediaItems().list(sessionId="abc", pageSise=10)


def test_service_facts(document: dict[str, Any]) -> None:
    assert (document["name"], document["version"], document["id"]) == (
        "photospicker",
        "v1",
        "photospicker:v1",
    )
    assert document["rootUrl"] == "https://photospicker.googleapis.com/"
    assert document["mtlsRootUrl"] == "https://photospicker.mtls.googleapis.com/"
    assert document["servicePath"] == ""
    assert document["batchPath"] == "batch"
    assert document["revision"].isdigit()
    assert list(document["auth"]["oauth2"]["scopes"]) == [SCOPE]
    assert set(document["parameters"]) == STANDARD_QUERY_PARAMETERS
    assert {name: set(r["methods"]) for name, r in document["resources"].items()} == {
        "sessions": {"create", "get", "delete"},
        "mediaItems": {"list"},
    }


@pytest.mark.parametrize(
    ("resource", "name", "method_id", "http_method", "path", "response"),
    [
        ("sessions", "create", "photospicker.sessions.create", "POST", "v1/sessions", "PickingSession"),
        ("sessions", "get", "photospicker.sessions.get", "GET", "v1/sessions/{sessionId}", "PickingSession"),
        ("sessions", "delete", "photospicker.sessions.delete", "DELETE", "v1/sessions/{sessionId}", "Empty"),
        ("mediaItems", "list", "photospicker.mediaItems.list", "GET", "v1/mediaItems", "ListMediaItemsResponse"),
    ],
)  # fmt: skip
def test_method_facts(
    document: dict[str, Any],
    resource: str,
    name: str,
    method_id: str,
    http_method: str,
    path: str,
    response: str,
) -> None:
    described = method(document, resource, name)
    assert described["id"] == method_id
    assert described["httpMethod"] == http_method
    assert described["path"] == described["flatPath"] == path
    assert described["response"] == {"$ref": response}
    assert described["scopes"] == [SCOPE]


def test_parameter_facts(document: dict[str, Any]) -> None:
    create = method(document, "sessions", "create")
    assert create["request"] == {"$ref": "PickingSession"}
    assert create["parameters"]["requestId"] == {
        **create["parameters"]["requestId"],
        "location": "query",
        "type": "string",
    }
    assert "required" not in create["parameters"]["requestId"]
    for name in ("get", "delete"):
        session_id = method(document, "sessions", name)["parameters"]["sessionId"]
        assert (session_id["location"], session_id["required"]) == ("path", True)
    listing = method(document, "mediaItems", "list")["parameters"]
    # As the live document: not required (the service refuses a missing id), not ordered.
    assert listing["sessionId"]["location"] == "query" and "required" not in listing["sessionId"]
    assert method(document, "mediaItems", "list")["parameterOrder"] == []
    assert (listing["pageSize"]["type"], listing["pageSize"]["format"]) == ("integer", "int32")
    assert listing["pageToken"]["type"] == "string"


def test_schema_facts(document: dict[str, Any]) -> None:
    schemas = document["schemas"]
    assert set(schemas) == {
        "PickingSession",
        "PollingConfig",
        "PickingConfig",
        "ListMediaItemsResponse",
        "PickedMediaItem",
        "MediaFile",
        "MediaFileMetadata",
        "PhotoMetadata",
        "VideoMetadata",
        "Empty",
    }
    session = schemas["PickingSession"]["properties"]
    read_only = {name for name, p in session.items() if p.get("readOnly")}
    assert read_only == {"id", "pickerUri", "pollingConfig", "expireTime", "mediaItemsSet"}
    assert session["expireTime"]["format"] == "google-datetime"
    polling = schemas["PollingConfig"]["properties"]
    assert {p["format"] for p in polling.values()} == {"google-duration"}
    max_items = schemas["PickingConfig"]["properties"]["maxItemCount"]
    assert (max_items["type"], max_items["format"]) == ("string", "int64")
    item = schemas["PickedMediaItem"]["properties"]
    assert set(item) == {"id", "createTime", "type", "mediaFile"}
    assert item["createTime"]["format"] == "google-datetime"
    assert item["type"]["enum"] == ["TYPE_UNSPECIFIED", "PHOTO", "VIDEO"]
    video = schemas["VideoMetadata"]["properties"]["processingStatus"]
    assert video["enum"] == ["UNSPECIFIED", "PROCESSING", "READY", "FAILED"]
    for enum_property in (item["type"], video):
        assert len(enum_property["enumDescriptions"]) == len(enum_property["enum"])
    assert set(schemas["MediaFile"]["properties"]) == {
        "baseUrl",
        "mimeType",
        "filename",
        "mediaFileMetadata",
    }
    metadata = schemas["MediaFileMetadata"]["properties"]
    assert metadata["photoMetadata"] == {**metadata["photoMetadata"], "$ref": "PhotoMetadata"}
    assert metadata["videoMetadata"] == {**metadata["videoMetadata"], "$ref": "VideoMetadata"}
    photo = schemas["PhotoMetadata"]["properties"]
    assert photo["exposureTime"]["format"] == "google-duration"
    assert photo["isoEquivalent"]["type"] == "integer"
    assert schemas["Empty"]["properties"] == {}
    listing = schemas["ListMediaItemsResponse"]["properties"]
    assert listing["mediaItems"]["items"] == {"$ref": "PickedMediaItem"}


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document["resources"])
    walk(document["schemas"])
    assert refs
    assert set(refs) <= set(document["schemas"])


def test_the_bundled_document_passes_our_own_validation(document: dict[str, Any]) -> None:
    discovery.validate_document(document, "bundled")
