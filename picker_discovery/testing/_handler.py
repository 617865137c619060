"""One connection of the emulator: read each request as a front end would (a body of a
checked ``Content-Length``, or ``Transfer-Encoding: chunked``), answer it through the
:class:`~.app.App`, and carry out the answer's scripted faults on the wire.

A request whose framing cannot be trusted (an invalid, negative or repeated-and-different
``Content-Length``, both a length and chunked coding, a malformed chunk) gets a 400 at once
and the connection is closed, since where its next request would start is unknown; a body
over the emulator's limit gets a 413, an unknown transfer coding a 501.
"""

from __future__ import annotations

import logging
import re
import socket
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from picker_discovery.testing._http import HTML_TYPE, google_html_error
from picker_discovery.testing.app import Request, Response

if TYPE_CHECKING:
    from picker_discovery.testing._server import Server

__all__ = ["Handler"]

logger = logging.getLogger("picker_discovery.testing.emulator")

# A single read or write that waits longer than this ends the connection; the server's
# watchdog bounds the whole of a request's headers and body far more tightly.
SOCKET_TIMEOUT = 60.0
_LENGTH_RE = re.compile(r"\d+")
_CHUNK_SIZE_RE = re.compile(rb"[0-9A-Fa-f]{1,8}")
MAX_TRAILERS = 100


