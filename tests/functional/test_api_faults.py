"""The emulator's faults for any method, as a client on the wire sees them: the discovery
document scripted, a given body, a redirect with a chosen status, and the count of body bytes
the server sent per attempt (in the emulator and in-process)."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from picker_discovery.testing import Backend, Fault, emulator
from picker_discovery.testing.transport import FakeHttp
from tests.control import post_faults
from tests.functional.test_media_faults import TOKEN, get, one_photo
from tests.waiting import wait_until


@pytest.fixture
def emu() -> Iterator[emulator.Emulator]:
    with emulator.Emulator() as running:
        yield running


control = post_faults


def request(url: str, method: str = "GET") -> http.client.HTTPResponse:
    """One request with the bearer token, its answer read whole (``.body``)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    body = b"{}" if method == "POST" else None
    conn.request(method, target, body=body, headers={"Authorization": f"Bearer {TOKEN}"})
    answer = conn.getresponse()
    answer.body = answer.read()  # type: ignore[attr-defined]
    conn.close()
    return answer


def test_the_discovery_document_is_scripted_over_the_control_api(
    emu: emulator.Emulator,
) -> None:
    faults = [
        {"status": 404, "body": "Not Found", "content_type": "text/plain"},
        {"body": '{"name": "drive"}', "content_type": "application/json"},
        {"status": 500},
    ]
    assert control(emu, {"method": "discovery", "faults": faults}) == (200, {"pending": 3})
    missing = request(emu.discovery_url)
    assert (missing.status, missing.body) == (404, b"Not Found")  # type: ignore[attr-defined]
    assert missing.headers["Content-Type"] == "text/plain"
    foreign = request(emu.discovery_url)
    assert json.loads(foreign.body) == {"name": "drive"}  # type: ignore[attr-defined]
    assert request(emu.discovery_url).status == 500
    real = request(emu.discovery_url)  # the script is spent: the real document
    assert json.loads(real.body)["rootUrl"] == emu.url  # type: ignore[attr-defined]
    assert [a.method for a in emu.attempts()] == ["discovery"] * 4


@pytest.mark.parametrize(
    ("method", "verb", "path"),
    [
        ("sessions.create", "POST", "v1/sessions"),
        ("sessions.get", "GET", "v1/sessions/s1"),
        ("sessions.delete", "DELETE", "v1/sessions/s1"),
        ("mediaItems.list", "GET", "v1/mediaItems?sessionId=s1"),
    ],
)
def test_a_body_and_a_redirect_for_every_api_method(
    emu: emulator.Emulator, method: str, verb: str, path: str
) -> None:
    emu.set_faults(
        method,
        [
            Fault(body=b"\x00not json\xff"),
            Fault(body="<p>hi</p>", status=418, content_type="text/html"),
            Fault(redirect="/elsewhere", redirect_status=307, body="moved"),
            Fault(redirect=f"{emu.url}v1/x"),
        ],
    )
    raw = request(emu.url + path, verb)
    assert (raw.status, raw.body) == (200, b"\x00not json\xff")  # type: ignore[attr-defined]
    assert raw.headers["Content-Type"] == "application/octet-stream"
    teapot = request(emu.url + path, verb)
    assert (teapot.status, teapot.headers["Content-Type"]) == (418, "text/html")
    moved = request(emu.url + path, verb)
    assert (moved.status, moved.headers["Location"], moved.body) == (  # type: ignore[attr-defined]
        307,
        "/elsewhere",
        b"moved",
    )
    found = request(emu.url + path, verb)
    assert (found.status, found.headers["Location"]) == (302, f"{emu.url}v1/x")
    assert [a.method for a in emu.attempts()] == [method] * 4  # nothing was followed


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_status_in_process(status: int) -> None:
    backend = Backend()
    backend.set_faults("sessions.get", [Fault(redirect="/v1/sessions/s2", redirect_status=status)])
    response, _ = FakeHttp(backend, token=TOKEN).request(
        backend.config.api_root + "v1/sessions/s1", "GET"
    )
    assert (response.status, response["location"]) == (status, "/v1/sessions/s2")


def test_a_path_the_api_lacks_is_logged_as_other(emu: emulator.Emulator) -> None:
    assert request(emu.url + "v1/nowhere").status == 404
    assert request(emu.url + "v1/sessions", "GET").status == 404
    assert [(a.method, a.http_method) for a in emu.attempts()] == [
        ("other", "GET"),
        ("other", "GET"),
    ]


def sent_by_the_last(emu: emulator.Emulator) -> int:
    """The body bytes sent for the last request, once its answer has ended."""
    wait_until(lambda: emu.attempts()[-1].sent is not None, what="the answer to end")
    last = emu.attempts()[-1].sent
    assert last is not None
    return last


def test_the_bytes_sent_are_counted_per_attempt(emu: emulator.Emulator) -> None:
    url, original = one_photo(emu)
    emu.backend.clear_attempts()
    assert get(url + "=d").body == original
    assert sent_by_the_last(emu) == len(original)
    emu.set_faults("media", [Fault(drop_after=10)])
    assert get(url + "=d").cut
    assert sent_by_the_last(emu) == 10
    assert get(url + "=d", {"Range": "bytes=100-199"}).body == original[100:200]
    assert sent_by_the_last(emu) == 100
    emu.set_faults("media", [Fault(drop=True)])
    with pytest.raises(http.client.RemoteDisconnected):
        get(url + "=d")
    assert sent_by_the_last(emu) == 0
    attempts = control_attempts(emu)
    assert [a["sent"] for a in attempts] == [len(original), 10, 100, 0]


def control_attempts(emu: emulator.Emulator) -> list[dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    try:
        conn.request("GET", "/_control/attempts")
        attempts: list[dict[str, Any]] = json.loads(conn.getresponse().read())["attempts"]
        return attempts
    finally:
        conn.close()


def test_the_bytes_sent_are_counted_in_process() -> None:
    backend = Backend()
    client = FakeHttp(backend, token=TOKEN)
    url = backend.config.api_root + "v1/sessions"
    backend.set_faults("sessions.create", [Fault(drop_after=5), None])
    with pytest.raises(http.client.IncompleteRead):
        client.request(url, "POST", body="{}")
    _, whole = client.request(url, "POST", body="{}")
    assert [a.sent for a in backend.attempts()] == [5, len(whole)]


@pytest.mark.parametrize(
    "bad",
    [
        {"redirect_status": 307},
        {"redirect": "/x", "redirect_status": 200},
        {"redirect": "/x", "status": 503},
        {"body": 5},
        {"body": "x", "html": True},
    ],
)
def test_impossible_api_faults_are_refused_over_the_control_api(
    emu: emulator.Emulator, bad: dict[str, Any]
) -> None:
    status, error = control(emu, {"method": "sessions.get", "faults": [bad]})
    assert status == 400, error
    assert emu.backend.pending_faults() == 0
