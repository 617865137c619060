"""AsyncPickerClient downloads against the loopback emulator over real HTTP: the emulator's
bytes, resumed after short ranges and cut connections, a changed file started again, hosts
off the allowlist refused, and a download cancelled mid-stall leaving nothing behind."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from picker_discovery import AsyncPickerClient, RetryPolicy
from picker_discovery._media.folder import MANIFEST_NAME
from picker_discovery.errors import UntrustedMediaHost
from picker_discovery.testing import Emulator, Fault, library

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("no_proxy")]

TOKEN = "emulator-token"
SIZE = 60_000
RETRY = RetryPolicy(max_attempts=3, jitter=0)


def seed(emu: Emulator, *, photos: int = 1, size: int = SIZE) -> dict[str, library.MediaItem]:
    items = library.generate_library("async-emulator-downloads", 40)
    chosen = [dataclasses.replace(i, size=size) for i in items if not i.is_video][:photos]
    emu.seed_library(TOKEN, items=chosen)
    return {item.id: item for item in chosen}


def original_sha(item: library.MediaItem) -> str:
    sha = hashlib.sha256()
    for chunk in library.original_chunks(item, 0, item.size):
        sha.update(chunk)
    return sha.hexdigest()


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_sizes(folder: Path) -> list[int]:
    path = folder / MANIFEST_NAME
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line)["size"] for line in lines]


def ranges_asked(emu: Emulator) -> list[str | None]:
    return [a.headers.get("range") for a in emu.attempts("media")]


async def picked(client: AsyncPickerClient, emu: Emulator, first: int) -> str:
    session = await client.create_session()
    assert session.id is not None
    emu.pick(session.id, first=first)
    return session.id


async def download(
    client: AsyncPickerClient, emu: Emulator, sid: str, folder: Path, **options: Any
) -> Any:
    media = [emu.media_url.rstrip("/")]
    return await client.download_session(sid, folder, media_hosts=media, retry=RETRY, **options)


async def test_photos_and_a_video_arrive_byte_for_byte(
    picker_emulator_async_client: AsyncPickerClient, picker_emulator: Emulator, tmp_path: Path
) -> None:
    items = library.generate_library("async-emulator-mixed", 40)
    video = next(i for i in items if i.is_video and i.processing_status == "READY")
    photos = [dataclasses.replace(i, size=SIZE) for i in items if not i.is_video][:4]
    chosen = [dataclasses.replace(video, size=700_000), *photos]
    picker_emulator.seed_library(TOKEN, items=chosen)
    by_id = {item.id: item for item in chosen}
    client = picker_emulator_async_client
    sid = await picked(client, picker_emulator, 5)
    result = await download(client, picker_emulator, sid, tmp_path, workers=3)
    assert result.ok and len(result.downloaded) == 5, result.failed
    for done in result.downloaded:
        assert file_sha(done.path) == original_sha(by_id[done.item_id])
        assert done.content_type == by_id[done.item_id].mime_type
    assert sorted(manifest_sizes(tmp_path)) == sorted(i.size for i in chosen)
    assert all(a.authorized for a in picker_emulator.attempts("media"))


async def test_short_206_ranges_with_hidden_totals_are_continued(
    picker_emulator_async_client: AsyncPickerClient, picker_emulator: Emulator, tmp_path: Path
) -> None:
    photo = next(iter(seed(picker_emulator).values()))
    picker_emulator.set_faults("media", [Fault(short_range=16_384, hide_total=True)] * 3)
    client = picker_emulator_async_client
    sid = await picked(client, picker_emulator, 1)
    result = await download(client, picker_emulator, sid, tmp_path)
    done = result.downloaded[0]
    assert done.size == SIZE and file_sha(done.path) == original_sha(photo)
    assert ranges_asked(picker_emulator) == [None, "bytes=16384-", "bytes=32768-", "bytes=49152-"]
    assert client.clock.sleeps == []  # type: ignore[attr-defined]


async def test_a_connection_cut_mid_body_resumes_where_the_file_ends(
    picker_emulator_async_client: AsyncPickerClient, picker_emulator: Emulator, tmp_path: Path
) -> None:
    photo = next(iter(seed(picker_emulator).values()))
    picker_emulator.set_faults("media", [Fault(drop_after=20_000)])
    client = picker_emulator_async_client
    sid = await picked(client, picker_emulator, 1)
    result = await download(client, picker_emulator, sid, tmp_path, chunk_size=4096)
    done = result.downloaded[0]
    assert file_sha(done.path) == original_sha(photo)
    asked = ranges_asked(picker_emulator)
    assert asked[0] is None and len(asked) == 2
    resumed_from = int((asked[1] or "").removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_from <= 20_000  # what arrived was kept; the rest was asked for
    assert client.clock.sleeps == [1.0]  # type: ignore[attr-defined]


async def test_a_file_that_changed_between_requests_starts_again(
    picker_emulator_async_client: AsyncPickerClient, picker_emulator: Emulator, tmp_path: Path
) -> None:
    seed(picker_emulator)
    picker_emulator.set_faults(
        "media", [Fault(short_range=10_000), Fault(size_delta=-500), Fault(size_delta=-500)]
    )
    client = picker_emulator_async_client
    sid = await picked(client, picker_emulator, 1)
    result = await download(client, picker_emulator, sid, tmp_path)
    done = result.downloaded[0]
    assert done.size == SIZE - 500 == done.path.stat().st_size
    assert manifest_sizes(tmp_path) == [SIZE - 500]


async def test_the_emulators_media_host_is_refused_unless_allowed(
    picker_emulator_async_client: AsyncPickerClient, picker_emulator: Emulator, tmp_path: Path
) -> None:
    seed(picker_emulator, photos=2)
    client = picker_emulator_async_client
    sid = await picked(client, picker_emulator, 2)
    result = await client.download_session(sid, tmp_path)  # no media_hosts
    assert len(result.failed) == 2
    assert all(isinstance(f.error, UntrustedMediaHost) for f in result.failed)
    assert picker_emulator.attempts("media") == []  # the token went nowhere
    assert [p.name for p in tmp_path.iterdir()] == []


async def test_a_download_cancelled_mid_stall_stops_and_leaves_no_file(
    picker_emulator_async_client: AsyncPickerClient, picker_emulator: Emulator, tmp_path: Path
) -> None:
    seed(picker_emulator, size=2_000_000)
    picker_emulator.set_faults("media", [Fault(stall=60)])  # half the body, then 60 s of nothing
    client = picker_emulator_async_client
    sid = await picked(client, picker_emulator, 1)
    task = asyncio.create_task(download(client, picker_emulator, sid, tmp_path))

    async def half_on_disk() -> None:
        while not any(
            ".part-" in p.name and p.stat().st_size >= 900_000 for p in tmp_path.iterdir()
        ):
            await asyncio.sleep(0.02)

    await asyncio.wait_for(half_on_disk(), 30)  # streamed to disk while the rest is awaited
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)  # well before the stall ends
    assert [p.name for p in tmp_path.iterdir()] == []  # no part file, no final name