class _BadFraming(Exception):
    """The request's body cannot be read: answer ``code`` and close the connection."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "picker-emulator"
    sys_version = ""
    server: Server
    _in_flight = False
    _sent = 0

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(SOCKET_TIMEOUT)
        # Headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add about 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self) -> None:
        # Waiting for a request is "idle"; from its first byte the headers must come in time.
        self.server.phase(self.connection, "idle")
        try:
            first = self.rfile.peek(1)  # type: ignore[attr-defined]
        except (OSError, ValueError):
            first = b""
        if not first:
            self.close_connection = True
            return
        self.server.phase(self.connection, "headers")
        super().handle_one_request()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Method, path and status only: never headers or the query, so never a token.
        path = urllib.parse.urlsplit(self.path).path
        logger.debug("%s %s %s -> %s", self.server.origin, self.command, path, code)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s: %s", self.server.origin, format % args)

    # -- reading the request --------------------------------------------------------------------

    def _read_body(self) -> bytes:
        """The request's body, read as its headers frame it (``_BadFraming`` if they lie)."""
        codings = [
            c.strip().lower()
            for value in self.headers.get_all("Transfer-Encoding") or []
            for c in value.split(",")
            if c.strip()
        ]
        lengths = {
            v.strip()
            for value in self.headers.get_all("Content-Length") or []
            for v in value.split(",")
        }
        if codings and lengths:
            raise _BadFraming(400, "both Content-Length and Transfer-Encoding")
        if codings:
            if codings != ["chunked"]:
                raise _BadFraming(501, f"transfer coding {', '.join(codings)}")
            self.server.phase(self.connection, "body")
            return self._read_chunked()
        if not lengths:
            return b""
        if len(lengths) > 1 or not _LENGTH_RE.fullmatch(next(iter(lengths))):
            raise _BadFraming(400, f"Content-Length {', '.join(sorted(lengths))}")
        text = next(iter(lengths))
        length = int(text) if len(text) <= 18 else self.server.limits.max_body + 1
        if length > self.server.limits.max_body:
            raise _BadFraming(413, f"a body of {length} bytes")
        if not length:
            return b""
        self.server.phase(self.connection, "body")
        body = self.rfile.read(length)
        if len(body) < length:
            raise ConnectionError("the client closed the connection mid-body")
        return body

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line.endswith(b"\n"):
                if not line:
                    raise ConnectionError("the client closed the connection mid-body")
                raise _BadFraming(400, "a chunk size line too long")
            size_text = line.split(b";", 1)[0].strip()
            if not _CHUNK_SIZE_RE.fullmatch(size_text):
                raise _BadFraming(400, f"chunk size {size_text[:20]!r}")
            size = int(size_text, 16)
            if size == 0:
                break
            total += size
            if total > self.server.limits.max_body:
                raise _BadFraming(413, "a chunked body over the limit")
            data = self.rfile.read(size)
            if len(data) < size:
                raise ConnectionError("the client closed the connection mid-chunk")
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise _BadFraming(400, "a chunk not followed by CRLF")
            parts.append(data)
        for _ in range(MAX_TRAILERS):  # trailer fields, ignored, then the empty line
            if self.rfile.readline(65537) in (b"\r\n", b"\n", b""):
                return b"".join(parts)
        raise _BadFraming(400, "too many trailer fields")

    def _refuse(self, problem: _BadFraming) -> None:
        logger.debug("%s: refused a request: %s", self.server.origin, problem)
        page = google_html_error(problem.code, urllib.parse.urlsplit(self.path).path)
        data = page.encode("utf-8")
        self.send_response(problem.code)
        self.send_header("Content-Type", HTML_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.close_connection = True

    def _serve(self) -> None:
        if not self.server.alive(self.connection):  # cut off mid-headers: never complete
            self.close_connection = True
            return
        try:
            body = self._read_body()
        except _BadFraming as problem:
            self._refuse(problem)
            return
        except (ConnectionError, OSError):
            self.close_connection = True
            return
        if not self.server.alive(self.connection):
            self.close_connection = True
            return
        self.server.phase(self.connection, "busy")
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(self.command, self.path, headers, body, self.server.origin)
        self._in_flight = self.server.enter()
        try:
            try:
                response = self.server.app.handle(request)
            except Exception:
                logger.exception("the emulator failed on %s %s", self.command, request.path)
                self.send_error(500, "the emulator failed; see its log")
                return
            self._send(response)
        finally:
            self._leave()

    # -- writing the answer ---------------------------------------------------------------------

    def _leave(self) -> None:
        if self._in_flight:
            self._in_flight = False
            self.server.leave()

    def _send(self, response: Response) -> None:
        self._sent = 0
        try:
            self._answer(response)
        finally:
            if response.attempt is not None:
                self.server.app.backend.note_sent(response.attempt, self._sent)

    def _write(self, data: bytes) -> None:
        """Write body bytes, counting those the connection took (see ``Attempt.sent``)."""
        self.wfile.write(data)
        self._sent += len(data)

    def _answer(self, response: Response) -> None:
        if response.gather and not self.server.app.gather(response.gather):
            logger.warning("%d requests never gathered; answering anyway", response.gather)
        if response.latency:
            self.server.closing.wait(response.latency)  # stopping the emulator ends it
            if self.server.closing.is_set():
                self.close_connection = True
                return
        if response.drop:
            self.close_connection = True
            self._shutdown_socket()
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        length = response.payload.length
        # A body whose end the headers do not tell (or tell wrongly) ends with the connection.
        closes = (
            response.truncate
            or response.no_length
            or bool(response.length_delta)
            or response.drop_after is not None
        )
        if not response.no_length:
            self.send_header("Content-Length", str(max(0, length + response.length_delta)))
        if closes:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        if response.drop_after is not None:
            for chunk in response.payload.chunks(0, min(length, response.drop_after)):
                self._write(chunk)
            self._shutdown_socket()
            return
        if response.no_length or response.length_delta:
            for chunk in response.payload.chunks():
                self._write(chunk)
            self._shutdown_socket()
            return
        if response.truncate:
            self._write(response.body[: response.payload.length // 2])
            self.wfile.flush()
            self._shutdown_socket()
            return
        if response.stall:
            self._send_stalling(response)
            return
        # The request counts as in flight until its last chunk is about to go: once the client
        # has that, it may start its next request before this thread gets to run again.
        pending: bytes | None = None
        for chunk in response.payload.chunks():
            if pending is not None:
                self._write(pending)
            pending = chunk
        self._leave()
        if pending is not None:
            self._write(pending)

    def _send_stalling(self, response: Response) -> None:
        """The first half of the body, nothing for ``stall`` seconds (or until the emulator
        stops), then the rest."""
        half = response.payload.length // 2
        self._write(b"".join(response.payload.chunks(0, half)))
        self.wfile.flush()
        self.server.closing.wait(response.stall)
        for chunk in response.payload.chunks(half):
            self._write(chunk)

    def _shutdown_socket(self) -> None:
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = _serve
