"""The emulator's socket server: a bounded pool of worker threads, and the rules that keep a
network from starving it.

Every open connection is in a table with its phase and a deadline, and a watchdog thread
closes any connection whose deadline passed:

* ``idle``: waiting for a request (a new connection, or one kept alive between requests);
  closed after ``idle_timeout`` seconds.
* ``headers``: from a request's first byte to its last header line, at most
  ``header_timeout`` seconds in all, however slowly the bytes drip in.
* ``body``: reading a request body, at most ``body_timeout`` seconds in all.
* ``busy``: answering (latency and stall faults may hold it as long as they were scripted).

A client (an IP address) may keep at most ``max_connections_per_client`` connections open,
and the server as a whole as many as it has workers. A new connection over either cap closes
the connection that has waited longest for a request (then the slowest one still sending
headers); if every connection of that client is busy answering, the new one gets a 503 and
is closed at once. So idle or dripping connections cannot keep a client that means business
waiting (Google's front ends limit connections in the same spirit; the numbers are ours).
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import HTTPServer
from typing import Any

from picker_discovery._errorbase import BadArgument
from picker_discovery.testing.app import App

__all__ = ["Limits", "Server"]

logger = logging.getLogger("picker_discovery.testing.emulator")

WATCH_INTERVAL = 0.1  # how often the watchdog looks for connections past their deadline
_BUSY_503 = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=UTF-8\r\n"
    b"Content-Length: 43\r\nConnection: close\r\n\r\n"
    b"Too many connections from this client: busy"
)


@dataclass(frozen=True)
class Limits:
    """How long and how many: the emulator's defences against a network (all in seconds).

    ``max_connections_per_client`` of 0 means as many as the server has workers.
    """

    idle_timeout: float = 30.0
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections_per_client: int = 0
    max_body: int = 1024 * 1024

    def __post_init__(self) -> None:
        for name in ("idle_timeout", "header_timeout", "body_timeout"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value <= 0
            ):
                raise BadArgument(f"{name} must be a finite number of seconds > 0, not {value!r}")
        for name in ("max_connections_per_client", "max_body"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise BadArgument(f"{name} must be an int >= 0, not {value!r}")


class _Connection:
    """One open connection: who, in which phase, since when, until when."""

    __slots__ = ("client", "deadline", "opened", "phase", "since", "sock")

    def __init__(self, sock: socket.socket, client: str, now: float, deadline: float) -> None:
        self.sock = sock
        self.client = client
        self.phase = "idle"
        self.opened = self.since = now
        self.deadline: float | None = deadline


class Server(HTTPServer):
    """An HTTP server handling each connection on a bounded pool of threads."""

    allow_reuse_address = True
    request_queue_size = 128  # the default 5 resets connections when many clients start at once

    def __init__(
        self,
        address: tuple[str, int],
        app: App,
        origin: str,
        workers: int,
        handler: Any,
        limits: Limits | None = None,
    ) -> None:
        self.app = app
        self.origin = origin
        self.limits = limits or Limits()
        self.workers = workers
        self.per_client = min(workers, self.limits.max_connections_per_client or workers)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"emu-{origin}")
        self._open: dict[socket.socket, _Connection] = {}
        self._accepted: set[socket.socket] = set()  # not yet closed, evicted ones included
        self._open_lock = threading.Lock()
        self.closing = threading.Event()  # ends scripted stalls when the emulator stops
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests answered at once
        self.evicted = 0  # connections closed to make room, or past their deadline
        super().__init__(address, handler)
        self._watchdog = threading.Thread(
            target=self._watch, name=f"emu-{origin}-watchdog", daemon=True
        )
        self._watchdog.start()

    # -- requests in flight ---------------------------------------------------------------------

    def enter(self) -> bool:
        with self._open_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return True

    def leave(self) -> None:
        with self._open_lock:
            self.in_flight -= 1

    def reset_max_in_flight(self) -> None:
        with self._open_lock:
            self.max_in_flight = self.in_flight

    # -- the connection table -------------------------------------------------------------------

    def phase(self, sock: socket.socket, phase: str) -> None:
        """Move a connection to ``phase`` (``idle``, ``headers``, ``body`` or ``busy``), with
        that phase's deadline from now. A connection already in ``phase`` keeps its clock: a
        new connection is idle from its accept, not from when its worker thread got to it
        (threads start in no set order, and the longest idle goes first for room)."""
        timeout = {
            "idle": self.limits.idle_timeout,
            "headers": self.limits.header_timeout,
            "body": self.limits.body_timeout,
        }.get(phase)
        now = time.monotonic()
        with self._open_lock:
            conn = self._open.get(sock)
            if conn is not None and conn.phase != phase:
                conn.phase, conn.since = phase, now
                conn.deadline = None if timeout is None else now + timeout

    def alive(self, sock: socket.socket) -> bool:
        """Whether the connection is still open (not closed for a deadline or for room): a
        request whose headers were cut off must not be served as if they had ended."""
        with self._open_lock:
            return sock in self._open

    def connections(self) -> dict[str, int]:
        """How many connections are open in each phase."""
        with self._open_lock:
            counts: dict[str, int] = {}
            for conn in self._open.values():
                counts[conn.phase] = counts.get(conn.phase, 0) + 1
            return counts

    def _victim(self, client: str | None) -> _Connection | None:
        """The connection to close for room: the longest idle, then the slowest sending
        headers (of ``client``, or of anyone)."""
        candidates = [
            c
            for c in self._open.values()
            if c.phase in ("idle", "headers") and (client is None or c.client == client)
        ]
        if not candidates:
            return None
        return min(candidates, key=lambda c: (c.phase != "idle", c.since))

    def _close(self, conn: _Connection, why: str) -> None:
        logger.debug("%s: closing a connection from %s (%s)", self.origin, conn.client, why)
        self.evicted += 1
        self._open.pop(conn.sock, None)
        with contextlib.suppress(OSError):
            conn.sock.shutdown(socket.SHUT_RDWR)

    def process_request(self, request: Any, client_address: Any) -> None:
        client = str(client_address[0]) if client_address else "?"
        now = time.monotonic()
        with self._open_lock:
            while sum(1 for c in self._open.values() if c.client == client) >= self.per_client:
                victim = self._victim(client)
                if victim is None:
                    break
                self._close(victim, "its client opened one connection too many")
            else:
                victim = None
                while len(self._open) >= self.workers:
                    victim = self._victim(None)
                    if victim is None:
                        break  # every worker answers: the new one waits its turn
                    self._close(victim, "the server needs a worker for a new connection")
                self._open[request] = _Connection(
                    request, client, now, now + self.limits.idle_timeout
                )
                self._accepted.add(request)
                self._pool.submit(self._work, request, client_address)
                return
        # Every connection of this client is busy answering: refuse the new one.
        logger.debug("%s: refused a connection from %s: too many", self.origin, client)
        with contextlib.suppress(OSError):
            request.settimeout(1.0)
            request.sendall(_BUSY_503)
        self.shutdown_request(request)

    def _work(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            with self._open_lock:
                self._open.pop(request, None)
                self._accepted.discard(request)
            self.shutdown_request(request)

    def _watch(self) -> None:
        while not self.closing.wait(WATCH_INTERVAL):
            now = time.monotonic()
            with self._open_lock:
                late = [
                    c for c in self._open.values() if c.deadline is not None and c.deadline < now
                ]
                for conn in late:
                    self._close(conn, f"no complete request in time ({conn.phase})")

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)

    # -- stopping -------------------------------------------------------------------------------

    def begin_close(self) -> None:
        """Stop accepting and end every open connection and every scripted wait, at once."""
        self.closing.set()
        self.app.release_gatherings()
        self.server_close()
        with self._open_lock:
            sockets = list(self._accepted)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def finish_close(self) -> None:
        """Wait for the workers (each ends soon after :meth:`begin_close`)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._watchdog.join()
        with self._open_lock:  # connections still queued when the workers stopped
            left, self._accepted = list(self._accepted), set()
            self._open.clear()
        for sock in left:
            self.shutdown_request(sock)

    def close_all(self) -> None:
        self.begin_close()
        self.finish_close()
