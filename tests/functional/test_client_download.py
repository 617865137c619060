"""PickerClient.download_session / download against the emulator: the whole job, end to end."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.oauth2.credentials import Credentials

from picker_discovery import FakeClock, PickerClient, build
from picker_discovery._media.pool import Downloaded, Size, SkipReason
from picker_discovery.errors import PickerError, UntrustedMediaHost
from picker_discovery.testing import Emulator, FakeHttp, generate_library

TOKEN = "bob"


pytestmark = pytest.mark.usefixtures("no_proxy")


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(clock=FakeClock()) as running:
        items = [
            dataclasses.replace(item, size=min(item.size, 120_000))
            for item in generate_library("client-downloads", 30)
        ]
        running.seed_library(TOKEN, items=items)
        yield running


def client_for(emulator: Emulator) -> PickerClient:
    return PickerClient(
        credentials=Credentials(token=TOKEN), client_options={"api_endpoint": emulator.url}
    )


def test_a_whole_session_lands_in_the_folder(emulator: Emulator, tmp_path: Path) -> None:
    client = client_for(emulator)
    with client.picking_session() as session:
        assert session.id is not None
        emulator.pick(session.id, first=30)
        result = client.download_session(
            session, tmp_path, media_hosts=[emulator.media_url.rstrip("/")], workers=3
        )
    assert not result.failed, result.failed
    library = {item.id: item for item in emulator.library(TOKEN)[:30]}
    skipped = {s.item_id: s.reason for s in result.skipped}
    for item_id, reason in skipped.items():
        status = library[item_id].processing_status
        expected = SkipReason.PROCESSING_FAILED if status == "FAILED" else SkipReason.NOT_READY
        assert reason == expected
    assert len(result.downloaded) + len(skipped) == 30
    for done in result.downloaded:
        assert done.path.parent == tmp_path and done.path.stat().st_size == done.size
    assert emulator.backend.sessions(TOKEN) == []


def test_expired_base_urls_are_renewed_by_listing_again(emulator: Emulator, tmp_path: Path) -> None:
    client = client_for(emulator)
    with client.picking_session() as session:
        assert session.id is not None
        emulator.pick(session.id, first=3)
        items = client.list_media_items(session)
        emulator.expire_base_urls(session.id)
        done = client.download(
            items[0], tmp_path, session=session, media_hosts=[emulator.media_url.rstrip("/")]
        )
    assert isinstance(done, Downloaded) and done.path.exists()
    assert len(emulator.attempts("mediaItems.list")) == 2  # the listing, then one renewal


def test_a_sized_download_keeps_the_originals_format(emulator: Emulator, tmp_path: Path) -> None:
    client = client_for(emulator)
    with client.picking_session() as session:
        assert session.id is not None
        emulator.pick(session.id, first=1)
        [item] = client.list_media_items(session)
        done = client.download(
            item,
            tmp_path,
            size=Size(64, 64, crop=True),
            media_hosts=[emulator.media_url.rstrip("/")],
        )
    # A JPEG original is resized as a JPEG (as Google's image servers answer), named so.
    assert item.media_file is not None and item.media_file.mime_type == "image/jpeg"
    assert isinstance(done, Downloaded) and done.path.suffix == ".jpg"
    assert done.path.read_bytes()[:3] == b"\xff\xd8\xff"


def test_the_emulators_media_origin_gets_nothing_unless_allowed(
    emulator: Emulator, tmp_path: Path
) -> None:
    client = client_for(emulator)
    with client.picking_session() as session:
        assert session.id is not None
        emulator.pick(session.id, first=2)
        result = client.download_session(session, tmp_path)
    assert len(result.failed) == 2
    assert all(isinstance(f.error, UntrustedMediaHost) for f in result.failed)
    assert emulator.attempts("media") == []
    assert [p for p in tmp_path.iterdir() if not p.name.startswith(".")] == []


def test_a_client_without_credentials_says_how_to_fetch_bytes(tmp_path: Path) -> None:
    client = PickerClient(build(http=FakeHttp()))
    with pytest.raises(PickerError, match="no credentials"):
        client.download_session("s", tmp_path)
