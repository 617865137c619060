"""Bytes that are not all there: short ranges and totals that change, from the emulator.

The emulator's media origin can be scripted (``set_faults("media", [...])``, or
``POST /_control/faults``) to answer in short ``206`` ranges, to hide the total, or to serve a
file whose size changed since the last request. Whatever it does, the downloader never
records a file whose length differs from the total the server announced.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import json
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from google.oauth2.credentials import Credentials

from picker_discovery import errors
from picker_discovery._media.pool import MANIFEST_NAME, Downloader
from picker_discovery._retry import RetryPolicy
from picker_discovery.testing import Backend, Fault, emulator, library
from picker_discovery.testing.app import App, Request
from tests.control import post_faults

TOKEN = "alice"
SIZE = 60_000

pytestmark = pytest.mark.usefixtures("no_proxy")


@pytest.fixture
def emu() -> Iterator[Any]:
    with emulator.Emulator() as running:
        yield running


def one_photo(emu: Any, size: int = SIZE) -> tuple[dict[str, Any], library.MediaItem]:
    """A picked photo of ``size`` bytes, as mediaItems.list answers it, and its library item."""
    photo = next(i for i in library.generate_library("range-tests", 10) if not i.is_video)
    photo = dataclasses.replace(photo, size=size)
    emu.seed_library(TOKEN, items=[photo])
    service = emu.build(token=TOKEN)
    session_id = service.sessions().create(body={}).execute()["id"]
    emu.pick(session_id, first=1)
    page = service.mediaItems().list(sessionId=session_id).execute()
    return page["mediaItems"][0], photo


def downloader(emu: Any, sleeps: list[float], **kwargs: Any) -> Downloader:
    return Downloader(
        Credentials(token=TOKEN),
        allowed_hosts=[emu.media_url.rstrip("/")],
        retry=RetryPolicy(max_attempts=3, random=lambda: 0.0),
        sleep=sleeps.append,
        **kwargs,
    )


def original_sha(item: library.MediaItem) -> str:
    sha = hashlib.sha256()
    for chunk in library.original_chunks(item, 0, item.size):
        sha.update(chunk)
    return sha.hexdigest()


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(folder: Path) -> list[dict[str, Any]]:
    path = folder / MANIFEST_NAME
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def ranges_asked(emu: Any) -> list[str]:
    return [a.path for a in emu.attempts("media")]


# -- short ranges --------------------------------------------------------------------------


def test_a_server_answering_in_4_kib_ranges_yields_the_whole_file(emu: Any, tmp_path: Path) -> None:
    raw, photo = one_photo(emu)
    pieces = -(-SIZE // 4096)
    emu.set_faults("media", [Fault(short_range=4096)] * pieces)
    sleeps: list[float] = []

    result = downloader(emu, sleeps).download_items([raw], tmp_path)

    assert result.ok, result.failed
    done = result.downloaded[0]
    assert done.size == SIZE == done.path.stat().st_size
    assert file_sha(done.path) == original_sha(photo)
    assert sleeps == []  # a short range is no failure: the next request continues at once
    assert len(emu.attempts("media")) == pieces
    assert [entry["size"] for entry in manifest(tmp_path)] == [SIZE]


def test_a_short_range_with_an_unknown_total_is_continued_not_taken_as_whole(
    emu: Any, tmp_path: Path
) -> None:
    raw, photo = one_photo(emu)
    emu.set_faults("media", [Fault(short_range=4096, hide_total=True)] * 3)
    sleeps: list[float] = []

    result = downloader(emu, sleeps).download_items([raw], tmp_path)

    assert result.ok, result.failed
    assert result.downloaded[0].size == SIZE
    assert file_sha(result.downloaded[0].path) == original_sha(photo)
    assert sleeps == []


def test_unknown_totals_to_the_end_are_confirmed_by_the_416_past_it(
    emu: Any, tmp_path: Path
) -> None:
    size = 10_000
    raw, photo = one_photo(emu, size)
    # Every answer hides the total; the request after the last byte gets 416 bytes */10000.
    emu.set_faults("media", [Fault(short_range=4096, hide_total=True)] * 4)
    sleeps: list[float] = []

    result = downloader(emu, sleeps).download_items([raw], tmp_path)

    assert result.ok, result.failed
    assert result.downloaded[0].size == size
    assert file_sha(result.downloaded[0].path) == original_sha(photo)
    assert len(emu.attempts("media")) == 4 and sleeps == []


# -- a total that changes ------------------------------------------------------------------


def test_a_file_that_grew_between_attempts_is_fetched_again_from_the_start(
    emu: Any, tmp_path: Path
) -> None:
    raw, photo = one_photo(emu)
    emu.set_faults("media", [Fault(truncate=True), Fault(size_delta=1000)])
    sleeps: list[float] = []

    result = downloader(emu, sleeps, chunk_size=4096).download_items([raw], tmp_path)

    assert result.ok, result.failed
    assert result.downloaded[0].size == SIZE
    assert file_sha(result.downloaded[0].path) == original_sha(photo)
    assert len(emu.attempts("media")) == 3  # cut short, a resume of another size, a restart


def test_a_file_that_shrank_below_the_resume_point_is_fetched_again(
    emu: Any, tmp_path: Path
) -> None:
    raw, photo = one_photo(emu)
    # The resume asks for the bytes after the first ~half; the file is now a quarter.
    emu.set_faults("media", [Fault(truncate=True), Fault(size_delta=-(SIZE * 3 // 4))])
    sleeps: list[float] = []

    result = downloader(emu, sleeps, chunk_size=4096).download_items([raw], tmp_path)

    assert result.ok, result.failed
    assert result.downloaded[0].size == SIZE
    assert file_sha(result.downloaded[0].path) == original_sha(photo)


def test_a_total_that_keeps_changing_fails_the_item_and_records_nothing(
    emu: Any, tmp_path: Path
) -> None:
    raw, _ = one_photo(emu)
    emu.set_faults(
        "media",
        [
            Fault(short_range=4096),
            Fault(short_range=4096, size_delta=100),
            Fault(short_range=4096, size_delta=200),
            Fault(short_range=4096, size_delta=300),
            Fault(short_range=4096, size_delta=400),
        ],
    )
    sleeps: list[float] = []

    result = downloader(emu, sleeps).download_items([raw], tmp_path)

    assert not result.ok and result.downloaded == []
    error = result.failed[0].error
    assert isinstance(error, errors.IncompleteDownload)
    assert "size changed" in str(error) and "run again" in str(error)
    assert list(tmp_path.iterdir()) == []  # no file, no part file, no manifest line


# -- the faults themselves, in-process and over the control API -----------------------------


def media_request(app: App, key: str, range_header: str | None = None) -> Any:
    headers = {"authorization": f"Bearer {TOKEN}"}
    if range_header:
        headers["range"] = range_header
    return app.handle(Request("GET", f"/ppa/{key}=d", headers, origin="media"))


def test_media_faults_in_process() -> None:
    backend = Backend()
    photo = next(i for i in library.generate_library("fault-tests", 10) if not i.is_video)
    photo = dataclasses.replace(photo, size=1000)
    backend.seed_library(TOKEN, items=[photo])
    session_id = backend.create_session(TOKEN, {})["id"]
    backend.pick(session_id, [photo.id])
    url = backend.list_media_items(TOKEN, session_id)["mediaItems"][0]["mediaFile"]["baseUrl"]
    key = urllib.parse.urlsplit(url).path.rsplit("/", 1)[1]
    app = App(backend)
    whole = library.original_chunks(photo, 0, 1000)
    original = b"".join(whole)

    backend.set_faults(
        "media",
        [
            Fault(short_range=300),
            {"short_range": 300, "hide_total": True},
            {"size_delta": 24},
            {"size_delta": -400},
        ],
    )
    first = media_request(app, key)
    assert (first.status, first.headers["Content-Range"]) == (206, "bytes 0-299/1000")
    assert first.body == original[:300]
    second = media_request(app, key, "bytes=300-")
    assert (second.status, second.headers["Content-Range"]) == (206, "bytes 300-599/*")
    assert second.body == original[300:600]
    grown = media_request(app, key, "bytes=990-")
    assert grown.headers["Content-Range"] == "bytes 990-1023/1024"
    assert grown.body[:10] == original[990:] and len(grown.body) == 34
    assert grown.headers["ETag"] != first.headers["ETag"]
    shrunk = media_request(app, key, "bytes=700-")
    assert (shrunk.status, shrunk.headers["Content-Range"]) == (416, "bytes */600")
    assert media_request(app, key).body == original  # the script is spent

    with pytest.raises(ValueError, match="media"):
        backend.set_faults("sessions.get", [{"short_range": 10}])
    for bad in ({"short_range": 0}, {"short_range": 1.5}, {"size_delta": "1"}):
        with pytest.raises(ValueError):
            backend.set_faults("media", [bad])


def test_media_faults_over_the_control_api(emu: Any) -> None:
    raw, photo = one_photo(emu, 1000)

    def control(body: Mapping[str, Any]) -> tuple[int, Any]:
        return post_faults(emu, body)

    status, _ = control({"method": "media", "faults": [{"short_range": 10, "hide_total": True}]})
    assert status == 200
    url = urllib.parse.urlsplit(raw["mediaFile"]["baseUrl"] + "=d")
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    try:
        conn.request("GET", url.path, headers={"Authorization": f"Bearer {TOKEN}"})
        answer = conn.getresponse()
        body = answer.read()
    finally:
        conn.close()
    assert (answer.status, answer.getheader("Content-Range")) == (206, "bytes 0-9/*")
    assert body == b"".join(library.original_chunks(photo, 0, 10))
    status, error = control({"method": "sessions.get", "faults": [{"size_delta": 5}]})
    assert status == 400 and "media" in error["error"]["message"]
