"""The Downloader against the project's loopback emulator, through the real API calls.

The emulator (``picker_discovery.testing.emulator``) came from another branch: where it is not
there yet, this module is skipped; once merged, it runs. Its library carries awkward file
names, videos still processing and one that FAILED, and baseUrls that expire.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from google.oauth2.credentials import Credentials

from picker_discovery._media.pool import Downloader, SkipReason
from picker_discovery.testing import emulator, library

TOKEN = "alice"
SMALL = 150_000  # keeps the run fast; the generated sizes reach 40 MiB


pytestmark = pytest.mark.usefixtures("no_proxy")


@pytest.fixture
def emu() -> Iterator[Any]:
    with emulator.Emulator() as running:
        yield running


def picked_session(emu: Any, count: int) -> tuple[Any, str, list[Any]]:
    items = [
        dataclasses.replace(item, size=min(item.size, SMALL))
        for item in library.generate_library("media-tests", count)
    ]
    emu.seed_library(TOKEN, items=items)
    service = emu.build(token=TOKEN)
    session_id = service.sessions().create(body={}).execute()["id"]
    emu.pick(session_id, first=count)
    return service, session_id, items


def lister(service: Any) -> Any:
    def list_page(session_id: str, page_token: str | None) -> Mapping[str, Any]:
        answer: Mapping[str, Any] = (
            service.mediaItems()
            .list(sessionId=session_id, pageToken=page_token, pageSize=7)
            .execute()
        )
        return answer

    return list_page


def downloader(emu: Any, **kwargs: Any) -> Downloader:
    return Downloader(Credentials(token=TOKEN), allowed_hosts=[emu.media_url.rstrip("/")], **kwargs)


def original_sha(item: Any) -> str:
    sha = hashlib.sha256()
    for chunk in library.original_chunks(item, 0, item.size):
        sha.update(chunk)
    return sha.hexdigest()


def test_a_whole_session_with_awkward_names(emu: Any, tmp_path: Path) -> None:
    service, session_id, items = picked_session(emu, 40)
    by_id = {item.id: item for item in items}
    result = downloader(emu, workers=4).download_session(session_id, tmp_path, lister(service))

    assert result.ok, result.failed
    videos = [i for i in items if i.is_video]
    not_ready = {i.id for i in videos if i.processing_status == "PROCESSING"}
    failed = {i.id for i in videos if i.processing_status == "FAILED"}
    assert failed, "the generated library should hold a FAILED video"
    assert {s.item_id for s in result.skipped if s.reason is SkipReason.PROCESSING_FAILED} == failed
    assert {s.item_id for s in result.skipped if s.reason is SkipReason.NOT_READY} == not_ready
    assert len(result.downloaded) == len(items) - len(failed) - len(not_ready)

    names = [d.path.name for d in result.downloaded]
    assert len({n.casefold() for n in names}) == len(names)
    for done in result.downloaded:
        item = by_id[done.item_id]
        assert done.path.parent == tmp_path
        assert unicodedata.normalize("NFC", done.path.name) == done.path.name
        assert len(done.path.name.encode("utf-8")) <= 200
        assert done.size == item.size == done.path.stat().st_size
        assert done.content_type == item.mime_type
        with open(done.path, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == original_sha(item)
    assert "really a png.png" in names  # the Content-Type chose the extension
    assert "IMG_0001.JPG" in names and "IMG_0001 (2).JPG" in names
    assert "_CON.jpg" in names and "_nul.png" in names
    assert not any(
        n.startswith(".") for n in os.listdir(tmp_path) if n != ".picker-downloads.jsonl"
    )

    again = downloader(emu).download_session(session_id, tmp_path, lister(service))
    assert again.downloaded == [] and again.ok
    assert {s.reason for s in again.skipped} == {
        SkipReason.ALREADY_PRESENT,
        SkipReason.NOT_READY,
        SkipReason.PROCESSING_FAILED,
    }


def test_expired_base_urls_are_renewed_from_the_emulator(emu: Any, tmp_path: Path) -> None:
    service, session_id, items = picked_session(emu, 6)
    photos = [i for i in items if not i.is_video]
    page = service.mediaItems().list(sessionId=session_id, pageSize=100).execute()
    listed = [raw for raw in page["mediaItems"] if raw["type"] == "PHOTO"]
    emu.expire_base_urls(session_id)
    relists: list[int] = []

    def relist() -> list[Any]:
        relists.append(1)
        answer = service.mediaItems().list(sessionId=session_id, pageSize=100).execute()
        return list(answer["mediaItems"])

    result = downloader(emu).download_items(listed, tmp_path, relist=relist)
    assert result.ok, result.failed  # without renewal every item would fail with a 403
    assert relists
    assert sorted(d.item_id for d in result.downloaded) == sorted(i.id for i in photos)


def test_a_video_that_finishes_processing_is_waited_for(emu: Any, tmp_path: Path) -> None:
    service, session_id, items = picked_session(emu, 40)
    waiting = next(i for i in items if i.is_video and i.processing_status == "PROCESSING")
    page = service.mediaItems().list(sessionId=session_id, pageSize=100).execute()
    raw = next(r for r in page["mediaItems"] if r["id"] == waiting.id)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        emu.set_processing_status(TOKEN, waiting.id, "READY")

    def relist() -> list[Any]:
        answer = service.mediaItems().list(sessionId=session_id, pageSize=100).execute()
        return list(answer["mediaItems"])

    result = downloader(emu, sleep=sleep, wait_interval=5).download_items(
        [raw], tmp_path, relist=relist, not_ready="wait"
    )
    assert result.ok, result.failed
    assert sleeps == [5]
    assert result.downloaded[0].size == waiting.size
