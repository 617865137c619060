"""The loopback emulator: the fake Picker service over real HTTP on 127.0.0.1.

::

    from picker_discovery.testing import Emulator
    with Emulator() as emu:
        service = emu.build(token="alice")          # picker_discovery.build() pointed at it
        session = service.sessions().create(body={}).execute()
        emu.pick(session["id"], first=3)            # or open session["pickerUri"] in a browser
        ...

Three servers, three ports: the API origin (the four methods under ``/v1/``, the discovery
document at ``/$discovery/rest?version=v1`` with ``rootUrl`` pointing here, the picking page
under ``/pick/`` and the control endpoints under ``/_control/``) and a separate media origin
serving each item's ``baseUrl``, and a second media origin (``downloads_url``, as
video-downloads.googleusercontent.com is to lh3) serving the same paths, where a scripted
``Fault(redirect=...)`` can send a client. All answer through one :class:`~.backend.Backend`,
which the tests may also drive directly (``emu.backend``, or the shortcuts on :class:`Emulator`).

Each server runs its connections on a bounded pool of worker threads; :meth:`Emulator.stop`
(or leaving the ``with`` block) closes the listening sockets and every open connection and
waits for the workers, so no thread outlives the emulator.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

from picker_discovery._clock import FakeClock
from picker_discovery._errorbase import BadArgument, InvalidState
from picker_discovery.testing._emulator_oauth import OAuthControls
from picker_discovery.testing.app import App, Request, Response
from picker_discovery.testing.backend import Attempt, Backend, Fault
from picker_discovery.testing.library import MediaItem

if TYPE_CHECKING:
    from picker_discovery._service_types import PhotospickerResource

__all__ = ["Emulator"]

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
IDLE_TIMEOUT = 30.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "picker-emulator"
    sys_version = ""
    server: _Server
    _in_flight = False
    _sent = 0

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(IDLE_TIMEOUT)
        # Headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add about 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Method, path and status only: never headers or the query, so never a token.
        path = urllib.parse.urlsplit(self.path).path
        logger.debug("%s %s %s -> %s", self.server.origin, self.command, path, code)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s: %s", self.server.origin, format % args)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.send_error(413, "request body too large for the emulator")
            return
        body = self.rfile.read(length) if length else b""
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


class _Server(HTTPServer):
    """An HTTP server handling each connection on a bounded pool of threads."""

    allow_reuse_address = True
    request_queue_size = 128  # the default 5 resets connections when many clients start at once

    def __init__(self, address: tuple[str, int], app: App, origin: str, workers: int) -> None:
        self.app = app
        self.origin = origin
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"emu-{origin}")
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self.closing = threading.Event()  # ends scripted stalls when the emulator stops
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests answered at once
        super().__init__(address, _Handler)

    def enter(self) -> bool:
        with self._open_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return True

    def leave(self) -> None:
        with self._open_lock:
            self.in_flight -= 1

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        self._pool.submit(self._work, request, client_address)

    def _work(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)
            self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)

    def close_all(self) -> None:
        """Stop accepting, end open connections and wait for the workers."""
        self.closing.set()
        self.app.release_gatherings()
        self.server_close()
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._pool.shutdown(wait=True, cancel_futures=True)


class Emulator(OAuthControls):
    """The fake Picker service on loopback ports, as a context manager.

    It also plays Google's OAuth 2.0 on its API origin (:attr:`auth_uri`, :attr:`token_uri`,
    :attr:`revoke_uri`, :attr:`userinfo_uri`; :meth:`register_client`, :meth:`authorize`,
    :meth:`add_test_user`); ``auth="strict"`` makes unknown, expired or revoked tokens 401.

    Args:
        port, media_port: where to listen; 0 (the default) picks free ports.
        host: the address to bind, ``127.0.0.1`` by default (loopback only).
        backend: a backend to serve; by default a new one with ``clock`` and ``settings``.
        clock: the backend's clock. By default a ticking :class:`FakeClock` that follows the
            wall clock, so a client on the real clock (``PickerClient``'s default) agrees with
            the emulator on any date and for as long as it runs; ``advance`` still jumps it
            ahead. Pass a frozen ``FakeClock()`` shared with the client to take no real time.
        workers: the most connections served at once per origin.
        settings: :class:`~.backend.BackendConfig` fields for a new backend.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        media_port: int = 0,
        host: str = "127.0.0.1",
        backend: Backend | None = None,
        clock: FakeClock | None = None,
        workers: int = 64,
        **settings: Any,
    ) -> None:
        if backend is not None and (clock is not None or settings):
            raise BadArgument("pass a backend, or the clock and settings for a new one, not both")
        if backend is None:
            clock = clock if clock is not None else FakeClock(ticking=True)
            backend = Backend(clock=clock, **settings)
        self.backend = backend
        self.app = App(self.backend)
        self._host = host
        self._ports = (port, media_port)
        self._workers = workers
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind both ports, point the backend's URLs at them and serve in the background."""
        if self._servers:
            raise InvalidState("the emulator is already running")
        api = _Server((self._host, self._ports[0]), self.app, "api", self._workers)
        try:
            media = _Server((self._host, self._ports[1]), self.app, "media", self._workers)
        except OSError:
            api.close_all()
            raise
        try:
            downloads = _Server((self._host, 0), self.app, "downloads", self._workers)
        except OSError:
            api.close_all()
            media.close_all()
            raise
        self._servers = [api, media, downloads]
        self.backend.configure(
            api_root=self.url,
            picker_uri_prefix=f"{self.url}pick/",
            media_root=f"{self.media_url}ppa/",
        )
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"emulator-{server.origin}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        logger.info("Picker emulator serving %s (media %s)", self.url, self.media_url)
        return self

    def stop(self) -> None:
        """Stop both servers and wait for their threads. Safe to call twice."""
        for server in self._servers:
            server.shutdown()
        for thread in self._threads:
            thread.join()
        for server in self._servers:
            server.close_all()
        self._servers, self._threads = [], []

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return bool(self._servers)

    def _address(self, index: int) -> tuple[str, int]:
        if not self._servers:
            raise InvalidState("the emulator is not running; use it in a with block or start()")
        host, port = self._servers[index].server_address[:2]
        return str(host), int(port)

    @property
    def port(self) -> int:
        return self._address(0)[1]

    @property
    def media_port(self) -> int:
        return self._address(1)[1]

    @property
    def url(self) -> str:
        """The API origin, ``http://127.0.0.1:PORT/``: pass it as ``api_endpoint``."""
        host, port = self._address(0)
        return f"http://{host}:{port}/"

    @property
    def media_url(self) -> str:
        """The media origin baseUrls live on, ``http://127.0.0.1:MEDIA_PORT/``."""
        host, port = self._address(1)
        return f"http://{host}:{port}/"

    @property
    def downloads_url(self) -> str:
        """The second media origin, ``http://127.0.0.1:PORT/``: the same ``/ppa/`` paths as
        :attr:`media_url`, another origin (a redirect's target, on or off an allowlist)."""
        host, port = self._address(2)
        return f"http://{host}:{port}/"

    @property
    def discovery_url(self) -> str:
        return f"{self.url}$discovery/rest?version=v1"

    def build(self, token: str = "emulator-token", **kwargs: Any) -> PhotospickerResource:
        """``picker_discovery.build()`` aimed at this emulator, authorized as ``token``."""
        import google.oauth2.credentials

        from picker_discovery._service import build

        credentials = google.oauth2.credentials.Credentials(token=token)
        return build(credentials=credentials, client_options={"api_endpoint": self.url}, **kwargs)

    # -- controls (the same as the /_control/ endpoints) ----------------------------------------

    def reset(self) -> None:
        self.backend.reset()
        for server in self._servers:
            with server._open_lock:
                server.max_in_flight = server.in_flight

    def seed_library(self, token: str, **kwargs: Any) -> Any:
        return self.backend.seed_library(token, **kwargs)

    def library(self, token: str) -> list[MediaItem]:
        return self.backend.library(token)

    def set_processing_status(self, token: str, item_id: str, status: str) -> MediaItem:
        return self.backend.set_processing_status(token, item_id, status)

    def pick(
        self, session_id: str, item_ids: Sequence[str] | None = None, *, first: int | None = None
    ) -> list[str]:
        return self.backend.pick(session_id, item_ids, first=first)

    def expire_session(self, session_id: str) -> None:
        self.backend.expire_session(session_id)

    def expire_base_urls(self, session_id: str) -> None:
        self.backend.expire_base_urls(session_id)

    def advance(self, seconds: float | timedelta) -> datetime:
        return self.backend.advance(seconds)

    def set_faults(
        self,
        method: str,
        faults: Iterable[Fault | int | Mapping[str, Any] | None],
        *,
        item_id: str | None = None,
    ) -> None:
        self.backend.set_faults(method, faults, item_id=item_id)

    def clear_faults(self) -> None:
        self.backend.clear_faults()

    def max_in_flight(self, origin: str = "media") -> int:
        """The most requests one origin (``"api"``, ``"media"`` or ``"downloads"``) was
        answering at once since the emulator started (or since :meth:`reset`)."""
        for server in self._servers:
            if server.origin == origin:
                return server.max_in_flight
        raise BadArgument(f"no origin {origin!r} (the emulator runs api, media and downloads)")

    def attempts(self, method: str | None = None) -> list[Attempt]:
        return self.backend.attempts(method)
