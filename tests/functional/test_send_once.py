"""``sessions.create`` reaches the server exactly once: no redirect is followed, nothing resent.

A create that is sent twice can leave a second session on the user's account, so the client
sends it through :class:`~picker_discovery._client._SendOnceHttp` (requests, redirects off, no
retries). These tests aim a real client at a loopback server and count what arrives.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

import google.oauth2.credentials
import pytest

from picker_discovery._client import PickerClient
from picker_discovery.errors import PickerHttpError
from tests.loopback import Handler

Serve = Callable[[Handler], str]


class Arrivals:
    """What reached the server: ``(method, path)`` of every request, in order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []

    def note(self, request: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.requests.append((request.command, urllib.parse.urlsplit(request.path).path))


def client_at(url: str) -> PickerClient:
    origin = "{0.scheme}://{0.netloc}/".format(urllib.parse.urlsplit(url))
    return PickerClient(
        credentials=google.oauth2.credentials.Credentials(token="picker-token"),
        client_options={"api_endpoint": origin},
    )


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirected_create_is_not_followed(server: Serve, no_proxy: None, status: int) -> None:
    arrivals = Arrivals()

    def handle(request: BaseHTTPRequestHandler) -> None:
        arrivals.note(request)
        moved = f"http://{request.headers['Host']}/moved/v1/sessions"
        request.send_response(status)
        request.send_header("Location", moved)
        request.send_header("Content-Length", "0")
        request.end_headers()

    client = client_at(server(handle))
    with pytest.raises(PickerHttpError) as caught:
        client.create_session()
    assert arrivals.requests == [("POST", "/v1/sessions")]
    assert caught.value.code == status
    message = str(caught.value)
    assert message.startswith(f"sessions.create failed: HTTP {status}")
    assert "/moved/v1/sessions, which the client does not follow" in message
    assert "check the endpoint" in message


@pytest.mark.parametrize("answered", [False, True])
def test_a_create_whose_connection_drops_is_sent_once(
    server: Serve, no_proxy: None, answered: bool
) -> None:
    arrivals = Arrivals()

    def handle(request: BaseHTTPRequestHandler) -> None:
        arrivals.note(request)
        if answered:  # a whole status line and headers, then a tenth of the body
            request.send_response(200)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", "100")
            request.end_headers()
            request.wfile.write(b'{"id": "2e')
            request.wfile.flush()
        request.close_connection = True  # closed without (a whole) answer

    client = client_at(server(handle))
    with pytest.raises(ConnectionError) as caught:
        client.create_session()
    assert arrivals.requests == [("POST", "/v1/sessions")]
    assert not isinstance(caught.value, ConnectionRefusedError)  # it may have been acted on
    message = str(caught.value)
    assert "the connection to http://127.0.0.1:" in message and "/v1/sessions" in message
    assert "failed" in message


def test_a_second_create_on_a_dropped_keep_alive_connection_is_sent_once(
    server: Serve, no_proxy: None
) -> None:
    arrivals = Arrivals()
    body = b'{"id": "2ea3dc54-f352-4d9d-a667-1b497bdf4e52"}'

    def handle(request: BaseHTTPRequestHandler) -> None:
        arrivals.note(request)
        if len(arrivals.requests) == 1:  # answer, keeping the connection open
            request.send_response(200)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
            request.wfile.flush()
        else:
            request.close_connection = True

    client = client_at(server(handle))
    assert client.create_session().id == "2ea3dc54-f352-4d9d-a667-1b497bdf4e52"
    with pytest.raises(ConnectionError):
        client.create_session()
    assert arrivals.requests == [("POST", "/v1/sessions")] * 2
