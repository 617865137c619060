"""One run of the downloader: its shared state, each item's plan, and how a run is stopped."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import requests
import urllib3.connection
import urllib3.connectionpool
import urllib3.response
import urllib3.util

from picker_discovery._media.folder import _Folder
from picker_discovery._media.items import ListedItem, Size
from picker_discovery._media.listing import _Refresher


class _Cancelled(Exception):
    pass


@dataclass
class _Job:
    index: int
    listed: ListedItem
    item_id: str
    filename: str | None
    variant: str
    stem: str  # the name claimed in the folder, without extension
    base: str  # the safe stem it was made from, for the next free name


@dataclass
class _Run:
    folder: _Folder
    refresher: _Refresher
    size: Size | None
    not_ready: Literal["skip", "wait", "fail"]
    stop: threading.Event
    items_done: int = 0
    items_total: int | None = None
    # What the workers are blocked on: an answer's body, or a connection awaiting its head.
    reading: set[requests.Response | urllib3.connection.HTTPConnection] = field(default_factory=set)
    reading_lock: threading.Lock = field(default_factory=threading.Lock)

    def cancel(self) -> None:
        """Stop the run: no new item or request starts, and answers being waited for or read
        are cut off, so a worker blocked on a stalled server wakes now, not at its read
        timeout."""
        self.stop.set()
        with self.reading_lock:
            blocked = list(self.reading)
        for what in blocked:
            _cut(what)

    @contextlib.contextmanager
    def read(self, what: requests.Response | urllib3.connection.HTTPConnection) -> Iterator[None]:
        """Let :meth:`cancel` cut ``what`` off while the block reads from it."""
        with self.reading_lock:
            self.reading.add(what)
        try:
            if self.stop.is_set():  # cancelled before it could be cut off
                raise _Cancelled()
            yield
        finally:
            with self.reading_lock:
                self.reading.discard(what)


def _cut(what: requests.Response | urllib3.connection.HTTPConnection) -> None:
    """Shut the socket under an answer (or a connection) down, which wakes a thread blocked
    reading it (closing the socket would not). Best effort: without a socket, nothing."""
    connection = what if isinstance(what, urllib3.connection.HTTPConnection) else None
    if connection is None:
        connection = getattr(getattr(what, "raw", None), "connection", None)
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


_worker = threading.local()  # .run: the _Run the current worker thread is downloading for


class _CuttableConnection(urllib3.connection.HTTPConnection):
    """A connection a cancelled run can cut off while it waits for an answer's head."""

    def getresponse(self) -> urllib3.response.HTTPResponse:  # type: ignore[override]
        run: _Run | None = getattr(_worker, "run", None)
        if run is None:
            return super().getresponse()
        with run.read(self):
            return super().getresponse()


class _CuttableHTTPSConnection(urllib3.connection.HTTPSConnection, _CuttableConnection):
    pass


class _CuttablePool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _CuttableConnection


class _CuttableHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _CuttableHTTPSConnection


def _make_cuttable(session: requests.Session) -> None:
    """Have ``session``'s connections register with the worker's run while they wait for an
    answer's head (a server that stalls before answering), where urllib3's own pools are in
    use; any other transport is left as it is."""
    defaults = {
        "http": urllib3.connectionpool.HTTPConnectionPool,
        "https": urllib3.connectionpool.HTTPSConnectionPool,
    }
    adapters = getattr(session, "adapters", None)
    for adapter in adapters.values() if isinstance(adapters, Mapping) else ():
        manager: Any = getattr(adapter, "poolmanager", None)
        classes = getattr(manager, "pool_classes_by_scheme", None)
        if isinstance(classes, dict) and classes == defaults:
            # A dict of its own: urllib3's default one is shared by every pool manager.
            manager.pool_classes_by_scheme = {"http": _CuttablePool, "https": _CuttableHTTPSPool}
