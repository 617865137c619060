"""AsyncPickerClient against the loopback emulator over real HTTP: the flow, faults retried,
downloads into a folder, and a cancelled wait that deletes its session."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from picker_discovery import AsyncPickerClient, Downloaded, PickingTimeout
from picker_discovery.errors import SessionNotFound
from picker_discovery.testing import Emulator, Fault, generate_library

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("no_proxy")]

TOKEN = "emulator-token"


@pytest.fixture
def library(picker_emulator: Emulator) -> Emulator:
    items = [
        dataclasses.replace(item, size=min(item.size, 60_000))
        for item in generate_library("async-downloads", 6)
    ]
    picker_emulator.seed_library(TOKEN, items=items)
    return picker_emulator


async def test_the_flow_over_real_http(
    picker_emulator_async_client: AsyncPickerClient, picker_emulator: Emulator
) -> None:
    client = picker_emulator_async_client
    picker_emulator.backend.set_faults("sessions.get", [503, Fault(drop=True)])
    async with client.picking_session() as session:
        assert session.id is not None
        picker_emulator.pick(session.id, first=4)
        picked = await client.wait_for_selection(session.id, timeout=60)
        assert picked.media_items_set
        assert len(await client.list_media_items(session, page_size=3)) == 4
    assert picker_emulator.backend.sessions(TOKEN) == []
    # a 503, a dropped connection, then the answer: two retry waits on the client's clock
    assert len(picker_emulator.attempts("sessions.get")) == 3
    assert len(client.clock.sleeps) == 2  # type: ignore[attr-defined]
    with pytest.raises(SessionNotFound):
        await client.get_session(session.id)


async def test_a_wait_times_out_on_the_servers_timeout_in(
    picker_emulator_async_client: AsyncPickerClient, picker_emulator: Emulator
) -> None:
    picker_emulator.backend.configure(polling_timeout="12s", poll_interval="5s")
    client = picker_emulator_async_client
    async with client.picking_session() as session:
        with pytest.raises(PickingTimeout) as caught:
            await client.wait_for_selection(session)
    assert caught.value.reason == "timeoutIn"
    assert picker_emulator.backend.sessions(TOKEN) == []


async def test_a_session_downloads_into_a_folder(
    picker_emulator_async_client: AsyncPickerClient, library: Emulator, tmp_path: Path
) -> None:
    client = picker_emulator_async_client
    media = [library.media_url.rstrip("/")]
    async with client.picking_session() as session:
        assert session.id is not None
        library.pick(session.id, first=6)
        result = await client.download_session(session, tmp_path, media_hosts=media, workers=2)
        items = await client.list_media_items(session)
        library.expire_base_urls(session.id)
        again = await client.download(
            items[0], tmp_path / "one", session=session, media_hosts=media
        )
    assert not result.failed, result.failed
    assert len(result.downloaded) + len(result.skipped) == 6
    for done in result.downloaded:
        assert done.path.parent == tmp_path and done.path.stat().st_size == done.size
    assert isinstance(again, Downloaded) and again.path.exists()
    assert (tmp_path / "one" / again.path.name).exists()


async def test_cancelling_a_wait_over_real_http_deletes_the_session(
    picker_emulator: Emulator, picker_emulator_async_client: AsyncPickerClient
) -> None:
    client = picker_emulator_async_client

    async def user_flow() -> None:
        async with client.picking_session() as session:
            picker_emulator.backend.set_faults("sessions.get", [Fault(latency=30)])
            await client.check_selection(session)  # held 30 s by the emulator

    async def poll_started() -> None:
        while not picker_emulator.attempts("sessions.get"):
            await asyncio.sleep(0.02)

    task = asyncio.create_task(user_flow())
    await asyncio.wait_for(poll_started(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert picker_emulator.backend.sessions(TOKEN) == []


async def test_cancelling_a_bare_wait_over_real_http_leaves_no_live_session(
    picker_emulator: Emulator, picker_emulator_async_client: AsyncPickerClient
) -> None:
    client = picker_emulator_async_client
    session = await client.create_session()
    picker_emulator.backend.set_faults("sessions.get", [Fault(latency=30)])
    task = asyncio.create_task(client.wait_for_selection(session, timeout=600))

    async def poll_started() -> None:
        while not picker_emulator.attempts("sessions.get"):
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll_started(), 20)  # the poll is held 30 s by the emulator
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert picker_emulator.backend.sessions(TOKEN) == []
    with pytest.raises(SessionNotFound):
        await client.get_session(session)
