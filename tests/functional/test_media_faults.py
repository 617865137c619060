"""The emulator's scriptable media faults, as a client on the wire sees them.

Each fault is scripted from Python (``Fault(...)``) or over the control API, and each is seen
here with a plain HTTP client (``http.client``), so what is asserted is exactly what the
emulator sends: a cut body, a 200 to a Range request, a 206 from the wrong place, a missing or
wrong header, a redirect, a changed ETag.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from picker_discovery.testing import Backend, Fault, emulator, library
from picker_discovery.testing.transport import FakeHttp
from tests.control import post_faults

TOKEN = "alice"
SIZE = 1000


@pytest.fixture
def emu() -> Iterator[emulator.Emulator]:
    with emulator.Emulator() as running:
        yield running


def one_photo(emu: emulator.Emulator) -> tuple[str, bytes]:
    """The baseUrl of a picked photo of SIZE bytes, and its bytes."""
    photo = next(i for i in library.generate_library("fault-tests", 10) if not i.is_video)
    photo = dataclasses.replace(photo, size=SIZE)
    emu.seed_library(TOKEN, items=[photo])
    service = emu.build(token=TOKEN)
    session_id = service.sessions().create(body={}).execute()["id"]
    emu.pick(session_id, first=1)
    page = service.mediaItems().list(sessionId=session_id).execute()
    return page["mediaItems"][0]["mediaFile"]["baseUrl"], b"".join(
        library.original_chunks(photo, 0, SIZE)
    )


class Answer:
    def __init__(self, status: int, headers: Mapping[str, str], body: bytes, cut: bool) -> None:
        self.status, self.headers, self.body, self.cut = status, headers, body, cut


def get(url: str, headers: Mapping[str, str] | None = None) -> Answer:
    """One GET with a bearer token; ``cut`` says the body ended before its Content-Length."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", target, headers={"Authorization": f"Bearer {TOKEN}", **(headers or {})})
        response = conn.getresponse()
        cut = False
        try:
            body = response.read()
        except http.client.IncompleteRead as exc:
            body, cut = exc.partial, True
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body, cut)
    finally:
        conn.close()


