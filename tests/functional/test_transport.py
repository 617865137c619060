"""googleapiclient and PickerClient against the fake through the in-process transport."""

from __future__ import annotations

import http.client
import io
import json
import urllib.parse
from typing import Any

import pytest
from googleapiclient.errors import HttpError
from PIL import Image

import picker_discovery
from picker_discovery._client import PickerClient
from picker_discovery._paging import MAX_PAGES
from picker_discovery.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    SessionNotFound,
    from_http_error,
)
from picker_discovery.testing import Backend, FakeHttp
from picker_discovery.testing.library import original_chunks

TOKEN = "fake-token"


def error_status(exc: HttpError) -> tuple[int, str]:
    body = json.loads(exc.content)
    assert set(body) == {"error"}
    assert set(body["error"]) <= {"code", "message", "status", "details"}
    assert body["error"]["code"] == exc.resp.status
    return exc.resp.status, body["error"]["status"]


def list_all(service: Any, session_id: str, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    request = service.mediaItems().list(sessionId=session_id, **kwargs)
    for _ in range(MAX_PAGES):  # a listing that never ends fails instead of hanging
        if request is None:
            return items
        page = request.execute()
        items.extend(page.get("mediaItems", []))
        request = service.mediaItems().list_next(request, page)
    raise AssertionError(f"the listing did not end after {MAX_PAGES} pages")


def test_whole_flow_through_build_and_picker_client(
    picker_backend: Backend, picker_http: FakeHttp, picker_service: Any
) -> None:
    session = picker_service.sessions().create(body={"pickingConfig": {"maxItemCount": "60"}})
    session = session.execute()
    assert session["mediaItemsSet"] is False
    picked = picker_backend.pick(session["id"])
    assert len(picked) == 60
    got = picker_service.sessions().get(sessionId=session["id"]).execute()
    assert got["mediaItemsSet"] is True
    items = list_all(picker_service, session["id"])
    assert [item["id"] for item in items] == picked
    client = PickerClient(picker_service)
    client.delete_session(session["id"])
    with pytest.raises(SessionNotFound):
        client.delete_session(session["id"])
    client.delete_session(session["id"], missing_ok=True)
    assert picker_http.paths()[:3] == [
        ("POST", "/v1/sessions"),
        ("GET", f"/v1/sessions/{session['id']}"),
        ("GET", "/v1/mediaItems"),
    ]
    assert picker_http.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(picker_http.requests[0].body) == {"pickingConfig": {"maxItemCount": "60"}}


def test_picker_client_fixture_deletes(picker_client: PickerClient) -> None:
    session = picker_client.service.sessions().create(body={}).execute()
    picker_client.delete_session(session["id"])
    with pytest.raises(SessionNotFound):
        picker_client.delete_session(session["id"])


def test_no_token_is_unauthenticated(picker_backend: Backend) -> None:
    service = picker_discovery.build(http=FakeHttp(picker_backend, token=None))
    with pytest.raises(HttpError) as caught:
        service.sessions().create(body={}).execute()
    assert error_status(caught.value) == (401, "UNAUTHENTICATED")
    assert "www-authenticate" in caught.value.resp


def test_documented_errors_over_http(picker_backend: Backend, picker_http: FakeHttp) -> None:
    service = picker_discovery.build(http=picker_http)
    session = service.sessions().create(body={}).execute()
    with pytest.raises(HttpError) as caught:
        service.mediaItems().list(sessionId=session["id"]).execute()
    assert error_status(caught.value) == (400, "FAILED_PRECONDITION")
    assert isinstance(from_http_error(caught.value), FailedPrecondition)
    picker_backend.pick(session["id"], first=3)
    with pytest.raises(HttpError) as caught:
        service.mediaItems().list(sessionId=session["id"], pageSize=-5).execute()
    assert isinstance(from_http_error(caught.value), InvalidArgument)
    with pytest.raises(HttpError) as caught:
        service.sessions().create(body={}, requestId="not-a-uuid").execute()
    assert error_status(caught.value) == (400, "INVALID_ARGUMENT")
    other = picker_discovery.build(http=picker_http.with_token("mallory"))
    with pytest.raises(HttpError) as caught:
        other.sessions().get(sessionId=session["id"]).execute()
    assert error_status(caught.value) == (404, "NOT_FOUND")
    picker_backend.expire_session(session["id"])
    with pytest.raises(HttpError) as caught:
        service.sessions().get(sessionId=session["id"]).execute()
    assert error_status(caught.value) == (403, "PERMISSION_DENIED")


def test_raw_http_quirks(picker_http: FakeHttp) -> None:
    root = "https://photospicker.googleapis.com"
    resp, content = picker_http.request(f"{root}/v1/sessions/abc/mediaItems")
    assert resp.status == 404
    assert resp["content-type"].startswith("text/html")
    assert b"That\xe2\x80\x99s an error" in content
    resp, content = picker_http.request(f"{root}/v1/mediaItems?sessionId=x&pageSize=ten")
    assert resp.status == 400 and json.loads(content)["error"]["status"] == "INVALID_ARGUMENT"
    resp, content = picker_http.request(f"{root}/v1/mediaItems?sessionId=x&bogus=1")
    assert resp.status == 400 and b"bogus" in content
    resp, content = picker_http.request(f"{root}/v1/sessions", "POST", body="{not json")
    assert resp.status == 400
    resp, content = picker_http.request(f"{root}/v1/sessions", "POST", body="")
    assert resp.status == 200 and json.loads(content)["mediaItemsSet"] is False
    resp, content = picker_http.request(f"{root}/v1/sessions", "PUT", body="")
    assert resp.status == 404
    resp, content = picker_http.request(f"{root}/$discovery/rest?version=v1")
    assert resp.status == 200 and json.loads(content)["rootUrl"] == f"{root}/"


def test_html_404_is_not_a_missing_session(picker_http: FakeHttp) -> None:
    resp, content = picker_http.request(
        "https://photospicker.googleapis.com/v1/sessions/abc/mediaItems"
    )
    error = from_http_error(HttpError(resp, content), session_id="abc")
    assert isinstance(error, NotFound) and not isinstance(error, SessionNotFound)


@pytest.fixture
def picked(picker_backend: Backend, picker_service: Any) -> dict[str, dict[str, Any]]:
    """A session with the whole library picked: its items by file name... and by kind."""
    session = picker_service.sessions().create(body={}).execute()
    picker_backend.pick(session["id"])
    items = list_all(picker_service, session["id"])
    by: dict[str, dict[str, Any]] = {"session": {"id": session["id"]}}
    for item in items:
        meta = item["mediaFile"]["mediaFileMetadata"]
        status = meta.get("videoMetadata", {}).get("processingStatus")
        key = (
            f"{item['type']}:{status}"
            if status
            else f"{item['type']}:{item['mediaFile']['mimeType']}"
        )
        by.setdefault(key, item)
    return by


def fetch(http: FakeHttp, url: str, **headers: str) -> tuple[Any, bytes]:
    resp, content = http.request(url, "GET", headers=headers)
    return resp, content


def png_size(content: bytes, fmt: str = "JPEG") -> tuple[int, int]:
    """The size of a resized image, which keeps the original's format (JPEG here)."""
    image = Image.open(io.BytesIO(content))
    assert image.format == fmt
    return image.size


def test_media_suffixes(picker_http: FakeHttp, picked: dict[str, dict[str, Any]]) -> None:
    photo = picked["PHOTO:image/jpeg"]
    base = photo["mediaFile"]["baseUrl"]
    width = photo["mediaFile"]["mediaFileMetadata"]["width"]
    height = photo["mediaFile"]["mediaFileMetadata"]["height"]
    resp, content = fetch(picker_http, f"{base}=w200-h200")
    assert resp.status == 200 and resp["content-type"] == "image/jpeg"
    got = png_size(content)
    assert max(got) == 200 and abs(got[0] / got[1] - width / height) < 0.02
    assert png_size(fetch(picker_http, f"{base}=w256-h100-c")[1]) == (256, 100)
    assert png_size(fetch(picker_http, f"{base}=w50")[1])[0] == 50
    assert png_size(fetch(picker_http, f"{base}=h40")[1])[1] == 40
    resp, content = fetch(picker_http, f"{base}=d")
    assert resp.status == 200 and resp["content-type"] == "image/jpeg"
    assert content[:3] == b"\xff\xd8\xff"  # a real JPEG starts the original bytes
    assert len(content) == int(resp["content-length"]) > 64 * 1024
    assert Image.open(io.BytesIO(content)).format == "JPEG"
    resp, _ = fetch(picker_http, f"{base}=dv")
    assert resp.status == 400  # =dv is for videos

    video = picked["VIDEO:READY"]
    vbase = video["mediaFile"]["baseUrl"]
    resp, content = fetch(picker_http, f"{vbase}=dv", range="bytes=0-31")
    assert resp.status == 206 and content[4:8] == b"ftyp"
    resp, content = fetch(picker_http, f"{vbase}=d")  # =d on a video gives an image
    assert resp.status == 200 and resp["content-type"] == "image/jpeg"
    for status in ("PROCESSING", "FAILED"):
        resp, content = fetch(
            picker_http, picked[f"VIDEO:{status}"]["mediaFile"]["baseUrl"] + "=dv"
        )
        assert resp.status == 400 and status.encode() in content
    resp, _ = fetch(picker_http, f"{base}=w10-x")
    assert resp.status == 400


def test_media_range_requests(
    picker_backend: Backend, picker_http: FakeHttp, picked: dict[str, dict[str, Any]]
) -> None:
    photo = picked["PHOTO:image/png"]
    base = photo["mediaFile"]["baseUrl"]
    whole = fetch(picker_http, f"{base}=d")[1]
    key = base.rsplit("/", 1)[1]
    item = picker_backend.media_item_for_key(TOKEN, key)
    assert whole == b"".join(original_chunks(item)) and len(whole) == item.size
    for header, start, end in [
        ("bytes=0-99", 0, 100),
        ("bytes=1000-", 1000, len(whole)),
        ("bytes=-500", len(whole) - 500, len(whole)),
        (f"bytes=65530-{65536 + 20}", 65530, 65537 + 20),
        (f"bytes={len(whole) - 1}-{len(whole) + 50}", len(whole) - 1, len(whole)),
    ]:
        resp, content = fetch(picker_http, f"{base}=d", range=header)
        assert resp.status == 206, header
        assert content == whole[start:end], header
        assert resp["content-range"] == f"bytes {start}-{end - 1}/{len(whole)}"
    resp, _ = fetch(picker_http, f"{base}=d", range=f"bytes={len(whole)}-")
    assert resp.status == 416 and resp["content-range"] == f"bytes */{len(whole)}"
    resp, content = fetch(picker_http, f"{base}=d", range="bytes=0-1,5-6")
    assert resp.status == 200 and content == whole  # several ranges: the whole body


def test_media_token_and_expiry(
    picker_backend: Backend, picker_http: FakeHttp, picked: dict[str, dict[str, Any]]
) -> None:
    base = picked["PHOTO:image/jpeg"]["mediaFile"]["baseUrl"]
    url = f"{base}=w64-h64"
    assert picker_http.with_token(None).request(url)[0].status == 401
    assert picker_http.with_token("mallory").request(url)[0].status == 403
    assert picker_http.request(url)[0].status == 200
    picker_backend.advance(3600)
    assert picker_http.request(url)[0].status == 403
    service = picker_discovery.build(http=picker_http)
    list_all(service, picked["session"]["id"])
    assert picker_http.request(url)[0].status == 200
    resp, _ = picker_http.request(url.replace("/ppa/", "/ppa/AGgFforged"))
    assert resp.status == 404


def test_faults_in_process(picker_backend: Backend, picker_http: FakeHttp) -> None:
    service = picker_discovery.build(http=picker_http)
    session = service.sessions().create(body={}).execute()
    picker_backend.set_faults(
        "sessions.get",
        [{"status": 503, "retry_after": 2}, {"drop": True}, {"truncate": True}, {"latency": 90}],
    )
    with pytest.raises(HttpError) as caught:
        service.sessions().get(sessionId=session["id"]).execute()
    assert error_status(caught.value) == (503, "UNAVAILABLE")
    assert caught.value.resp["retry-after"] == "2"
    with pytest.raises(http.client.RemoteDisconnected):
        service.sessions().get(sessionId=session["id"]).execute()
    with pytest.raises(http.client.IncompleteRead):
        service.sessions().get(sessionId=session["id"]).execute()
    before = picker_backend.now()
    got = service.sessions().get(sessionId=session["id"]).execute()
    assert (picker_backend.now() - before).total_seconds() == 90  # latency on the fake clock
    assert got["pollingConfig"]["timeoutIn"] == "1800s"  # answered on arrival, then delayed
    got = service.sessions().get(sessionId=session["id"]).execute()
    assert got["pollingConfig"]["timeoutIn"] == "1710s"
    attempts = picker_backend.attempts("sessions.get")
    assert len(attempts) == 5
    assert (attempts[4].time - attempts[3].time).total_seconds() == 90


def test_googleapiclient_retries_scripted_503s(
    picker_backend: Backend, picker_http: FakeHttp, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr("googleapiclient.http.time.sleep", sleeps.append)
    service = picker_discovery.build(http=picker_http)
    picker_backend.set_faults("sessions.create", [503, 503])
    session = service.sessions().create(body={}).execute(num_retries=3)
    assert session["id"]
    assert len(picker_backend.attempts("sessions.create")) == 3
    assert len(sleeps) == 2
    # the hazard the facts sheet warns of is real here too: a retried create makes sessions
    assert len(picker_backend.sessions(TOKEN)) == 1


def test_pick_page_in_process(picker_backend: Backend, picker_http: FakeHttp) -> None:
    service = picker_discovery.build(http=picker_http)
    session = service.sessions().create(body={"pickingConfig": {"maxItemCount": "2"}}).execute()
    uri = session["pickerUri"]
    resp, content = picker_http.with_token(None).request(uri)
    assert resp.status == 200
    page = content.decode()
    assert "Select up to 2 items" in page and "var max = 2;" in page
    library = picker_backend.library(TOKEN)
    assert page.count('name="item"') == len(library)
    ids = [library[0].id, library[1].id, library[2].id]
    form = urllib.parse.urlencode([("item", i) for i in ids])
    resp, content = picker_http.request(uri, "POST", body=form)
    assert resp.status == 400 and b"maxItemCount" in content  # the server checks too
    form = urllib.parse.urlencode([("item", i) for i in ids[:2]])
    resp, content = picker_http.request(uri, "POST", body=form)
    assert resp.status == 200 and b"You picked 2 items" in content
    assert service.sessions().get(sessionId=session["id"]).execute()["mediaItemsSet"] is True
    assert picker_http.request(uri)[0].status == 410


def test_transport_close_and_context(picker_http: FakeHttp) -> None:
    with picker_discovery.build(http=picker_http) as service:
        service.sessions().create(body={}).execute()
    assert picker_http.closed


def test_googleapiclient_media_download_in_process(
    picker_backend: Backend, picker_http: FakeHttp, picked: dict[str, dict[str, Any]]
) -> None:
    from googleapiclient.http import HttpRequest, MediaIoBaseDownload

    photo = picked["PHOTO:image/png"]
    url = photo["mediaFile"]["baseUrl"] + "=d"
    item = picker_backend.media_item_for_key(TOKEN, photo["mediaFile"]["baseUrl"].rsplit("/")[-1])
    sink = io.BytesIO()
    request = HttpRequest(picker_http, lambda resp, content: content, url, method="GET")
    downloader = MediaIoBaseDownload(sink, request, chunksize=256 * 1024)
    done = False
    chunks = 0
    most = -(-item.size // (256 * 1024)) + 1  # a download that never ends fails, not hangs
    while not done and chunks < most:
        _, done = downloader.next_chunk()
        chunks += 1
    assert done, f"the download did not end after {chunks} chunks"
    assert sink.getvalue() == b"".join(original_chunks(item))
    assert chunks == -(-item.size // (256 * 1024))  # one Range request per chunk
    ranges = [r.headers.get("range") for r in picker_http.requests if r.uri == url]
    assert ranges[:2] == ["bytes=0-262143", "bytes=262144-524287"]


def test_control_errors_say_what_is_wrong(picker_http: FakeHttp) -> None:
    root = "https://photospicker.googleapis.com/_control"
    json_type = {"Content-Type": "application/json"}
    resp, content = picker_http.request(f"{root}/seed", "POST", body="{}", headers=json_type)
    assert resp.status == 400 and json.loads(content)["error"]["message"] == "missing field 'token'"
    resp, content = picker_http.request(
        f"{root}/pick", "POST", body='{"session_id": "gone"}', headers=json_type
    )
    assert resp.status == 400 and "no session 'gone'" in json.loads(content)["error"]["message"]
    body = json.dumps({"method": "sessions.get", "faults": [{"status": "503"}]})
    resp, content = picker_http.request(f"{root}/faults", "POST", body=body, headers=json_type)
    assert resp.status == 400 and b"400-599" in content
    resp, content = picker_http.request(f"{root}/nothing", "POST", body="{}", headers=json_type)
    assert resp.status == 404


def test_pick_page_for_an_expired_or_unknown_session(
    picker_backend: Backend, picker_http: FakeHttp
) -> None:
    service = picker_discovery.build(http=picker_http)
    session = service.sessions().create(body={}).execute()
    picker_backend.expire_session(session["id"])
    resp, content = picker_http.request(session["pickerUri"])
    assert resp.status == 410 and b"expired" in content
    resp, _ = picker_http.request(session["pickerUri"].replace(session["id"], "nope"))
    assert resp.status == 404
