"""The body read into a reused buffer, over real HTTP from the emulator's media origin.

Each worker reads bodies into one buffer it keeps for every answer. What must hold whatever
the buffer held before: a file gets exactly the bytes its answer carried (never a previous
file's bytes from the rest of the buffer), a body cut off mid-buffer keeps every byte that
arrived and is resumed from there, a connection that breaks mid-buffer is resumed from what is
on disk, and a body read to its end gives its connection back for the next request.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import inspect
import io
import threading
from pathlib import Path
from typing import Any

import requests
import urllib3
from google.auth.transport.requests import AuthorizedSession
from google.oauth2.credentials import Credentials

from picker_discovery._media.body import body_chunks, release, worker_buffer
from picker_discovery._media.pool import Downloader
from picker_discovery._retry import RetryPolicy
from picker_discovery.testing import Fault
from tests.emulated_media import TOKEN, MediaHost, emu, server

__all__ = ["emu", "server"]  # fixtures

CHUNK = 65_536


class Sessions:
    """A session factory that keeps what it made, to look at their connection pools."""

    def __init__(self) -> None:
        self.made: list[requests.Session] = []

    def __call__(self) -> requests.Session:
        session = AuthorizedSession(Credentials(token=TOKEN))
        session.trust_env = False
        self.made.append(session)
        return session


def make(server: MediaHost, sleeps: list[float], **kwargs: Any) -> Downloader:
    kwargs.setdefault("session_factory", Sessions())
    return Downloader(
        allowed_hosts=[server.origin],
        retry=RetryPolicy(max_attempts=3, random=lambda: 0.0),
        sleep=sleeps.append,
        **kwargs,
    )


def photo(server: MediaHost, key: str, size: int, *faults: Fault) -> dict[str, Any]:
    server.add(key, size)
    server.fault(key, *faults)
    media_file = {"baseUrl": server.url(key), "mimeType": "image/jpeg", "filename": f"{key}.jpg"}
    return {"id": key, "type": "PHOTO", "mediaFile": media_file}


def socket_of(answer: requests.Response) -> Any:
    """The socket an answer came over (while it is being read)."""
    connection = answer.raw.connection
    assert connection is not None
    return connection.sock


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ranges(server: MediaHost) -> list[str | None]:
    return [attempt.headers.get("range") for attempt in server.requests]


def test_a_shorter_file_after_a_longer_one_gets_none_of_its_bytes(
    server: MediaHost, tmp_path: Path
) -> None:
    # One worker, one buffer: the long file fills it whole; the short ones that follow end
    # mid-buffer, over bytes of the file before them.
    items = [
        photo(server, "long", 5 * CHUNK + 123),
        photo(server, "short", CHUNK // 2 + 7),
        photo(server, "tiny", 10),
    ]
    sleeps: list[float] = []

    result = make(server, sleeps, workers=1, chunk_size=CHUNK).download_items(items, tmp_path)

    assert result.ok, result.failed
    for done in result.downloaded:
        assert done.path.stat().st_size == done.size == server.items[done.item_id].size
        assert sha(done.path) == server.digest(done.item_id), done.item_id
    assert sleeps == []  # no answer looked longer than announced


def test_a_body_cut_off_mid_buffer_keeps_every_byte_and_resumes_there(
    server: MediaHost, tmp_path: Path
) -> None:
    size, cut = 1_000_000, 2 * CHUNK + 1_000  # the cut falls inside the third buffer
    item = photo(server, "p1", size, Fault(drop_after=cut))
    sleeps: list[float] = []

    result = make(server, sleeps, chunk_size=CHUNK).download_items([item], tmp_path)

    assert result.ok, result.failed
    assert sha(result.downloaded[0].path) == server.digest("p1")
    assert ranges(server) == [None, f"bytes={cut}-"]
    assert len(sleeps) == 1


def test_a_body_that_ends_short_twice_with_the_default_buffer_is_completed(
    server: MediaHost, tmp_path: Path
) -> None:
    # Neither cut falls on a multiple of the default buffer: each attempt ends mid-buffer.
    size = 3_000_000
    default = inspect.signature(Downloader).parameters["chunk_size"].default
    assert 700_001 % default and 900_000 % default
    item = photo(server, "p1", size, Fault(drop_after=700_001), Fault(drop_after=900_000))
    sleeps: list[float] = []

    result = make(server, sleeps).download_items([item], tmp_path)

    assert result.ok, result.failed
    assert result.downloaded[0].size == size
    assert sha(result.downloaded[0].path) == server.digest("p1")
    assert ranges(server) == [None, "bytes=700001-", "bytes=1600001-"]


def test_a_connection_that_stalls_mid_buffer_is_resumed_from_what_is_on_disk(
    server: MediaHost, tmp_path: Path
) -> None:
    # Half the body, then nothing: the read times out inside a buffer. What that unfinished
    # read had is lost; every whole buffer before it is on disk and the resume asks for the rest.
    size = 10 * CHUNK + 500
    item = photo(server, "p1", size, Fault(stall=30))
    sleeps: list[float] = []

    result = make(server, sleeps, chunk_size=CHUNK, timeout=(5.0, 0.5)).download_items(
        [item], tmp_path
    )

    assert result.ok, result.failed
    assert sha(result.downloaded[0].path) == server.digest("p1")
    first, resume = ranges(server)
    assert first is None and resume is not None
    start = int(resume.removeprefix("bytes=").removesuffix("-"))
    assert start % CHUNK == 0 and size // 2 - CHUNK < start <= size // 2
    assert len(sleeps) == 1


def test_a_body_read_to_its_end_gives_its_connection_back(
    server: MediaHost, tmp_path: Path
) -> None:
    items = [photo(server, f"p{n}", 100_000 + n) for n in range(5)]
    sockets: list[Any] = []  # kept, so that no two are ever the same object by reuse

    def factory() -> requests.Session:
        session = Sessions()()
        session.hooks["response"].append(lambda answer, **_: sockets.append(socket_of(answer)))
        return session

    sleeps: list[float] = []
    result = make(server, sleeps, workers=1, session_factory=factory).download_items(
        items, tmp_path
    )

    assert result.ok, result.failed
    assert len(sockets) == 5 and all(sock is sockets[0] for sock in sockets)  # one connection


class _Wire:
    """What http.client reads an answer from: these bytes, as a socket's file."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self.data)


