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

Each server runs its connections on a bounded pool of worker threads, and a network cannot
starve it (see :mod:`._server`): a connection idle too long, or too slow to send its headers
or body, is closed; a client may hold only so many connections, the longest idle closed first
when it opens more; a request with a broken ``Content-Length`` gets a 400 at once (see
:mod:`._handler`). :meth:`Emulator.stop` (or leaving the ``with`` block) closes the listening
sockets and every open connection, ends every scripted wait, and waits for the workers, so no
thread outlives the emulator.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

from picker_discovery._clock import FakeClock
from picker_discovery._errorbase import BadArgument, InvalidState
from picker_discovery.testing._emulator_oauth import OAuthControls
from picker_discovery.testing._handler import Handler
from picker_discovery.testing._server import Limits, Server
from picker_discovery.testing.app import App
from picker_discovery.testing.backend import Attempt, Backend, Fault
from picker_discovery.testing.library import MediaItem

if TYPE_CHECKING:
    from picker_discovery._service_types import PhotospickerResource

__all__ = ["Emulator"]

logger = logging.getLogger(__name__)


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
        idle_timeout: seconds a connection may wait for its next request (30).
        header_timeout: seconds from a request's first byte to its last header (10).
        body_timeout: seconds to read a request's body (30).
        max_connections_per_client: the most connections one IP address may hold open per
            origin; 0 (the default) means ``workers``. Over the cap, its longest-idle
            connection is closed; if all are busy answering, the new one gets a 503.
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
        idle_timeout: float = 30.0,
        header_timeout: float = 10.0,
        body_timeout: float = 30.0,
        max_connections_per_client: int = 0,
        **settings: Any,
    ) -> None:
        limits = Limits(
            idle_timeout=idle_timeout,
            header_timeout=header_timeout,
            body_timeout=body_timeout,
            max_connections_per_client=max_connections_per_client,
        )
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
        self._limits = limits
        self._servers: list[Server] = []
        self._threads: list[threading.Thread] = []

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind both ports, point the backend's URLs at them and serve in the background."""
        if self._servers:
            raise InvalidState("the emulator is already running")
        started: list[Server] = []
        try:
            for origin, port in (
                ("api", self._ports[0]),
                ("media", self._ports[1]),
                ("downloads", 0),
            ):
                started.append(
                    Server(
                        (self._host, port), self.app, origin, self._workers, Handler, self._limits
                    )
                )
        except OSError:
            for server in started:
                server.close_all()
            raise
        self._servers = started
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
        """Stop the servers and wait for their threads: within moments, even while scripted
        latencies, stalls or gatherings are waiting (they end at once). Safe to call twice."""
        for server in self._servers:
            server.closing.set()  # ends every scripted wait, on every origin, first
            server.app.release_gatherings()
        for server in self._servers:
            server.shutdown()
        for thread in self._threads:
            thread.join()
        for server in self._servers:
            server.begin_close()
        for server in self._servers:
            server.finish_close()
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
            server.reset_max_in_flight()

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

    def connections(self, origin: str = "api") -> dict[str, int]:
        """How many connections one origin holds open now, by phase: ``idle`` (waiting for a
        request), ``headers``, ``body`` (still being sent) and ``busy`` (being answered)."""
        for server in self._servers:
            if server.origin == origin:
                return server.connections()
        raise BadArgument(f"no origin {origin!r} (the emulator runs api, media and downloads)")

    def attempts(self, method: str | None = None) -> list[Attempt]:
        return self.backend.attempts(method)
