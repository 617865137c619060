"""The notebook's thumbnail fetcher stops reading at its size cap (4 MiB), over real HTTP.

A thumbnail is ``baseUrl=w256-h256-c``: a few kilobytes. A host that answers far more (a
misbehaving server, a URL that is not a thumbnail) must not be read to the end into memory.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from picker_discovery.notebook import ThumbnailError, ThumbnailFetcher
from picker_discovery.notebook._pick import _MAX_THUMBNAIL_BYTES
from tests.loopback import Handler

Serve = Callable[[Handler], str]
CHUNK = 64 * 1024


class Sent:
    """How many body bytes the server managed to hand to the connection."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bytes = 0
        self.done = threading.Event()

    def add(self, count: int) -> None:
        with self.lock:
            self.bytes += count


def image_of(size: int, sent: Sent, *, announce: bool = True) -> Handler:
    """Answer a PNG of ``size`` bytes (its length announced, or not: read to the close)."""

    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "image/png")
        if announce:
            request.send_header("Content-Length", str(size))
        request.end_headers()
        request.close_connection = True
        left = size
        try:
            while left > 0:
                piece = min(CHUNK, left)
                request.wfile.write(b"\0" * piece)
                sent.add(piece)
                left -= piece
            request.wfile.flush()
        except OSError:  # the client hung up
            pass
        finally:
            sent.done.set()

    return handle


def fetch(url: str) -> bytes:
    origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(url))
    fetcher = ThumbnailFetcher(session_factory=requests.Session, allowed_hosts=[origin])
    return fetcher(f"{origin}/ppa/item=w256-h256-c").data


def test_a_thumbnail_at_the_cap_is_accepted(server: Serve, no_proxy: None) -> None:
    sent = Sent()
    assert len(fetch(server(image_of(_MAX_THUMBNAIL_BYTES, sent)))) == _MAX_THUMBNAIL_BYTES


@pytest.mark.parametrize("announce", [True, False])
def test_an_answer_past_the_cap_is_cut_off_at_the_cap(
    server: Serve, no_proxy: None, announce: bool
) -> None:
    sent = Sent()
    offered = 256 * 1024 * 1024  # far more than the cap plus what socket buffers can hold
    url = server(image_of(offered, sent, announce=announce))
    with pytest.raises(ThumbnailError, match="larger than 4 MiB"):
        fetch(url)
    assert sent.done.wait(30), "the server was still sending after the fetch gave up"
    # The client stopped reading at the cap: the server could hand over only the cap, a
    # chunk and what the loopback socket buffers hold (a few MiB), not the 256 MiB offered.
    assert sent.bytes < _MAX_THUMBNAIL_BYTES + 32 * 1024 * 1024


def test_one_byte_past_the_cap_is_refused(server: Serve, no_proxy: None) -> None:
    sent = Sent()
    with pytest.raises(ThumbnailError, match="larger than 4 MiB"):
        fetch(server(image_of(_MAX_THUMBNAIL_BYTES + 1, sent)))
