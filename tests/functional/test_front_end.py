"""The emulator handles requests as Google's front end does: chunked bodies, ``fields=``
partial responses on every method, and ``/batch``, through googleapiclient and raw HTTP."""

from __future__ import annotations

import http.client
import json
import socket
import uuid
from collections.abc import Iterator
from typing import Any
from unittest.mock import ANY

import pytest
import requests
from googleapiclient.errors import HttpError

import picker_discovery
from picker_discovery.testing import Emulator, FakeHttp

TOKEN = "front-user"

pytestmark = pytest.mark.usefixtures("no_proxy")


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as running:
        running.seed_library(TOKEN, count=60)
        yield running


@pytest.fixture
def service(emu: Emulator) -> Iterator[Any]:
    with emu.build(TOKEN) as built:
        yield built


def picked(emu: Emulator, service: Any, count: int = 3) -> str:
    session = service.sessions().create(body={}).execute()
    emu.pick(session["id"], first=count)
    return str(session["id"])


# -- chunked request bodies ---------------------------------------------------------------------


def test_a_chunked_body_is_read_and_the_connection_stays_usable(emu: Emulator) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    pieces = [b'{"pickingConfig": ', b'{"maxItemCount": ', b'"5"}}']
    conn.request("POST", "/v1/sessions", body=iter(pieces), headers=headers, encode_chunked=True)
    answer = conn.getresponse()
    session = json.loads(answer.read())
    assert answer.status == 200 and session["pickingConfig"]["maxItemCount"] == "5"
    # The same connection carries the next request (the body did not leak into it).
    conn.request("GET", f"/v1/sessions/{session['id']}", headers=headers)
    again = conn.getresponse()
    assert again.status == 200 and json.loads(again.read())["id"] == session["id"]
    conn.close()


