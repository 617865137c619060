"""build(): a real googleapiclient Resource from the local document, with no network."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import google.auth.credentials
import google.oauth2.credentials
import pytest
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError, UnknownApiNameOrVersion
from googleapiclient.http import HttpMock, HttpMockSequence, HttpRequest
from googleapiclient.model import JsonModel

import picker_discovery
from picker_discovery import _discovery as discovery
from picker_discovery.testing import canned


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[Any]]:
    """Any attempt to open a connection fails the test; the user cache is empty."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise AssertionError(f"network access attempted: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: refuse(socket.socket(), a))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(discovery.ENV_VAR, raising=False)
    yield attempts
    assert attempts == []


def test_build_with_credentials_is_offline_and_scoped() -> None:
    credentials = google.oauth2.credentials.Credentials(token="t0k3n")
    service = picker_discovery.build(credentials=credentials)
    assert isinstance(service, Resource)
    request = service.sessions().create(body={})
    assert request.uri.startswith("https://photospicker.googleapis.com/v1/sessions")
    assert service._http.credentials is credentials


def test_build_without_credentials_uses_default_credentials_scoped_to_the_picker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    class Scopable(google.auth.credentials.AnonymousCredentials, google.auth.credentials.Scoped):
        def __init__(self) -> None:
            super().__init__()  # type: ignore[no-untyped-call]

        @property
        def requires_scopes(self) -> bool:
            return True

        def with_scopes(self, scopes: Any, default_scopes: Any = None) -> Any:
            seen["scopes"] = list(scopes)
            return google.auth.credentials.AnonymousCredentials()

    def fake_default(scopes: Any = None, **kwargs: Any) -> tuple[Any, None]:
        return Scopable(), None

    monkeypatch.setattr("google.auth.default", fake_default)
    picker_discovery.build()
    assert seen["scopes"] == [picker_discovery.SCOPE]


def test_build_works_with_http_mock() -> None:
    service = picker_discovery.build(http=canned.mock("sessions.get.picked"))
    session = service.sessions().get(sessionId=canned.SESSION_ID).execute()
    assert session["mediaItemsSet"] is True


def test_build_works_with_a_plain_googleapiclient_http_mock_sequence() -> None:
    http = HttpMockSequence(
        [
            ({"status": "200"}, json.dumps(canned.body("sessions.create"))),
            ({"status": "200"}, "{}"),
        ]
    )
    service = picker_discovery.build(http=http)
    created = service.sessions().create(body={}).execute()
    assert service.sessions().delete(sessionId=created["id"]).execute() == {}


def test_api_endpoint_points_the_service_at_an_emulator() -> None:
    service = picker_discovery.build(
        http=canned.mock("sessions.delete"),
        client_options={"api_endpoint": "http://127.0.0.1:8765/"},
    )
    assert (
        service.sessions().get(sessionId="s").uri.startswith("http://127.0.0.1:8765/v1/sessions/s")
    )


def test_with_build_closes_the_transport() -> None:
    http = canned.sequence("sessions.delete")
    with picker_discovery.build(http=http) as service:
        service.sessions().delete(sessionId="s").execute()
    assert http.closed


def test_build_passes_googleapiclient_options_through() -> None:
    class Recording(HttpRequest):  # type: ignore[misc]
        built: ClassVar[list[str]] = []

        def __init__(self, http: Any, postproc: Any, uri: str, **kwargs: Any) -> None:
            Recording.built.append(uri)
            super().__init__(http, postproc, uri, **kwargs)

    model = JsonModel(data_wrapper=False)
    service: Any = picker_discovery.build(  # a real Resource: its private _model is read
        http=canned.mock("sessions.delete"),
        developerKey="api-key",
        model=model,
        requestBuilder=Recording,
        num_retries=3,
        cache_discovery=False,
        cache=None,
        static_discovery=True,
    )
    request = service.sessions().delete(sessionId="s")
    assert "key=api-key" in request.uri
    assert Recording.built == [request.uri]
    assert service._model is model


@pytest.mark.parametrize(
    "kwargs",
    [{"discoveryServiceUrl": "https://example/{api}"}, {"static_discovery": False}],
)
def test_asking_to_fetch_the_document_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="never fetches"):
        picker_discovery.build(http=canned.mock("sessions.delete"), **kwargs)


def test_http_and_credentials_together_are_refused_like_googleapiclient() -> None:
    with pytest.raises(ValueError, match="mutually exclusive"):
        picker_discovery.build(
            http=HttpMock(None, {"status": "200"}),
            credentials=google.oauth2.credentials.Credentials(token="t"),
        )


