"""A small loopback media host for the media tests: real HTTP on 127.0.0.1, scripted faults.

Serves ``/<generation>/<key>=<suffix>`` for registered items:

* ``=d`` on a photo: deterministic bytes of the item's size, with its Content-Type;
* ``=dv`` on a video: deterministic bytes, ``video/mp4``; ``=d`` on a video: a small JPEG-ish
  "thumbnail", so a test can tell that the wrong suffix was used;
* ``=wW-hH[-c]``: a small PNG, ``image/png``.

Every request is recorded with its headers (so tests assert, server-side, where an
Authorization header went). A request without ``Authorization: Bearer <token>`` gets 401; a
request under an expired generation gets 403. ``Range: bytes=N-`` is honoured (206 with
Content-Range) unless the item says otherwise. Per-key faults are consumed one per request:
``("status", code, headers)``, ``("drop", n)`` (send the headers and ``n`` bytes, then close),
``("redirect", url)``, ``("stall", n)`` (send ``n`` bytes, set ``stalled``, wait for
``release``, then close), ``("ignore_range",)`` (answer 200 with everything), ``("bad_range",)``
(a 206 starting one byte later than asked). A ``gate`` (a Barrier) makes requests wait for each other, which proves
concurrency without timing anything.
"""

from __future__ import annotations

import hashlib
import random
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_PERIOD = 65521  # a prime, so a resume at the wrong offset shows in the bytes
_CHUNK = 1 << 20


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = _png()
THUMBNAIL = b"\xff\xd8\xff\xe0" + b"video-thumbnail" * 10 + b"\xff\xd9"


def _block(key: str) -> bytes:
    return random.Random(key).randbytes(_PERIOD)


def content(key: str, size: int) -> Iterator[bytes]:
    """The bytes served for ``key``, in chunks (so 200 MiB never sits in memory)."""
    return _content(_block(key), 0, size)


def _content(block: bytes, start: int, end: int) -> Iterator[bytes]:
    repeated = block * (_CHUNK // _PERIOD + 2)
    pos = start
    while pos < end:
        n = min(_CHUNK, end - pos)
        offset = pos % _PERIOD
        yield repeated[offset : offset + n]
        pos += n


def digest(key: str, size: int) -> str:
    sha = hashlib.sha256()
    for chunk in content(key, size):
        sha.update(chunk)
    return sha.hexdigest()


@dataclass
class Item:
    size: int
    content_type: str = "image/jpeg"
    video: bool = False
    ranges: bool = True
    etag: str | None = None
    redirect: str | None = None  # every =dv request is redirected here (like video-downloads)
    faults: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class Request:
    origin: str
    method: str
    path: str
    headers: dict[str, str]

    @property
    def authorization(self) -> str | None:
        for name, value in self.headers.items():
            if name.lower() == "authorization":
                return value
        return None


class MediaServer:
    """One origin (``http://127.0.0.1:<port>``); start two for an allowed and a foreign host."""

    def __init__(self, token: str = "test-token") -> None:
        self.token = token
        self.items: dict[str, Item] = {}
        self.requests: list[Request] = []
        self.expired: set[str] = set()
        self.gate: threading.Barrier | None = None
        self.stalled = threading.Event()  # set when a ("stall", n) fault has sent its n bytes
        self.release = threading.Event()  # then the answer waits for this, and ends short
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def add(self, key: str, size: int = 1000, **kwargs: Any) -> Item:
        item = Item(size=size, **kwargs)
        self.items[key] = item
        return item

    def url(self, key: str, generation: str = "g1") -> str:
        return f"{self.origin}/{generation}/{key}"

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    # -- serving ----------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests.append(Request(self.origin, h.command, h.path, dict(h.headers.items())))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        done = False

        def leave() -> None:
            nonlocal done
            if not done:
                done = True
                with self._lock:
                    self.in_flight -= 1

        self._local.leave = leave
        try:
            self._answer(h, leave)
        finally:
            leave()

    def _simple(
        self, h: BaseHTTPRequestHandler, code: int, headers: dict[str, str] | None = None
    ) -> None:
        body = f"status {code}".encode()
        h.send_response(code)
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.send_header("Content-Type", "text/plain")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        self._local.leave()
        h.wfile.write(body)

    def _answer(self, h: BaseHTTPRequestHandler, leave: Any) -> None:
        match = re.fullmatch(r"/([^/]+)/([^/=]+)=(.+)", h.path)
        item = self.items.get(match.group(2)) if match else None
        if match is None or item is None:
            return self._simple(h, 404)
        generation, key, suffix = match.groups()
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            return self._simple(h, 401)
        if self.gate is not None:
            try:
                self.gate.wait()
            except threading.BrokenBarrierError:
                return self._simple(h, 500)
        if generation in self.expired:
            return self._simple(h, 403)
        fault = item.faults.pop(0) if item.faults else None
        if fault and fault[0] == "status":
            return self._simple(h, fault[1], fault[2] if len(fault) > 2 else {})
        if fault and fault[0] == "redirect":
            return self._simple(h, 302, {"Location": fault[1]})
        if item.redirect and suffix == "dv":
            return self._simple(h, 302, {"Location": item.redirect})

        if suffix == "d" and item.video:
            return self._bytes(h, THUMBNAIL, "image/jpeg")
        if re.fullmatch(r"w\d+-h\d+(-c)?", suffix):
            return self._bytes(h, PNG, "image/png")
        if (suffix == "dv") != item.video or suffix not in ("d", "dv"):
            return self._simple(h, 400)

        start = 0
        requested = h.headers.get("Range")
        ranged = bool(item.ranges and requested)
        if ranged:
            range_match = re.fullmatch(r"bytes=(\d+)-", requested or "")
            if_range = h.headers.get("If-Range")
            if range_match is None or (if_range is not None and if_range != item.etag):
                ranged = False
            else:
                start = int(range_match.group(1))
        if fault and fault[0] == "ignore_range":
            ranged, start = False, 0
        if ranged and fault and fault[0] == "bad_range":
            start += 1  # answers bytes the client did not ask for
        if ranged and start >= item.size:
            return self._simple(h, 416, {"Content-Range": f"bytes */{item.size}"})
        h.send_response(206 if ranged else 200)
        h.send_header("Content-Type", item.content_type)
        h.send_header("Content-Length", str(item.size - start))
        if item.ranges:
            h.send_header("Accept-Ranges", "bytes")
        if item.etag:
            h.send_header("ETag", item.etag)
        if ranged:
            h.send_header("Content-Range", f"bytes {start}-{item.size - 1}/{item.size}")
        h.end_headers()
        limit = item.size
        if fault and fault[0] in ("drop", "stall"):
            limit = min(item.size, start + fault[1])
        chunks = list(_chunk_bounds(start, limit))
        block = _block(key)
        for i, (lo, hi) in enumerate(chunks):
            if i == len(chunks) - 1 and limit == item.size:
                leave()  # the client cannot start its next request before this last chunk
            for data in _content(block, lo, hi):
                h.wfile.write(data)
        h.wfile.flush()
        if fault and fault[0] == "stall":
            self.stalled.set()
            self.release.wait(30)
        if limit < item.size:
            h.close_connection = True

    def _bytes(self, h: BaseHTTPRequestHandler, body: bytes, content_type: str) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        self._local.leave()
        h.wfile.write(body)


def _chunk_bounds(start: int, end: int) -> Iterator[tuple[int, int]]:
    pos = start
    while pos < end:
        yield pos, min(end, pos + _CHUNK)
        pos += _CHUNK