def test_a_chunked_body_through_requests(emu: Emulator) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"pickingConfig": {"maxItemCount": "7"}}'

    answer = requests.post(
        f"{emu.url}v1/sessions", data=body(), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.request.headers.get("Transfer-Encoding") == "chunked"
    assert answer.status_code == 200 and answer.json()["pickingConfig"]["maxItemCount"] == "7"


def raw_exchange(emu: Emulator, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def test_chunk_extensions_and_trailers_are_read(emu: Emulator) -> None:
    first, second = b'{"pickingConfig', b'": {"maxItemCount": "4"}}'
    answer = raw_exchange(
        emu,
        b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer front-user\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + f"{len(first):x};ext=1\r\n".encode()
        + first
        + f"\r\n{len(second):X}\r\n".encode()
        + second
        + b"\r\n0\r\nX-Trailer: yes\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert b'"maxItemCount": "4"' in answer


@pytest.mark.parametrize(
    "chunks",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",
        b"2\r\n{}XX0\r\n\r\n",
        b"-2\r\n{}\r\n0\r\n\r\n",
        b"2;" + b"x" * 2000,
    ],
)
def test_a_malformed_chunked_body_is_a_400(emu: Emulator, chunks: bytes) -> None:
    answer = raw_exchange(
        emu,
        b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer front-user\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunks,
    )
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert emu.backend.sessions() == []


# -- fields= ------------------------------------------------------------------------------------


def test_fields_select_parts_of_every_method_through_googleapiclient(
    emu: Emulator, service: Any
) -> None:
    made = service.sessions().create(body={}, fields="id,pollingConfig/pollInterval").execute()
    assert set(made) == {"id", "pollingConfig"} and set(made["pollingConfig"]) == {"pollInterval"}
    got = service.sessions().get(sessionId=made["id"], fields="pollingConfig(timeoutIn)").execute()
    assert list(got) == ["pollingConfig"] and list(got["pollingConfig"]) == ["timeoutIn"]
    whole = service.sessions().get(sessionId=made["id"], fields="*").execute()
    assert whole == service.sessions().get(sessionId=made["id"]).execute() | {
        "pollingConfig": whole["pollingConfig"]
    }
    library = emu.library(TOKEN)
    videos = [i.id for i in library if i.is_video][:2]
    emu.pick(made["id"], [library[0].id, *videos, library[1].id])
    page = (
        service.mediaItems()
        .list(
            sessionId=made["id"],
            pageSize=2,
            fields="mediaItems(id,mediaFile/mimeType),nextPageToken",
        )
        .execute()
    )
    assert set(page) == {"mediaItems", "nextPageToken"} and len(page["mediaItems"]) == 2
    for item in page["mediaItems"]:
        assert set(item) == {"id", "mediaFile"} and set(item["mediaFile"]) == {"mimeType"}
    stars = service.mediaItems().list(sessionId=made["id"], fields="mediaItems/*").execute()
    assert set(stars) == {"mediaItems"} and {"id", "type", "mediaFile"} <= set(
        stars["mediaItems"][0]
    )
    meta = (
        service.mediaItems()
        .list(sessionId=made["id"], fields="mediaItems/mediaFile/mediaFileMetadata/*/fps")
        .execute()
    )
    full = service.mediaItems().list(sessionId=made["id"]).execute()["mediaItems"]
    assert {"PHOTO", "VIDEO"} == {i["type"] for i in full}
    for item, whole_item in zip(meta["mediaItems"], full, strict=True):
        # width, height, photoMetadata... are left out; a photo keeps nothing at all.
        if whole_item["type"] == "VIDEO":
            assert item == {"mediaFile": {"mediaFileMetadata": {"videoMetadata": {"fps": ANY}}}}
        else:
            assert item == {}
    assert service.sessions().delete(sessionId=made["id"], fields="*").execute() == {}


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ("nope", "nope"),
        ("id,pickerUrl", "pickerUrl"),
        ("id/value", "id/value"),
        ("pollingConfig(interval)", "pollingConfig/interval"),
        ("id(", "id("),
        ("id,,mediaItemsSet", "id,,mediaItemsSet"),
        ("pollingConfig)", ")"),
        ("id;drop", ";drop"),
    ],
)
def test_an_invalid_mask_is_googles_400_and_nothing_is_made(
    emu: Emulator, service: Any, fields: str, path: str
) -> None:
    with pytest.raises(HttpError) as caught:
        service.sessions().create(body={}, fields=fields).execute()
    error = json.loads(caught.value.content)["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert error["message"] == "Request contains an invalid argument."
    violation = error["details"][0]["fieldViolations"][0]
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert violation["field"] == fields
    assert f"Cannot find matching fields for path '{path}'" in violation["description"]
    assert emu.backend.sessions() == []


def test_fields_over_raw_http_and_in_process(emu: Emulator, service: Any) -> None:
    session_id = picked(emu, service)
    query = "sessionId=" + session_id + "&fields=mediaItems(type)"
    answer = requests.get(
        f"{emu.url}v1/mediaItems?{query}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 200
    assert [set(i) for i in answer.json()["mediaItems"]] == [{"type"}] * 3
    bad = requests.get(
        f"{emu.url}v1/mediaItems?sessionId={session_id}&fields=items",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert bad.status_code == 400 and bad.json()["error"]["status"] == "INVALID_ARGUMENT"
    http = FakeHttp(token=TOKEN)
    fake = picker_discovery.build(http=http)
    made = fake.sessions().create(body={}, fields="mediaItemsSet").execute()
    assert made == {"mediaItemsSet": False}


# -- /batch -------------------------------------------------------------------------------------


def test_a_googleapiclient_batch_goes_to_the_emulator(emu: Emulator, service: Any) -> None:
    session_id = picked(emu, service)
    emu.set_faults("sessions.delete", [503])
    answers: dict[str, tuple[Any, Any]] = {}

    def note(request_id: str, response: Any, exception: Any) -> None:
        answers[request_id] = (response, exception)

    batch = service.new_batch_http_request(callback=note)
    batch.add(
        service.sessions().get(sessionId=session_id, fields="id,mediaItemsSet"), request_id="get"
    )
    batch.add(service.mediaItems().list(sessionId=session_id), request_id="list")
    batch.add(service.sessions().get(sessionId="no-such-session"), request_id="missing")
    batch.add(service.sessions().delete(sessionId=session_id), request_id="delete")
    batch.add(
        service.sessions().create(body={"pickingConfig": {"maxItemCount": "2"}}),
        request_id="create",
    )
    batch.execute()
    assert answers["get"] == ({"id": session_id, "mediaItemsSet": True}, None)
    assert len(answers["list"][0]["mediaItems"]) == 3
    assert answers["missing"][1].status_code == 404
    assert answers["delete"][1].status_code == 503  # the part spent its method's fault
    assert answers["create"][0]["pickingConfig"] == {"maxItemCount": "2"}
    assert [a.method for a in emu.attempts() if a.method != "sessions.create"][-5:] == [
        "batch",
        "sessions.get",
        "mediaItems.list",
        "sessions.get",
        "sessions.delete",
    ]
    # The parts carried the service's own token (the outer request's would do as well).
    assert all(a.authorized for a in emu.attempts())


def test_the_batch_uri_follows_the_endpoint_not_the_documents_root(emu: Emulator) -> None:
    from google.oauth2.credentials import Credentials

    aimed = picker_discovery.build(
        credentials=Credentials(token=TOKEN), client_options={"api_endpoint": emu.url}
    )
    assert aimed.new_batch_http_request()._batch_uri == f"{emu.url}batch"
    plain = picker_discovery.build(credentials=Credentials(token=TOKEN))
    assert plain.new_batch_http_request()._batch_uri == "https://photospicker.googleapis.com/batch"


def multipart(parts: list[str], boundary: str = "b0undary") -> bytes:
    body = ""
    for index, part in enumerate(parts):
        body += (
            f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <item{index}>\r\n\r\n"
            f"{part}\r\n"
        )
    return (body + f"--{boundary}--\r\n").encode()


def post_batch(
    emu: Emulator, body: bytes, content_type: str = "multipart/mixed; boundary=b0undary"
) -> requests.Response:
    return requests.post(
        f"{emu.url}batch",
        data=body,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": content_type},
    )


def test_a_raw_batch_inherits_the_outer_headers_and_answers_each_part(
    emu: Emulator, service: Any
) -> None:
    session_id = picked(emu, service)
    answer = post_batch(
        emu,
        multipart(
            [
                f"GET /v1/sessions/{session_id}?fields=mediaItemsSet HTTP/1.1\r\n",
                "POST /v1/sessions HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
                '{"pickingConfig": {"maxItemCount": "0"}}',
                f"GET /v1/sessions/{session_id} HTTP/1.1\r\nAuthorization: Bearer someone-else\r\n",
            ]
        ),
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("multipart/mixed; boundary=")
    text = answer.text
    assert text.count("Content-Type: application/http") == 3
    ids = [line for line in text.splitlines() if line.startswith("Content-ID:")]
    assert ids == [f"Content-ID: <response-item{i}>" for i in range(3)]
    statuses = [line for line in text.splitlines() if line.startswith("HTTP/1.1 ")]
    assert statuses == ["HTTP/1.1 200 OK", "HTTP/1.1 400 Bad Request", "HTTP/1.1 404 Not Found"]
    assert '"mediaItemsSet": true' in text


@pytest.mark.parametrize(
    ("body", "content_type", "says"),
    [
        (b'{"a": 1}', "application/json", "multipart/mixed"),
        (multipart([]), "multipart/mixed; boundary=b0undary", "no requests"),
        (multipart(["GET /batch HTTP/1.1\r\n"]), "multipart/mixed; boundary=b0undary", "nested"),
        (multipart(["hello\r\n"]), "multipart/mixed; boundary=b0undary", "request line"),
        (
            multipart(["GET /v1/sessions/x HTTP/1.1\r\n"] * 1001),
            "multipart/mixed; boundary=b0undary",
            "at most 1000",
        ),
    ],
)
def test_a_bad_batch_is_a_400(emu: Emulator, body: bytes, content_type: str, says: str) -> None:
    answer = post_batch(emu, body, content_type)
    assert answer.status_code == 400, answer.text
    assert says in answer.json()["error"]["message"]
    assert emu.attempts("sessions.get") == []


def test_a_fault_on_the_batch_fails_it_whole(emu: Emulator, service: Any) -> None:
    emu.set_faults("batch", [503])
    batch = service.new_batch_http_request()
    batch.add(service.sessions().create(body={}), request_id=str(uuid.uuid4()))
    with pytest.raises(HttpError) as caught:
        batch.execute()
    assert caught.value.status_code == 503
    assert emu.backend.sessions() == []