def answer(body: bytes, **headers: str) -> requests.Response:
    """A streamed ``requests`` answer over a real ``http.client`` response of ``body``."""
    head = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    wire = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body
    original = http.client.HTTPResponse(_Wire(wire))  # type: ignore[arg-type]
    original.begin()
    response = requests.Response()
    response.status_code = 200
    response.headers.update(dict(original.getheaders()))
    response.raw = urllib3.HTTPResponse(
        body=original,
        headers=dict(original.getheaders()),
        status=200,
        preload_content=False,
        original_response=original,
    )
    return response


def test_a_plain_body_is_read_into_the_buffer_itself() -> None:
    body = bytes(range(256)) * 300
    buffer = memoryview(bytearray(b"\xff" * CHUNK))

    chunks = list(body_chunks(answer(body), buffer))

    assert all(isinstance(c, memoryview) and c.obj is buffer.obj for c in chunks)
    assert [len(c) for c in chunks] == [CHUNK] * (len(body) // CHUNK) + [len(body) % CHUNK]
    assert bytes(chunks[-1]) == body[-(len(body) % CHUNK) :]  # only this answer's bytes


def test_a_content_coded_body_is_decoded_as_requests_would() -> None:
    # The server was asked for identity; if it codes the body anyway, urllib3 decodes it
    # (the raw bytes would be the gzip stream, not the file).
    plain = bytes(range(256)) * 300
    buffer = memoryview(bytearray(b"\xff" * CHUNK))

    chunks = body_chunks(answer(gzip.compress(plain), Content_Encoding="gzip"), buffer)

    assert b"".join(bytes(chunk) for chunk in chunks) == plain


def test_each_worker_thread_keeps_its_own_buffer() -> None:
    seen: dict[str, tuple[object, int]] = {}
    # Both threads hold their buffers until both have looked: a thread's buffer is freed
    # when the thread ends, and a new one could then be given the same address.
    both_looked = threading.Barrier(2, timeout=10)

    def worker(name: str) -> None:
        first, again = worker_buffer(CHUNK), worker_buffer(CHUNK)
        assert first.obj is again.obj  # the same buffer for every answer of this thread
        seen[name] = (first.obj, len(worker_buffer(2 * CHUNK)))
        both_looked.wait()

    threads = [threading.Thread(target=worker, args=(f"t{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen["t0"][0] is not seen["t1"][0]
    assert seen["t0"][1] == seen["t1"][1] == 2 * CHUNK  # a new size asked for, a new buffer


def test_release_leaves_an_unfinished_answer_to_be_closed(server: MediaHost) -> None:
    server.add("p1", 500_000)
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        session.trust_env = False
        response = session.get(server.url("p1") + "=d", stream=True, timeout=10)
        first = socket_of(response)
        chunks = body_chunks(response, memoryview(bytearray(CHUNK)))
        assert len(next(chunks)) == CHUNK
        release(response)  # not read to its end: the connection is not handed back
        assert response.raw.connection is not None
        response.close()
        assert first.fileno() == -1  # closed, with the rest of the body unread
        again = session.get(server.url("p1") + "=d", stream=True, timeout=10)
        assert socket_of(again) is not first
        assert sum(len(c) for c in body_chunks(again, memoryview(bytearray(CHUNK)))) == 500_000
        release(again)
        assert again.raw.connection is None  # read to its end: back in the pool
        again.close()
