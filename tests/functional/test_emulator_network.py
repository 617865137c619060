"""The emulator survives what a network sends: broken framing, idle and dripping connections, a
client hoarding connections, web pages aiming at its control API, and a stop mid-latency."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.errors import HttpError

from picker_discovery import PickerClient
from picker_discovery.testing import Emulator

TOKEN = "net-user"

pytestmark = pytest.mark.usefixtures("no_proxy")


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(header_timeout=0.5, body_timeout=0.5, idle_timeout=60) as running:
        yield running


def connect(emu: Emulator, port: int | None = None) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port or emu.port), timeout=30)
    return sock


def exchange(emu: Emulator, data: bytes) -> bytes:
    """Send raw bytes on a new connection; everything the server sends until it closes."""
    with connect(emu) as sock:
        sock.sendall(data)
        return read_to_close(sock)


def read_to_close(sock: socket.socket) -> bytes:
    out = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return out
        if not chunk:
            return out
        out += chunk


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def request(
    emu: Emulator, method: str, path: str, body: bytes | None = None, /, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


# -- framing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "length", ["-1", "abc", "+5", "0x10", "1e3", "5, 6", "", "99999999999999999"]
)
def test_an_invalid_content_length_is_a_400_at_once(emu: Emulator, length: str) -> None:
    answer = exchange(
        emu,
        b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
        b"Content-Length: " + length.encode() + b"\r\n\r\n{}",
    )
    assert status_of(answer) == (413 if length == "99999999999999999" else 400), answer
    assert b"connection: close" in answer.lower()
    assert emu.attempts("sessions.create") == []  # never reached the service
    assert emu.backend.sessions() == []


def test_two_lengths_or_a_length_and_chunks_are_refused(emu: Emulator) -> None:
    head = b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
    twice = exchange(emu, head + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{} ")
    assert status_of(twice) == 400
    both = exchange(emu, head + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}")
    assert status_of(both) == 400
    gzip = exchange(emu, head + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")
    assert status_of(gzip) == 501
    assert emu.backend.sessions() == []


def test_a_body_over_the_limit_is_a_413(emu: Emulator) -> None:
    # Refused from the headers alone: the emulator reads none of the body.
    answer = exchange(
        emu,
        b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
        b"Content-Length: 1048577\r\n\r\n",
    )
    assert status_of(answer) == 413 and b"connection: close" in answer.lower()
    with Emulator() as emu2:
        status, _, _ = request(emu2, "POST", "/v1/sessions", b"x" * 1024, Authorization="Bearer t")
        assert status == 400  # a body under the limit is read (and is not JSON)


def test_the_connection_after_a_refusal_is_closed_not_misread(emu: Emulator) -> None:
    # A smuggled second request behind a broken length must never be answered.
    answer = exchange(
        emu,
        b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"
        b"DELETE /v1/sessions/x HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    assert answer.count(b"HTTP/1.1 ") == 1 and status_of(answer) == 400


# -- slow, idle and hoarded connections ---------------------------------------------------------


def test_headers_dripping_in_are_cut_off(emu: Emulator) -> None:
    with connect(emu) as sock:
        sock.sendall(b"GET /v1/sessions/x HTTP/1.1\r\n")
        closed = False
        for _ in range(600):  # one header byte every 0.05 s would take half a minute
            try:
                sock.sendall(b"X")
            except OSError:
                closed = True
                break
            ready = sock.recv(1) if _readable(sock, 0.05) else None
            if ready == b"":
                closed = True
                break
        assert closed, "the emulator kept a connection that never finished its headers"
    assert emu.attempts() == []


def test_a_body_dripping_in_is_cut_off(emu: Emulator) -> None:
    with connect(emu) as sock:
        sock.sendall(b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 600\r\n\r\n")
        closed = False
        for _ in range(600):
            try:
                sock.sendall(b" ")
            except OSError:
                closed = True
                break
            if _readable(sock, 0.05) and sock.recv(1) == b"":
                closed = True
                break
        assert closed, "the emulator waited for a body that never finished"
    assert emu.backend.sessions() == []


def _readable(sock: socket.socket, seconds: float) -> bool:
    import select

    return bool(select.select([sock], [], [], seconds)[0])


def test_an_idle_connection_is_closed() -> None:
    with Emulator(idle_timeout=0.3) as emu, connect(emu) as sock:
        assert read_to_close(sock) == b""  # closed by the emulator, not by our 30 s timeout


def test_a_client_over_its_cap_loses_its_longest_idle_connection_first() -> None:
    with Emulator(max_connections_per_client=3) as emu:
        idle = [connect(emu) for _ in range(3)]
        _wait_for(lambda: emu.connections().get("idle", 0) == 3)
        with emu.build(TOKEN) as service:  # a fourth connection, which means business
            session = service.sessions().create(body={}).execute()
        assert session["id"]
        assert read_to_close(idle[0]) == b""  # the oldest idle one made room
        assert emu.connections().get("idle", 0) <= 3
        for sock in idle:
            sock.close()


def test_a_client_whose_connections_are_all_busy_gets_a_503() -> None:
    with Emulator(max_connections_per_client=2) as emu, emu.build(TOKEN) as service:
        session = service.sessions().create(body={}).execute()
        # The answer can reach the client before the server's thread marks the connection
        # idle; until then it is busy, and a slow get would be closed for room instead of it.
        _wait_for(lambda: emu.connections() == {"idle": 1})
        emu.set_faults("sessions.get", [{"latency": 3600}] * 2)
        errors: list[BaseException] = []

        def slow_get() -> None:
            try:
                request(
                    emu, "GET", f"/v1/sessions/{session['id']}", Authorization=f"Bearer {TOKEN}"
                )
            except OSError as exc:  # the emulator stops under it
                errors.append(exc)

        threads = [threading.Thread(target=slow_get) for _ in range(2)]
        for thread in threads:
            thread.start()
        _wait_for(lambda: emu.connections().get("busy", 0) == 2)
        status, headers, body = request(emu, "GET", "/_control/sessions")
        assert status == 503 and b"Too many connections" in body
        assert headers["connection"] == "close"
        emu.stop()  # ends the hour-long latencies
        for thread in threads:
            thread.join(30)
            assert not thread.is_alive()


def test_stop_ends_latency_faults_at_once() -> None:
    emu = Emulator().start()
    service = emu.build(TOKEN)
    session = service.sessions().create(body={}).execute()
    emu.set_faults("sessions.get", [{"latency": 3600}])
    outcome: list[object] = []

    def get() -> None:
        try:
            outcome.append(service.sessions().get(sessionId=session["id"]).execute())
        except (OSError, HttpError, http.client.HTTPException) as exc:
            outcome.append(exc)

    thread = threading.Thread(target=get)
    thread.start()
    _wait_for(lambda: emu.connections().get("busy", 0) == 1)
    emu.stop()  # an hour of latency left: pytest's timeout fails the test if stop waits it out
    thread.join(30)
    assert not thread.is_alive() and len(outcome) == 1
    assert not isinstance(outcome[0], dict)  # the request was cut, never answered late
    assert not emu.running


def test_a_full_flow_while_200_idle_connections_are_held(tmp_path: Path) -> None:
    with Emulator() as emu:
        emu.seed_library(TOKEN, count=6)
        held: list[socket.socket] = []
        for index in range(200):
            sock = connect(emu, emu.port if index % 2 else emu.media_port)
            if index % 4 == 0:
                sock.sendall(b"GET /v1/sessions HTTP/1.1\r\n")  # and never the rest
            held.append(sock)
        client = PickerClient(
            credentials=Credentials(token=TOKEN), client_options={"api_endpoint": emu.url}
        )
        with client.picking_session(max_item_count=6) as session:
            assert session.id is not None
            emu.pick(session.id, first=6)
            client.wait_for_selection(session, timeout=60)
            result = client.download_session(
                session, tmp_path, media_hosts=[emu.media_url.rstrip("/")], workers=4
            )
        assert not result.failed
        assert len(result.downloaded) + len(result.skipped) == 6
        assert emu.backend.sessions(TOKEN) == []
        still_open = sum(
            1 for sock in held if not _readable(sock, 0) or sock.recv(1, socket.MSG_PEEK)
        )
        assert still_open <= 2 * 64  # no origin kept more than its workers
        for sock in held:
            sock.close()


def _wait_for(condition: Any, seconds: float = 30) -> None:
    done = threading.Event()
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        done.wait(0.02)
    raise AssertionError("the condition never held")


# -- the control API against web pages ----------------------------------------------------------


def control(emu: Emulator, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
    headers.setdefault("Content-Type", "application/json")
    data = None if body is None else json.dumps(body).encode()
    status, _, content = request(emu, "POST", f"/_control/{path}", data, **headers)
    return status, json.loads(content)


def test_control_refuses_a_host_that_is_not_the_emulator(emu: Emulator) -> None:
    with emu.build(TOKEN) as service:
        service.sessions().create(body={}).execute()
    for host in (f"attacker.example:{emu.port}", "127.0.0.1:1", f"localhost.example:{emu.port}"):
        status, answer = control(emu, "reset", {}, Host=host)
        assert status == 403 and "not this emulator's address" in answer["error"]["message"]
        status, _, _ = request(emu, "GET", "/_control/sessions", Host=host)
        assert status == 403
    assert len(emu.backend.sessions()) == 1  # nothing was reset
    for host in (f"localhost:{emu.port}", f"127.0.0.1:{emu.port}"):
        assert control(emu, "advance", {"seconds": 1}, Host=host)[0] == 200


@pytest.mark.parametrize(
    "content_type", [None, "application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
)
def test_control_refuses_what_a_cross_site_form_can_send(
    emu: Emulator, content_type: str | None
) -> None:
    with emu.build(TOKEN) as service:
        service.sessions().create(body={}).execute()
    headers = {"Origin": "https://attacker.example"}
    if content_type:
        headers["Content-Type"] = content_type
    status, answer_headers, body = request(emu, "POST", "/_control/reset", b"{}", **headers)
    assert status == 415 and b"application/json" in body
    assert "access-control-allow-origin" not in answer_headers
    assert len(emu.backend.sessions()) == 1
    # A custom header is as good as the JSON type: no form or simple request can send one.
    assert request(emu, "POST", "/_control/reset", b"{}", **{"X-Emulator-Control": "1"})[0] == 200
    assert emu.backend.sessions() == []


def test_control_answers_no_cors_and_refuses_its_preflight(emu: Emulator) -> None:
    origin = "https://attacker.example"
    _, headers, _ = request(
        emu,
        "OPTIONS",
        "/_control/reset",
        Origin=origin,
        **{
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert "access-control-allow-origin" not in headers
    _, headers, _ = request(emu, "GET", "/_control/sessions", Origin=origin)
    assert "access-control-allow-origin" not in headers
    # The API itself still answers browsers (CORS as Google's APIs do).
    _, headers, _ = request(
        emu, "OPTIONS", "/v1/sessions", Origin=origin, **{"Access-Control-Request-Method": "POST"}
    )
    assert headers["access-control-allow-origin"] == origin


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("advance", b'{"seconds": NaN}'),
        ("advance", b'{"seconds": Infinity}'),
        ("advance", b'{"seconds": 1e999}'),
        ("advance", b'{"seconds": -1}'),
        ("advance", b'{"seconds": 1e12}'),
        ("advance", b'{"seconds": "5"}'),
        ("config", b'{"poll_interval": 1e999}'),
        ("config", b'{"poll_interval": "1, "}'),
        ("config", b'{"poll_interval": 2, "session_lifetime": -Infinity}'),
        ("config", b'{"poll_interval": 2, "library_size": -1}'),
        ("config", b'{"poll_interval": 2, "max_page_size": 0}'),
        ("config", b'{"poll_interval": 2, "base_url_lifetime": 0}'),
        ("seed", b'{"token": "net-user", "count": -3}'),
        ("seed", b'{"token": "net-user", "count": 1000000000}'),
        ("faults", b'{"method": "sessions.get", "faults": [{"latency": NaN}]}'),
        ("faults", b'{"method": "sessions.get", "faults": [{"latency": 1e999}]}'),
        ("faults", b'{"method": "sessions.get", "faults": [{"latency": -1}]}'),
        ("faults", b'{"method": "sessions.get", "faults": [{"status": 503, "retry_after": NaN}]}'),
        ("faults", b'{"method": "sessions.get", "faults": [{"stall": 1e300}]}'),
    ],
)
def test_control_refuses_numbers_out_of_range_and_changes_nothing(
    emu: Emulator, path: str, raw: bytes
) -> None:
    before = (emu.backend.now(), emu.backend.config, emu.library(TOKEN))
    status, _, body = request(
        emu, "POST", f"/_control/{path}", raw, **{"Content-Type": "application/json"}
    )
    assert status == 400, body
    assert json.loads(body)["error"]["message"]
    assert emu.backend.config == before[1]
    assert emu.library(TOKEN) == before[2]
    assert emu.backend.pending_faults() == 0
    # The clock follows the wall clock; it must not have jumped (or turned NaN).
    assert 0 <= (emu.backend.now() - before[0]).total_seconds() < 3600
