"""``sessions.create`` reaches the server exactly once: no redirect is followed, nothing resent.

A create that is sent twice can leave a second session on the user's account, so the client
sends it through the transport of :func:`~picker_discovery._execute._send_once_http` (httplib2
with redirects off and no resending). These tests aim a real client at the emulator, script its answer, and count in the
emulator's attempt log what arrived.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import google.oauth2.credentials
import pytest

from picker_discovery._client import PickerClient
from picker_discovery.errors import PickerHttpError
from picker_discovery.testing import Emulator, Fault


def arrivals(emu: Emulator) -> list[tuple[str, str]]:
    """``(method, path)`` of every API request that reached the emulator, in order."""
    return [(a.http_method, a.path.partition("?")[0]) for a in emu.attempts()]


def client_at(emu: Emulator) -> PickerClient:
    return PickerClient(
        credentials=google.oauth2.credentials.Credentials(token="picker-token"),
        client_options={"api_endpoint": emu.url},
    )


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirected_create_is_not_followed(emu: Emulator, no_proxy: None, status: int) -> None:
    # To the API's own create: a client that followed would show a second attempt there.
    moved = f"{emu.url}v1/sessions"
    emu.set_faults("sessions.create", [Fault(redirect=moved, redirect_status=status)])
    client = client_at(emu)
    with pytest.raises(PickerHttpError) as caught:
        client.create_session()
    assert arrivals(emu) == [("POST", "/v1/sessions")]
    assert emu.backend.sessions() == []
    assert caught.value.code == status
    message = str(caught.value)
    assert message.startswith(f"sessions.create failed: HTTP {status}")
    assert f"{moved}, which the client does not follow" in message
    assert "check the endpoint" in message


@pytest.mark.parametrize(
    "fault",
    [Fault(drop=True), Fault(drop_after=10), Fault(truncate=True)],
    ids=["no-answer", "a-tenth-of-the-body", "half-the-body"],
)
def test_a_create_whose_connection_drops_is_sent_once(
    emu: Emulator, no_proxy: None, fault: Fault
) -> None:
    emu.set_faults("sessions.create", [fault])
    client = client_at(emu)
    with pytest.raises(ConnectionError) as caught:
        client.create_session()
    assert arrivals(emu) == [("POST", "/v1/sessions")]
    assert not isinstance(caught.value, ConnectionRefusedError)  # it may have been acted on
    message = str(caught.value)
    assert "the connection to http://127.0.0.1:" in message and "/v1/sessions" in message
    assert "failed" in message


def test_a_second_create_on_a_dropped_keep_alive_connection_is_sent_once(
    emu: Emulator, no_proxy: None
) -> None:
    emu.set_faults("sessions.create", [None, Fault(drop=True)])
    client = client_at(emu)
    first = client.create_session()
    with pytest.raises(ConnectionError):
        client.create_session()
    assert arrivals(emu) == [("POST", "/v1/sessions")] * 2
    # The emulator acted on the second create before it dropped the answer: resending it
    # would have left a third session.
    sessions = [s.id for s in emu.backend.sessions()]
    assert len(sessions) == 2 and sessions[0] == first.id


class ClosingServer(ThreadingHTTPServer):
    """Answers every create, then closes the connection without saying so (an idle keep-alive
    connection the server drops): counts the creates and the connections they came on."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ClosingHandler)
        self.creates = 0
        self.connections = 0


class ClosingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ClosingServer

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.creates += 1
        sid = f"session-{self.server.creates}"
        body = json.dumps({"id": sid, "pickerUri": f"https://photos.google.com/picker/{sid}"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())
        self.close_connection = True  # closed without a "Connection: close" header

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def closing_server() -> Iterator[ClosingServer]:
    server = ClosingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_create_after_the_server_dropped_an_idle_connection_goes_once_on_a_new_one(
    closing_server: ClosingServer, no_proxy: None
) -> None:
    host, port = closing_server.server_address[:2]
    client = PickerClient(
        credentials=google.oauth2.credentials.Credentials(token="picker-token"),
        client_options={"api_endpoint": f"http://{host!s}:{port}/"},
        journal=False,
    )
    assert client.create_session().id == "session-1"
    time.sleep(0.2)  # the server's close reaches the client's idle connection
    assert client.create_session().id == "session-2"
    assert (closing_server.creates, closing_server.connections) == (2, 2)