def raw_get(url: str) -> bytes:
    """Everything the server sends on the socket until it closes (headers and body)."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as sock:
        request = (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {TOKEN}\r\n\r\n"
        )
        sock.sendall(request.encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_drop_after_sends_that_many_bytes_then_closes(emu: emulator.Emulator) -> None:
    url, original = one_photo(emu)
    emu.set_faults("media", [Fault(drop_after=300), Fault(drop_after=0)])

    first = get(url + "=d")
    assert first.status == 200 and first.headers["content-length"] == str(SIZE)
    assert first.cut and first.body == original[:300]
    second = get(url + "=d", {"Range": "bytes=500-"})
    assert second.status == 206 and second.cut and second.body == b""
    whole = get(url + "=d")  # the script is spent
    assert not whole.cut and whole.body == original


def test_ranges_ignored_shifted_or_not_offered(emu: emulator.Emulator) -> None:
    url, original = one_photo(emu)
    emu.set_faults(
        "media",
        [Fault(ignore_range=True), Fault(range_shift=7), Fault(no_accept_ranges=True)],
    )

    ignored = get(url + "=d", {"Range": "bytes=400-"})
    assert ignored.status == 200 and ignored.body == original
    assert "content-range" not in ignored.headers
    shifted = get(url + "=d", {"Range": "bytes=400-"})
    assert shifted.status == 206 and shifted.headers["content-range"] == "bytes 407-999/1000"
    assert shifted.body == original[407:]
    plain = get(url + "=d")
    assert plain.status == 200 and "accept-ranges" not in plain.headers
    assert get(url + "=d").headers["accept-ranges"] == "bytes"


def test_a_shift_past_the_end_is_416(emu: emulator.Emulator) -> None:
    url, _ = one_photo(emu)
    emu.set_faults("media", [Fault(range_shift=SIZE)])
    answer = get(url + "=d", {"Range": "bytes=10-"})
    assert answer.status == 416 and answer.headers["content-range"] == f"bytes */{SIZE}"


def test_no_length_ends_the_body_with_the_connection(emu: emulator.Emulator) -> None:
    url, original = one_photo(emu)
    emu.set_faults("media", [Fault(no_length=True)])

    head, _, body = raw_get(url + "=d").partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"content-length" not in head.lower() and b"connection: close" in head.lower()
    assert body == original


@pytest.mark.parametrize("delta", [25, -25])
def test_length_delta_announces_a_wrong_content_length(emu: emulator.Emulator, delta: int) -> None:
    url, original = one_photo(emu)
    emu.set_faults("media", [Fault(length_delta=delta)])

    head, _, body = raw_get(url + "=d").partition(b"\r\n\r\n")
    assert f"content-length: {SIZE + delta}".encode() in head.lower()
    assert body == original  # the real bytes, whatever the header said


def test_redirects_hop_within_and_across_origins(emu: emulator.Emulator) -> None:
    url, original = one_photo(emu)
    path = urllib.parse.urlsplit(url).path
    elsewhere = emu.downloads_url.rstrip("/") + path + "=d"
    emu.set_faults("media", [Fault(redirect=path + "=d"), Fault(redirect=elsewhere)])

    first = get(url + "=d")
    assert first.status == 302 and first.headers["location"] == path + "=d"
    second = get(urllib.parse.urljoin(url, first.headers["location"]))
    assert second.status == 302 and second.headers["location"] == elsewhere
    third = get(elsewhere)
    assert third.status == 200 and third.body == original
    assert [a.origin for a in emu.attempts("media")] == ["media", "media", "downloads"]


def test_content_type_and_etag_overrides_and_if_range(emu: emulator.Emulator) -> None:
    url, original = one_photo(emu)
    emu.set_faults(
        "media",
        [
            Fault(content_type="text/html; charset=UTF-8"),
            Fault(etag='"v2"'),
            Fault(etag='"v2"'),
        ],
    )

    typed = get(url + "=d")
    assert typed.headers["content-type"] == "text/html; charset=UTF-8"
    old_etag = typed.headers["etag"]
    changed = get(url + "=d", {"Range": "bytes=500-", "If-Range": old_etag})
    assert changed.status == 200 and changed.headers["etag"] == '"v2"'
    assert changed.body == original  # the file changed: all of it, not the asked range
    same = get(url + "=d", {"Range": "bytes=500-", "If-Range": '"v2"'})
    assert same.status == 206 and same.body == original[500:]


def test_attempts_record_headers_but_never_the_token(emu: emulator.Emulator) -> None:
    url, _ = one_photo(emu)
    emu.backend.clear_attempts()
    get(url + "=d", {"Range": "bytes=5-"})

    (attempt,) = emu.attempts("media")
    assert attempt.authorized and attempt.headers["range"] == "bytes=5-"
    assert "authorization" not in attempt.headers
    assert TOKEN not in json.dumps(attempt.to_json())


def test_the_new_faults_over_the_control_api(emu: emulator.Emulator) -> None:
    url, original = one_photo(emu)

    def control(body: Mapping[str, Any]) -> tuple[int, Any]:
        return post_faults(emu, body)

    faults = [{"drop_after": 10}, {"ignore_range": True, "etag": '"x"'}, {"redirect": "/ppa/k=d"}]
    assert control({"method": "media", "faults": faults}) == (200, {"pending": 3})
    assert get(url + "=d").body == original[:10]
    assert get(url + "=d", {"Range": "bytes=1-"}).headers["etag"] == '"x"'
    assert get(url + "=d").headers["location"] == "/ppa/k=d"

    status, error = control({"method": "sessions.get", "faults": [{"etag": '"x"'}]})
    assert status == 400 and "media" in error["error"]["message"]
    status, error = control({"method": "media", "faults": [{"drop_after": -1}]})
    assert status == 400 and "drop_after" in error["error"]["message"]


@pytest.mark.parametrize(
    "bad",
    [
        {"drop_after": -1},
        {"drop_after": 1.5},
        {"drop_after": True},
        {"range_shift": -1},
        {"range_shift": "1"},
        {"length_delta": 0.5},
        {"ignore_range": "yes"},
        {"no_length": 1},
        {"redirect": "ftp://example.com/x"},
        {"redirect": "/a\r\nSet-Cookie: x=1"},
        {"redirect": ""},
        {"content_type": "text/html\nX: y"},
        {"etag": 5},
        {"drop_after": 10, "truncate": True},
        {"no_length": True, "length_delta": 3},
        {"stall": 1, "drop_after": 3},
        {"nonsense": 1},
        {"redirect_status": 302},
        {"redirect": "/x", "redirect_status": 200},
        {"redirect": "/x", "redirect_status": 304},
        {"redirect": "/x", "redirect_status": True},
        {"redirect": "/x", "status": 503},
        {"redirect": "/x", "html": True},
        {"body": 5},
        {"body": "x", "html": True},
    ],
)
def test_impossible_faults_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Backend().set_faults("media", [bad])


@pytest.mark.parametrize(
    "fault",
    [
        {"ignore_range": True},
        {"range_shift": 1},
        {"no_accept_ranges": True},
        {"etag": '"x"'},
        {"short_range": 10},
        {"size_delta": 1},
        {"hide_total": True},
    ],
)
def test_media_only_faults_are_refused_for_api_methods(fault: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="media"):
        Backend().set_faults("sessions.get", [fault])


def test_body_faults_in_process() -> None:
    """The in-process transport shows drop_after and length_delta as httplib2 would."""
    backend = Backend()
    client = FakeHttp(backend)
    backend.set_faults(
        "sessions.create", [Fault(drop_after=5), Fault(length_delta=4), Fault(length_delta=-4)]
    )
    url = backend.config.api_root + "v1/sessions"
    headers = {"authorization": f"Bearer {TOKEN}"}
    for _ in range(2):
        with pytest.raises(http.client.IncompleteRead):
            client.request(url, "POST", body="{}", headers=headers)
    response, body = client.request(url, "POST", body="{}", headers=headers)
    assert response["content-length"] == str(len(body))
    assert body.startswith(b"{") and not body.rstrip().endswith(b"}")  # 4 bytes short
    _, whole = client.request(url, "POST", body="{}", headers=headers)
    assert json.loads(whole)["id"]


def test_faults_scoped_to_an_item_land_on_it_and_gather_proves_concurrency(
    emu: emulator.Emulator,
) -> None:
    photos = [
        dataclasses.replace(i, size=SIZE)
        for i in library.generate_library("scope-tests", 10)
        if not i.is_video
    ][:3]
    emu.seed_library(TOKEN, items=photos)
    service = emu.build(token=TOKEN)
    session_id = service.sessions().create(body={}).execute()["id"]
    emu.pick(session_id, [p.id for p in photos])
    urls = [
        i["mediaFile"]["baseUrl"]
        for i in service.mediaItems().list(sessionId=session_id).execute()["mediaItems"]
    ]
    emu.set_faults("media", [Fault(status=503)], item_id=photos[1].id)
    assert get(urls[0] + "=d").status == 200  # another item's request leaves the script alone
    assert get(urls[1] + "=d").status == 503
    assert emu.backend.pending_faults("media") == 0
    with pytest.raises(ValueError, match="media"):
        emu.set_faults("sessions.get", [503], item_id=photos[0].id)

    # Three requests held until all three are in: they were answered at once.
    for photo in photos:
        emu.set_faults("media", [Fault(gather=3)], item_id=photo.id)
    threads = [threading.Thread(target=get, args=(url + "=d",)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert emu.max_in_flight("media") == 3
