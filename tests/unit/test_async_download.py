"""AsyncPickerClient downloads over the in-process fake: the bytes stream through httpx on the
event loop into the downloader's part files, manifest and names, with its resume, renewal,
allowlist and error rules, and a cancelled download leaves nothing behind."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from picker_discovery import AsyncPickerClient, Downloaded, RetryPolicy, SkipReason
from picker_discovery._media.folder import MANIFEST_NAME
from picker_discovery.errors import BadArgument, MediaUrlExpired, UntrustedMediaHost
from picker_discovery.testing import Backend, FakeAsyncTransport, Fault, library

pytestmark = pytest.mark.anyio

TOKEN = "fake-token"
SIZE = 50_000


def seed(backend: Backend, count: int = 3, size: int = SIZE) -> dict[str, library.MediaItem]:
    photos = [i for i in library.generate_library("async-fake", 30) if not i.is_video][:count]
    photos = [dataclasses.replace(item, size=size) for item in photos]
    backend.seed_library(TOKEN, items=photos)
    return {item.id: item for item in photos}


def client_on(
    backend: Backend, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncPickerClient:
    return AsyncPickerClient(
        transport=transport or FakeAsyncTransport(backend),
        clock=backend.clock,
        retry=RetryPolicy(jitter=0),
        journal=False,
    )


def original_sha(item: library.MediaItem) -> str:
    sha = hashlib.sha256()
    for chunk in library.original_chunks(item, 0, item.size):
        sha.update(chunk)
    return sha.hexdigest()


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != MANIFEST_NAME)


async def picked(client: AsyncPickerClient, backend: Backend, first: int) -> str:
    session = await client.create_session()
    assert session.id is not None
    backend.pick(session.id, first=first)
    return session.id


async def test_a_session_downloads_byte_for_byte_without_threads(
    picker_backend: Backend, tmp_path: Path
) -> None:
    by_id = seed(picker_backend)
    threads = set(threading.enumerate())
    seen: list[Any] = []
    async with client_on(picker_backend) as client:
        sid = await picked(client, picker_backend, 3)
        result = await client.download_session(sid, tmp_path, workers=2, progress=seen.append)
        again = await client.download_session(sid, tmp_path)
    assert set(threading.enumerate()) == threads  # the bytes came over the event loop
    assert result.ok and len(result.downloaded) == 3, result.failed
    for done in result.downloaded:
        assert file_sha(done.path) == original_sha(by_id[done.item_id])
        assert done.size == SIZE == done.path.stat().st_size
    assert seen[-1].items_done == 3 and seen[-1].items_total == 3
    assert [s.reason for s in again.skipped] == [SkipReason.ALREADY_PRESENT] * 3
    assert not again.downloaded
    media = [a for a in picker_backend.attempts("media")]
    assert len(media) == 3 and all(a.authorized for a in media)


async def test_a_short_206_is_continued_with_a_range_and_no_retry(
    picker_backend: Backend, tmp_path: Path
) -> None:
    by_id = seed(picker_backend, count=1)
    picker_backend.set_faults("media", [Fault(short_range=8192)] * 7)
    async with client_on(picker_backend) as client:
        sid = await picked(client, picker_backend, 1)
        result = await client.download_session(sid, tmp_path)
    done = result.downloaded[0]
    assert file_sha(done.path) == original_sha(by_id[done.item_id])
    ranges = [a.headers.get("range") for a in picker_backend.attempts("media")]
    assert ranges == [None] + [f"bytes={8192 * n}-" for n in range(1, 7)]
    assert picker_backend.clock.sleeps == []  # a short range is no failure


async def test_a_dropped_answer_is_retried_under_the_policy(
    picker_backend: Backend, tmp_path: Path
) -> None:
    by_id = seed(picker_backend, count=1)
    picker_backend.set_faults("media", [Fault(drop=True), Fault(status=503), None])
    async with client_on(picker_backend) as client:
        sid = await picked(client, picker_backend, 1)
        result = await client.download_session(sid, tmp_path, retry=RetryPolicy(jitter=0))
    assert file_sha(result.downloaded[0].path) == original_sha(next(iter(by_id.values())))
    assert picker_backend.clock.sleeps == [1.0, 2.0]  # the downloader's policy, on its clock


async def test_a_changed_file_starts_again_and_is_recorded_at_its_new_size(
    picker_backend: Backend, tmp_path: Path
) -> None:
    seed(picker_backend, count=1)
    picker_backend.set_faults(
        "media", [Fault(short_range=10_000), Fault(size_delta=100), Fault(size_delta=100)]
    )
    async with client_on(picker_backend) as client:
        sid = await picked(client, picker_backend, 1)
        result = await client.download_session(sid, tmp_path)
    done = result.downloaded[0]
    assert done.size == SIZE + 100 == done.path.stat().st_size
    assert (tmp_path / MANIFEST_NAME).read_text().count(f'"size": {SIZE + 100}') == 1


async def test_an_expired_base_url_is_renewed_by_relisting_the_session(
    picker_backend: Backend, tmp_path: Path
) -> None:
    by_id = seed(picker_backend, count=2)
    transport = FakeAsyncTransport(picker_backend)
    async with client_on(picker_backend, transport) as client:
        sid = await picked(client, picker_backend, 2)
        items = await client.list_media_items(sid)
        picker_backend.expire_base_urls(sid)
        lists = len(picker_backend.attempts("mediaItems.list"))
        done = await client.download(items[1], tmp_path, session=sid)
        assert isinstance(done, Downloaded)
        assert file_sha(done.path) == original_sha(by_id[done.item_id])
        assert len(picker_backend.attempts("mediaItems.list")) == lists + 1
        media = [r.status for r in transport.requests if "googleusercontent" in r.uri]
        assert media == [403, 200]
        picker_backend.expire_base_urls(sid)
        with pytest.raises(MediaUrlExpired, match="relist"):
            await client.download(items[0], tmp_path / "alone")  # no session to re-list
        assert leftovers(tmp_path / "alone") == []


async def test_a_redirect_off_the_allowlist_is_refused_before_sending(
    picker_backend: Backend, tmp_path: Path
) -> None:
    seed(picker_backend, count=1)
    picker_backend.set_faults("media", [Fault(redirect="https://attacker.example/steal")])
    transport = FakeAsyncTransport(picker_backend)
    async with client_on(picker_backend, transport) as client:
        sid = await picked(client, picker_backend, 1)
        result = await client.download_session(sid, tmp_path)
    assert isinstance(result.failed[0].error, UntrustedMediaHost)
    assert "attacker.example" not in {r.uri.split("/")[2] for r in transport.requests}
    assert leftovers(tmp_path) == []


async def test_a_base_url_off_the_allowlist_gets_no_request(
    picker_backend: Backend, tmp_path: Path
) -> None:
    seed(picker_backend, count=1)
    picker_backend.configure(media_root="https://media.example.net/ppa/")
    async with client_on(picker_backend) as client:
        sid = await picked(client, picker_backend, 1)
        with pytest.raises(UntrustedMediaHost, match="nothing was sent"):
            item = (await client.list_media_items(sid))[0]
            await client.download(item, tmp_path)
    assert picker_backend.attempts("media") == []


async def test_options_that_only_a_threaded_downloader_has_are_refused(
    picker_backend: Backend, tmp_path: Path
) -> None:
    async with client_on(picker_backend) as client:
        with pytest.raises(BadArgument, match="session_factory"):
            await client.download_session("s1", tmp_path, session_factory=object)
        with pytest.raises(BadArgument, match="not_ready"):
            await client.download_session("s1", tmp_path, not_ready="later")  # type: ignore[arg-type]
    assert picker_backend.attempts() == []


class HangingMedia(httpx.AsyncBaseTransport):
    """The fake for the API; media answers send ``first`` bytes of a large file, then hang
    until cancelled (a stalled server), noting when their body is closed."""

    def __init__(self, backend: Backend, first: int) -> None:
        self.api = FakeAsyncTransport(backend)
        self.first = first
        self.sent = asyncio.Event()
        self.closed = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != "lh3.googleusercontent.com":
            return await self.api.handle_async_request(request)
        return httpx.Response(
            200,
            headers={"Content-Length": str(1 << 30), "Content-Type": "video/mp4"},
            stream=_Hanging(self),
            request=request,
        )


class _Hanging(httpx.AsyncByteStream):
    def __init__(self, owner: HangingMedia) -> None:
        self.owner = owner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"x" * self.owner.first
        self.owner.sent.set()
        await asyncio.Event().wait()  # the rest of the gigabyte never comes
        yield b""  # pragma: no cover

    async def aclose(self) -> None:
        self.owner.closed.set()


async def test_cancelling_a_download_stops_it_at_once_and_leaves_no_file(
    picker_backend: Backend, tmp_path: Path
) -> None:
    seed(picker_backend, count=1)
    transport = HangingMedia(picker_backend, first=3 * 65_536)
    threads = set(threading.enumerate())
    async with client_on(picker_backend, transport) as client:
        sid = await picked(client, picker_backend, 1)
        task = asyncio.create_task(client.download_session(sid, tmp_path, chunk_size=65_536))
        await asyncio.wait_for(transport.sent.wait(), 10)
        await asyncio.sleep(0)  # the chunk reaches the part file
        parts = [p for p in tmp_path.iterdir() if ".part-" in p.name]
        # Streamed: what arrived of a 1 GiB answer is on disk while the rest is awaited.
        assert len(parts) == 1 and parts[0].stat().st_size == 3 * 65_536
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        assert transport.closed.is_set()  # the answer was closed, its connection released
    assert leftovers(tmp_path) == []  # no part file, nothing under a final name
    assert not (tmp_path / MANIFEST_NAME).exists()
    assert set(threading.enumerate()) == threads


async def test_fail_fast_cancels_the_other_transfers_and_reports_them_skipped(
    picker_backend: Backend, tmp_path: Path
) -> None:
    seed(picker_backend, count=2)
    transport = HangingMedia(picker_backend, first=1000)
    real = transport.handle_async_request
    calls = 0

    async def first_hangs_second_fails(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        if request.url.host == "lh3.googleusercontent.com":
            calls += 1
            if calls == 2:
                await transport.sent.wait()
                return httpx.Response(404, request=request)
        return await real(request)

    transport.handle_async_request = first_hangs_second_fails  # type: ignore[method-assign]
    async with client_on(picker_backend, transport) as client:
        sid = await picked(client, picker_backend, 2)
        result = await client.download_session(sid, tmp_path, workers=2, fail_fast=True)
    assert len(result.failed) == 1 and "404" in result.failed[0].reason
    assert [s.reason for s in result.skipped] == [SkipReason.CANCELLED]
    assert leftovers(tmp_path) == []


async def test_download_returns_the_one_item(picker_backend: Backend, tmp_path: Path) -> None:
    by_id = seed(picker_backend, count=2)
    async with client_on(picker_backend) as client:
        sid = await picked(client, picker_backend, 2)
        item = (await client.list_media_items(sid))[1]
        done = await client.download(item, tmp_path, session=sid)
    assert isinstance(done, Downloaded)
    assert file_sha(done.path) == original_sha(by_id[done.item_id])


async def test_a_401_from_the_media_host_refreshes_the_token_once(tmp_path: Path) -> None:
    from datetime import datetime, timedelta, timezone

    import google.oauth2.credentials

    class Numbered(google.oauth2.credentials.Credentials):
        def refresh(self, request: Any) -> None:
            self.token = "fresh-token"
            self.expiry = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(tzinfo=None)

    seen: list[str] = []

    def media(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization", ""))
        if request.headers.get("authorization") != "Bearer fresh-token":
            return httpx.Response(401)
        return httpx.Response(200, content=b"\xff\xd8 jpeg", headers={"Content-Type": "image/jpeg"})

    item = {
        "id": "p1",
        "type": "PHOTO",
        "mediaFile": {
            "baseUrl": "https://lh3.googleusercontent.com/ppa/p1",
            "mimeType": "image/jpeg",
        },
    }
    async with AsyncPickerClient(
        credentials=Numbered(token="stale-token"),  # type: ignore[no-untyped-call]
        transport=httpx.MockTransport(media),
        journal=False,
    ) as client:
        done = await client.download(item, tmp_path)  # type: ignore[arg-type]
    assert isinstance(done, Downloaded) and done.path.read_bytes() == b"\xff\xd8 jpeg"
    assert seen == ["Bearer stale-token", "Bearer fresh-token"]
