"""The loopback emulator over real HTTP: raw googleapiclient, controls, faults, media, the page."""

from __future__ import annotations

import http.client
import io
import itertools
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import google.oauth2.credentials
import httplib2
import pytest
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError
from PIL import Image

import picker_discovery
from picker_discovery import _discovery as discovery
from picker_discovery._client import PickerClient
from picker_discovery._clock import FakeClock
from picker_discovery._paging import MAX_PAGES
from picker_discovery.errors import SessionNotFound
from picker_discovery.testing import Emulator
from picker_discovery.testing.library import original_header

TOKEN = "emulator-token"


def credentials(token: str = TOKEN) -> Any:
    return google.oauth2.credentials.Credentials(token=token)


def control(emulator: Emulator, verb: str, action: str, body: Any = None) -> Any:
    """Call a control endpoint over HTTP, as a test in another process would."""
    data = json.dumps(body).encode() if body is not None else None
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        conn.request(
            verb, f"/_control/{action}", body=data, headers={"Content-Type": "application/json"}
        )
        answer = conn.getresponse()
        content = answer.read()
    finally:
        conn.close()
    assert answer.status == 200, content
    return json.loads(content)


def raw(
    url: str, method: str = "GET", token: str | None = TOKEN, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(
            method, parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers
        )
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


@pytest.fixture
def service(emulator: Emulator) -> Iterator[Any]:
    with emulator.build(TOKEN) as built:
        yield built


def list_all(service: Any, session_id: str, page_size: int | None = None) -> list[list[Any]]:
    pages: list[list[Any]] = []
    request = service.mediaItems().list(sessionId=session_id, pageSize=page_size)
    for _ in range(MAX_PAGES):  # a listing that never ends fails instead of hanging
        if request is None:
            return pages
        page = request.execute()
        pages.append(page.get("mediaItems", []))
        request = service.mediaItems().list_next(request, page)
    raise AssertionError(f"the listing did not end after {MAX_PAGES} pages")


def test_raw_googleapiclient_flow_over_http(emulator: Emulator) -> None:
    document, _ = discovery.load_document()
    service = build_from_document(
        document, credentials=credentials(), client_options={"api_endpoint": emulator.url}
    )
    session = service.sessions().create(body={"pickingConfig": {"maxItemCount": "45"}}).execute()
    assert session["pickerUri"] == f"{emulator.url}pick/{session['id']}"
    polling = service.sessions().get(sessionId=session["id"]).execute()
    assert polling["mediaItemsSet"] is False and "pollingConfig" in polling
    picked = control(emulator, "POST", "pick", {"session_id": session["id"], "all": True})
    assert len(picked["picked"]) == 45
    done = service.sessions().get(sessionId=session["id"]).execute()
    assert done["mediaItemsSet"] is True and "pollingConfig" not in done
    pages = list_all(service, session["id"], page_size=10)
    assert [len(p) for p in pages] == [10, 10, 10, 10, 5]
    assert [i["id"] for p in pages for i in p] == picked["picked"]
    assert all(i["mediaFile"]["baseUrl"].startswith(emulator.media_url) for p in pages for i in p)
    assert service.sessions().delete(sessionId=session["id"]).execute() == {}
    with pytest.raises(HttpError) as caught:
        service.sessions().get(sessionId=session["id"]).execute()
    assert caught.value.resp.status == 404
    assert json.loads(caught.value.content)["error"]["status"] == "NOT_FOUND"
    service.close()


def test_served_discovery_document_builds_a_service(emulator: Emulator) -> None:
    status, headers, content = raw(emulator.discovery_url, token=None)
    assert status == 200 and headers["content-type"].startswith("application/json")
    document = json.loads(content)
    assert document["rootUrl"] == emulator.url
    service = picker_discovery.build(
        discovery_document=document, credentials=credentials(), allowed_hosts=["127.0.0.1"]
    )
    session = service.sessions().create(body={}).execute()
    PickerClient(service).delete_session(session["id"])
    assert raw(f"{emulator.url}$discovery/rest?version=v2", token=None)[0] == 404


def test_errors_over_http(emulator: Emulator, service: Any) -> None:
    status, headers, content = raw(f"{emulator.url}v1/sessions", "POST", token=None)
    assert status == 401 and json.loads(content)["error"]["status"] == "UNAUTHENTICATED"
    assert "www-authenticate" in headers
    status, headers, content = raw(f"{emulator.url}v1/sessions/abc/mediaItems")
    assert status == 404 and headers["content-type"].startswith("text/html")
    assert "That\u2019s an error" in content.decode()
    session = service.sessions().create(body={}).execute()
    with pytest.raises(HttpError) as caught:
        service.mediaItems().list(sessionId=session["id"]).execute()
    assert json.loads(caught.value.content)["error"]["status"] == "FAILED_PRECONDITION"
    with pytest.raises(HttpError) as caught:
        service.sessions().create(body={"pickingConfig": {"maxItemCount": "0"}}).execute()
    assert json.loads(caught.value.content)["error"]["status"] == "INVALID_ARGUMENT"
    control(emulator, "POST", "config", {"max_live_sessions": 1})
    with pytest.raises(HttpError) as caught:
        service.sessions().create(body={}).execute()
    assert caught.value.resp.status == 429
    control(emulator, "POST", "seed", {"token": "nophotos", "has_photos_account": False})
    with emulator.build("nophotos") as other:
        with pytest.raises(HttpError) as caught:
            other.sessions().create(body={}).execute()
        assert json.loads(caught.value.content)["error"]["status"] == "FAILED_PRECONDITION"
        with pytest.raises(HttpError) as caught:
            other.sessions().get(sessionId=session["id"]).execute()
        assert caught.value.resp.status == 404
    control(emulator, "POST", "advance", {"seconds": 8 * 86400})
    with pytest.raises(HttpError) as caught:
        service.sessions().get(sessionId=session["id"]).execute()
    assert json.loads(caught.value.content)["error"]["status"] == "PERMISSION_DENIED"


def test_control_endpoints(emulator: Emulator, service: Any) -> None:
    seeded = control(emulator, "POST", "seed", {"token": TOKEN, "seed": 5, "count": 12})
    assert len(seeded["mediaItems"]) == 12
    library = control(emulator, "GET", f"library?token={TOKEN}")["mediaItems"]
    assert [i["id"] for i in library] == [i["id"] for i in seeded["mediaItems"]]
    session = service.sessions().create(body={}).execute()
    wanted = [library[3]["id"], library[1]["id"]]
    picked = control(emulator, "POST", "pick", {"session_id": session["id"], "ids": wanted})
    assert picked["picked"] == wanted
    items = list_all(service, session["id"])[0]
    assert [i["id"] for i in items] == wanted
    sessions = control(emulator, "GET", "sessions")["sessions"]
    assert [(s["id"], s["picked"]) for s in sessions] == [(session["id"], wanted)]
    base = items[0]["mediaFile"]["baseUrl"]
    assert raw(f"{base}=w32-h32")[0] == 200
    control(emulator, "POST", "expire", {"session_id": session["id"], "what": "base_urls"})
    assert raw(f"{base}=w32-h32")[0] == 403
    control(emulator, "POST", "expire", {"session_id": session["id"], "what": "session"})
    with pytest.raises(HttpError) as caught:
        service.sessions().get(sessionId=session["id"]).execute()
    assert caught.value.resp.status == 403
    assert len(control(emulator, "GET", "attempts")["attempts"]) >= 4
    control(emulator, "DELETE", "attempts")
    assert control(emulator, "GET", "attempts")["attempts"] == []
    control(emulator, "POST", "reset")
    assert control(emulator, "GET", "sessions")["sessions"] == []
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    conn.request(
        "POST",
        "/_control/pick",
        body=b'{"session_id": "nope"}',
        headers={"X-Emulator-Control": "1"},
    )
    answer = conn.getresponse()
    assert answer.status == 400 and b"nope" in answer.read()
    conn.close()


@pytest.fixture
def frozen_emulator() -> Iterator[Emulator]:
    """An emulator on a frozen clock: its time moves only when the test advances it."""
    with Emulator(clock=FakeClock()) as running:
        yield running


@pytest.fixture
def frozen_service(frozen_emulator: Emulator) -> Iterator[Any]:
    with frozen_emulator.build(TOKEN) as built:
        yield built


def test_fault_script_with_retry_after_and_attempt_times(
    frozen_emulator: Emulator, frozen_service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, service = frozen_emulator, frozen_service
    sleeps: list[float] = []

    def fake_sleep(seconds: float) -> None:  # googleapiclient's backoff, on the fake clock
        sleeps.append(seconds)
        emulator.advance(seconds)

    monkeypatch.setattr("googleapiclient.http.time.sleep", fake_sleep)
    session = service.sessions().create(body={}).execute()
    control(
        emulator,
        "POST",
        "faults",
        {"method": "sessions.get", "faults": [{"status": 503, "retry_after": 7}, 503, None, 500]},
    )
    got = service.sessions().get(sessionId=session["id"]).execute(num_retries=5)
    assert got["id"] == session["id"]
    attempts = [a for a in control(emulator, "GET", "attempts")["attempts"]]
    gets = [a for a in attempts if a["method"] == "sessions.get"]
    assert len(gets) == 3 and all(a["httpMethod"] == "GET" for a in gets)
    assert all(a["path"].startswith(f"/v1/sessions/{session['id']}") for a in gets)
    times = [a.time for a in emulator.attempts("sessions.get")]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert gaps == pytest.approx(sleeps, abs=1e-5)  # the report shows the client's backoff exactly
    with pytest.raises(HttpError) as caught:  # the fourth fault (500) is still pending
        service.sessions().get(sessionId=session["id"]).execute()
    assert caught.value.resp.status == 500
    emulator.set_faults("sessions.delete", [{"status": 503, "retry_after": 7}])
    with pytest.raises(HttpError) as caught:
        service.sessions().delete(sessionId=session["id"]).execute()
    assert caught.value.resp["retry-after"] == "7"
    assert json.loads(caught.value.content)["error"]["status"] == "UNAVAILABLE"
    control(emulator, "DELETE", "faults")
    assert service.sessions().delete(sessionId=session["id"]).execute() == {}


def test_dropped_connection_seen_by_a_real_client(emulator: Emulator, service: Any) -> None:
    session = service.sessions().create(body={}).execute()
    # httplib2 silently retries a connection closed before the status line once...
    emulator.set_faults("sessions.get", [{"drop": True}])
    assert service.sessions().get(sessionId=session["id"]).execute()["id"] == session["id"]
    assert len(emulator.attempts("sessions.get")) == 2
    # ...so two drops in a row reach the caller.
    emulator.set_faults("sessions.get", [{"drop": True}, {"drop": True}])
    with pytest.raises(http.client.RemoteDisconnected):
        service.sessions().get(sessionId=session["id"]).execute()
    assert len(emulator.attempts("sessions.get")) == 4
    emulator.set_faults("mediaItems.list", [{"drop": True}])
    status: Any = None
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    conn.request("GET", f"/v1/mediaItems?sessionId={session['id']}")
    with pytest.raises(http.client.RemoteDisconnected):
        status = conn.getresponse().status
    assert status is None
    conn.close()


def test_truncated_body_seen_by_a_real_client(emulator: Emulator, service: Any) -> None:
    session = service.sessions().create(body={}).execute()
    emulator.set_faults("sessions.get", [{"truncate": True}])
    with pytest.raises(http.client.IncompleteRead):
        service.sessions().get(sessionId=session["id"]).execute()
    emulator.set_faults("sessions.get", [{"truncate": True, "status": 503}])
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    conn.request("GET", f"/v1/sessions/{session['id']}", headers={"Authorization": "Bearer x"})
    answer = conn.getresponse()
    with pytest.raises(http.client.IncompleteRead) as caught:
        answer.read()
    assert answer.status == 503
    assert len(caught.value.partial) < int(answer.getheader("Content-Length") or 0)
    conn.close()
    assert service.sessions().get(sessionId=session["id"]).execute()["id"] == session["id"]


def test_latency_trips_a_client_timeout(emulator: Emulator) -> None:
    emulator.set_faults("sessions.create", [{"latency": 0.5}])
    http_ = httplib2.Http(timeout=0.1)
    with pytest.raises((TimeoutError, socket.timeout)):
        http_.request(
            f"{emulator.url}v1/sessions", "POST", body="{}", headers={"Authorization": "Bearer t"}
        )
    http_.close()


def test_media_over_http(emulator: Emulator, service: Any) -> None:
    session = service.sessions().create(body={}).execute()
    emulator.pick(session["id"])
    items = [i for page in list_all(service, session["id"], 100) for i in page]
    photo = next(i for i in items if i["mediaFile"]["mimeType"] == "image/jpeg")
    base = photo["mediaFile"]["baseUrl"]
    assert base.startswith(emulator.media_url) and not base.startswith(emulator.url)
    status, headers, content = raw(f"{base}=w120-h120-c")
    assert status == 200 and Image.open(io.BytesIO(content)).size == (120, 120)
    status, headers, content = raw(f"{base}=d", range="bytes=10-19")
    assert status == 206 and len(content) == 10
    assert headers["content-range"].startswith("bytes 10-19/")
    assert raw(f"{base}=w120-h120", token=None)[0] == 401
    assert raw(f"{base}=w120-h120", token="mallory")[0] == 403
    emulator.set_faults("media", [{"status": 503, "retry_after": 1}])
    status, headers, _ = raw(f"{base}=w120-h120")
    assert status == 503 and headers["retry-after"] == "1"
    assert emulator.attempts("media")[-1].path.endswith("=w120-h120")
    emulator.advance(3600)
    assert raw(f"{base}=w120-h120")[0] == 403
    assert raw(f"{emulator.url}ppa/{base.rsplit('/', 1)[1]}")[0] == 404  # not on the API origin


def test_huge_video_streams_in_chunks(emulator: Emulator, service: Any) -> None:
    session = service.sessions().create(body={}).execute()
    emulator.pick(session["id"])
    items = [i for page in list_all(service, session["id"], 100) for i in page]
    videos = [
        emulator.backend.media_item_for_key(TOKEN, i["mediaFile"]["baseUrl"].rsplit("/", 1)[1])
        for i in items
        if i["type"] == "VIDEO"
    ]
    huge = max(videos, key=lambda v: v.size)
    assert huge.size > 200 * 1024 * 1024 and huge.processing_status == "READY"
    url = next(i for i in items if i["id"] == huge.id)["mediaFile"]["baseUrl"] + "=dv"
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=30)
    conn.request("GET", parts.path, headers={"Authorization": f"Bearer {TOKEN}"})
    answer = conn.getresponse()
    assert answer.status == 200 and int(answer.getheader("Content-Length") or 0) == huge.size
    received = 0
    expected_head = original_header(huge)
    head = answer.read(len(expected_head))
    received += len(head)
    while chunk := answer.read(1024 * 1024):
        received += len(chunk)
    conn.close()
    assert head == expected_head and received == huge.size
    status, headers, tail = raw(url, range="bytes=-16")
    assert status == 206 and len(tail) == 16
    assert headers["content-range"] == f"bytes {huge.size - 16}-{huge.size - 1}/{huge.size}"


def test_picking_page(emulator: Emulator, service: Any) -> None:
    session = service.sessions().create(body={"pickingConfig": {"maxItemCount": "3"}}).execute()
    status, headers, page = raw(session["pickerUri"], token=None)  # no token: the URL authorizes
    assert status == 200 and headers["content-type"].startswith("text/html")
    text = page.decode()
    assert "var max = 3;" in text and 'type="submit">Done' in text
    assert "../../etc/passwd.jpg" in text and "&lt;tag&gt;" in text  # names are escaped
    thumb = text.split('src="', 1)[1].split('"', 1)[0]
    status, headers, image = raw(f"{emulator.url}{thumb.lstrip('/')}", token=None)
    assert status == 200 and Image.open(io.BytesIO(image)).format == "PNG"
    library = emulator.backend.library(TOKEN)
    form = urllib.parse.urlencode([("item", i.id) for i in library[:4]]).encode()
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    path = urllib.parse.urlsplit(session["pickerUri"]).path
    conn.request("POST", path, body=form, headers=form_type)
    answer = conn.getresponse()
    assert answer.status == 400 and b"maxItemCount" in answer.read()
    form = urllib.parse.urlencode([("item", i.id) for i in library[:2]]).encode()
    conn.request("POST", path, body=form, headers=form_type)
    answer = conn.getresponse()
    assert answer.status == 200 and b"You picked 2 items" in answer.read()
    conn.close()
    assert service.sessions().get(sessionId=session["id"]).execute()["mediaItemsSet"] is True
    assert raw(session["pickerUri"], token=None)[0] == 410  # the page stops working after Done
    items = list_all(service, session["id"])[0]
    assert [i["id"] for i in items] == [library[0].id, library[1].id]


def test_picking_page_autoclose(emulator: Emulator, service: Any) -> None:
    session = service.sessions().create(body={}).execute()
    uri = session["pickerUri"] + "/autoclose"
    status, _, page = raw(uri, token=None)
    assert status == 200 and f'action="/pick/{session["id"]}/autoclose"' in page.decode()
    item = emulator.backend.library(TOKEN)[5]
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    conn.request(
        "POST",
        urllib.parse.urlsplit(uri).path,
        body=urllib.parse.urlencode({"item": item.id}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    answer = conn.getresponse()
    assert answer.status == 200 and b"window.close()" in answer.read()
    conn.close()
    assert raw(uri, token=None)[0] == 410
    assert raw(f"{emulator.url}pick/no-such-session", token=None)[0] == 404


def test_thirty_two_concurrent_clients(emulator: Emulator) -> None:
    before = threading.active_count()

    def one_user(n: int) -> int:
        with emulator.build(f"user-{n}") as service:
            session = service.sessions().create(body={}).execute()
            emulator.pick(session["id"], first=30)
            service.sessions().get(sessionId=session["id"]).execute()
            count = sum(len(p) for p in list_all(service, session["id"], 7))
            base = list_all(service, session["id"], 1)[0][0]["mediaFile"]["baseUrl"]
            status = raw(f"{base}=w16-h16", token=f"user-{n}")[0]
            client = PickerClient(service)
            client.delete_session(session["id"])
            with pytest.raises(SessionNotFound):
                client.delete_session(session["id"])
            return count if status == 200 else -1

    with ThreadPoolExecutor(max_workers=32) as pool:
        counts = list(pool.map(one_user, range(32)))
    assert counts == [30] * 32
    attempts = emulator.attempts()
    assert len(attempts) == 32 * (1 + 1 + 5 + 30 + 1 + 2)
    assert emulator.backend.sessions() == []
    port = emulator.port
    emulator.stop()
    assert not emulator.running
    assert threading.active_count() <= before  # the servers' threads are gone
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_emulator_stops_by_itself_and_frees_its_ports() -> None:
    before = threading.active_count()
    with Emulator() as emulator:
        port = emulator.port
        idle = socket.create_connection(("127.0.0.1", port), timeout=5)  # a keep-alive client
        service = emulator.build()
        service.sessions().create(body={}).execute()
    assert threading.active_count() <= before
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    idle.close()
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.url


def test_plugin_fixtures(
    picker_emulator: Emulator, picker_emulator_client: PickerClient, picker_canned: Any
) -> None:
    service = picker_emulator_client.service
    session = service.sessions().create(body={}).execute()
    assert session["pickerUri"].startswith(picker_emulator.url)
    picker_emulator_client.delete_session(session["id"])
    with pytest.raises(SessionNotFound):
        picker_emulator_client.delete_session(session["id"])
    assert "sessions.delete" in picker_canned.names()


def test_logs_and_reports_never_show_a_token(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "ya29.secret-token-value"
    caplog.set_level("DEBUG", logger="picker_discovery")
    with emulator.build(secret) as service:
        session = service.sessions().create(body={}).execute()
        emulator.pick(session["id"], first=1)
        item = list_all(service, session["id"])[0][0]
        assert raw(item["mediaFile"]["baseUrl"] + "=w8-h8", token=secret)[0] == 200
        service.sessions().delete(sessionId=session["id"]).execute()
    status, _, _ = raw(f"{emulator.url}v1/sessions/x?access_token={secret}", token=None)
    assert status == 404
    assert caplog.records  # the emulator did log its requests
    assert secret not in caplog.text
    assert secret not in json.dumps(control(emulator, "GET", "attempts"))


def test_testing_package_imports_without_pillow() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['PIL'] = None\n"
        "import picker_discovery\n"
        "from picker_discovery.testing import Backend, FakeHttp, canned\n"
        "http = canned.sequence('sessions.delete')\n"
        "picker_discovery.build(http=http).sessions().delete(sessionId='s').execute()\n"
        "fake = FakeHttp(Backend())\n"
        "service = picker_discovery.build(http=fake)\n"
        "s = service.sessions().create(body={}).execute()\n"
        "fake.backend.pick(s['id'], first=1)\n"
        "item = service.mediaItems().list(sessionId=s['id']).execute()['mediaItems'][0]\n"
        "try:\n"
        "    fake.request(item['mediaFile']['baseUrl'] + '=w10-h10')\n"
        "except ImportError as exc:\n"  # errors.MissingExtra
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "pip install 'picker-discovery[testing]'" in done.stdout


def test_html_fault_pages_and_processing_control(emulator: Emulator, service: Any) -> None:
    session = service.sessions().create(body={}).execute()
    emulator.set_faults("sessions.get", [{"status": 502, "html": True}])
    with pytest.raises(HttpError) as caught:
        service.sessions().get(sessionId=session["id"]).execute()
    assert caught.value.resp.status == 502
    assert caught.value.resp["content-type"].startswith("text/html")
    assert "try again in 30 seconds" in caught.value.content.decode()
    video = next(i for i in emulator.library(TOKEN) if i.processing_status == "PROCESSING")
    emulator.pick(session["id"], [video.id])
    base = list_all(service, session["id"])[0][0]["mediaFile"]["baseUrl"]
    assert raw(f"{base}=dv", range="bytes=0-3")[0] == 400
    answer = control(
        emulator, "POST", "processing", {"token": TOKEN, "id": video.id, "status": "READY"}
    )
    assert answer["processingStatus"] == "READY"
    assert raw(f"{base}=dv", range="bytes=0-3")[0] == 206
    control(emulator, "POST", "seed", {"token": "narrow", "has_picker_scope": False})
    with emulator.build("narrow") as narrow, pytest.raises(HttpError) as caught:
        narrow.sessions().create(body={}).execute()
    assert caught.value.resp.status == 403