def test_discovery_document_as_a_path_or_a_mapping(tmp_path: Path) -> None:
    document = json.loads(discovery.BUNDLED_DOCUMENT.read_text("utf-8"))
    document["rootUrl"] = "https://photospicker-staging.sandbox.googleapis.com/"
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document), "utf-8")
    from_path = picker_discovery.build(http=canned.mock("sessions.delete"), discovery_document=path)
    from_mapping = picker_discovery.build(
        http=canned.mock("sessions.delete"), discovery_document=document
    )
    for service in (from_path, from_mapping):
        uri = service.sessions().get(sessionId="s").uri
        assert uri.startswith("https://photospicker-staging.sandbox.googleapis.com/v1/")
    assert "body" not in document["resources"]["sessions"]["methods"]["create"]["parameters"]


def test_a_foreign_mapping_is_refused_before_building() -> None:
    with pytest.raises(picker_discovery.DiscoveryDocumentError, match="'drive'"):
        picker_discovery.build(
            http=canned.mock("sessions.delete"),
            discovery_document={"name": "drive", "version": "v3", "rootUrl": "https://x/"},
        )


def test_an_emulator_document_needs_its_host_allowed() -> None:
    document = json.loads(discovery.BUNDLED_DOCUMENT.read_text("utf-8"))
    document["rootUrl"] = "http://127.0.0.1:9000/"
    with pytest.raises(picker_discovery.DiscoveryDocumentError, match="allowed_hosts"):
        picker_discovery.build(http=canned.mock("sessions.delete"), discovery_document=document)
    service = picker_discovery.build(
        http=canned.mock("sessions.delete"),
        discovery_document=document,
        allowed_hosts=["127.0.0.1"],
    )
    assert service.sessions().get(sessionId="s").uri.startswith("http://127.0.0.1:9000/v1/")


def test_build_takes_googleapiclients_positional_name_and_version() -> None:
    service = picker_discovery.build("photospicker", "v1", http=canned.mock("sessions.delete"))
    assert service.sessions().delete(sessionId="s").execute() == {}
    named = picker_discovery.build(
        serviceName="photospicker", version="v1", http=canned.mock("sessions.delete")
    )
    assert isinstance(named, Resource)


@pytest.mark.parametrize(("name", "version"), [("drive", "v3"), ("photospicker", "v2")])
def test_build_refuses_another_api_as_googleapiclient_does(name: str, version: str) -> None:
    with pytest.raises(UnknownApiNameOrVersion, match=f"not '{name}' '{version}'") as refused:
        picker_discovery.build(name, version, http=canned.mock("sessions.delete"))
    assert isinstance(refused.value, picker_discovery.errors.BadArgument)


def test_the_plain_service_raises_typed_errors_through_http_mock() -> None:
    """Code written for googleapiclient gets SessionNotFound without a change."""
    http = HttpMock(None, {"status": "404"})
    http.data = json.dumps(canned.body("sessions.get.not_found")).encode()
    service = picker_discovery.build(http=http)
    with pytest.raises(picker_discovery.errors.SessionNotFound) as missing:
        service.sessions().get(sessionId="gone-id").execute()
    assert isinstance(missing.value, HttpError)
    assert missing.value.resp.status == 404
    assert missing.value.session_id == "gone-id"
    assert missing.value.method_id == "photospicker.sessions.get"


def test_the_plain_service_raises_typed_errors_through_http_mock_sequence() -> None:
    listing_too_early = canned.response("mediaItems.list.not_picked_yet").to_mock_pair()
    http = HttpMockSequence([listing_too_early, ({"status": "503"}, b"<html>busy</html>")])
    service = picker_discovery.build(http=http)
    with pytest.raises(picker_discovery.errors.FailedPrecondition) as early:
        service.mediaItems().list(sessionId="s1").execute()
    assert early.value.session_id == "s1"
    with pytest.raises(picker_discovery.errors.Unavailable):
        service.sessions().delete(sessionId="s1").execute()


def test_googleapiclients_own_request_class_still_gives_plain_http_errors() -> None:
    http = HttpMock(None, {"status": "404"})
    http.data = json.dumps(canned.body("sessions.get.not_found")).encode()
    service = picker_discovery.build(http=http, requestBuilder=HttpRequest)
    with pytest.raises(HttpError) as plain:
        service.sessions().get(sessionId="s").execute()
    assert type(plain.value) is HttpError
