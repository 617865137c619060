"""An answer's body read into a worker's reused buffer, straight from the connection.

``requests``' ``iter_content`` costs, for every chunk, a fresh zeroed ``bytearray`` that
``http.client`` reads into, a copy of it as ``bytes``, urllib3's bookkeeping and a Python
generator step. With many workers on few cores that per-chunk work (and the hand-over of the
GIL around each read) was most of a download's CPU. Here the body goes from the socket into one
``bytearray`` per worker thread, reused for every answer: ``http.client``'s ``readinto`` fills
it (one call per buffer, the socket reads inside it without the GIL), and the file is written
from a ``memoryview`` slice of exactly the bytes read, never the rest of the buffer (which may
hold an earlier file's bytes).

Where the answer is not ``http.client`` under urllib3 (another transport adapter), or its body
is content-coded (urllib3 would decode it), the body is read through ``iter_content`` as before.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator

import requests
import urllib3.response

__all__ = ["body_chunks", "release", "worker_buffer"]

_local = threading.local()  # .view: this thread's buffer; freed when the worker thread ends


def worker_buffer(size: int) -> memoryview:
    """This thread's reusable buffer of ``size`` bytes (made on first use, or when the size
    asked for changes)."""
    view: memoryview | None = getattr(_local, "view", None)
    if view is None or len(view) != size:
        view = memoryview(bytearray(size))
        _local.view = view
    return view


def _plain_body(response: requests.Response) -> http.client.HTTPResponse | None:
    """The ``http.client`` answer under ``response`` when its body can be read from it as sent:
    urllib3's own response, nothing of it read yet, and no content coding to undo."""
    raw = response.raw
    body = _read_body(raw)
    if body is None or raw.tell() != 0:
        return None
    if response.headers.get("Content-Encoding", "").strip().lower() not in ("", "identity"):
        return None
    return body


def body_chunks(response: requests.Response, buffer: memoryview) -> Iterator[memoryview | bytes]:
    """The body of ``response`` as it arrives, at most ``len(buffer)`` bytes at a time.

    Each chunk yielded is a slice of ``buffer`` holding exactly the bytes just read (or, on the
    fallback path, a ``bytes``); it is overwritten by the next, so use it before asking for
    more. A body that ends early (the server closed the connection) simply ends, with every
    byte that came (the caller compares its length with what was announced). A connection
    that breaks (reset, timed out) raises the usual ``requests`` exceptions and loses what the
    unfinished read had put in the buffer: at most one buffer, fetched again on the resume.

    Raises:
        requests.ConnectionError: the connection broke or timed out while reading.
        requests.exceptions.ChunkedEncodingError: a chunked body was malformed.
    """
    body = _plain_body(response)
    if body is None:
        yield from response.iter_content(len(buffer))
        return
    while True:
        try:
            got = body.readinto(buffer)
        except http.client.IncompleteRead as exc:
            raise requests.exceptions.ChunkedEncodingError(f"the body broke off: {exc!r}") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise requests.ConnectionError(f"the connection broke: {exc!r}") from exc
        if not got:
            return
        yield buffer[:got]


def release(response: requests.Response) -> None:
    """Give the connection under ``response`` back to its pool when its body was read to the
    announced end (so the next request reuses it); otherwise closing the answer closes it."""
    raw = response.raw
    body = _read_body(raw)
    if body is not None and body.isclosed() and body.length == 0 and not body.chunked:
        raw.release_conn()


def _read_body(raw: object) -> http.client.HTTPResponse | None:
    """The ``http.client`` answer inside urllib3's own response ``raw``, else None."""
    if type(raw) is not urllib3.response.HTTPResponse:
        return None
    body = getattr(raw, "_fp", None)
    return body if isinstance(body, http.client.HTTPResponse) else None
