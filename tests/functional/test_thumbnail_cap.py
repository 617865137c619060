"""The notebook's thumbnail fetcher stops reading at its size cap (4 MiB), over real HTTP.

A thumbnail is ``baseUrl=w256-h256-c``: a few kilobytes. A host that answers far more (a
misbehaving server, a URL that is not a thumbnail) must not be read to the end into memory.
The emulator's media origin serves the thumbnail, scripted (``size_delta``) to be larger, and
its attempt log says how many body bytes it managed to send.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
import requests

from picker_discovery.notebook import ThumbnailError, ThumbnailFetcher
from picker_discovery.notebook._pick import _MAX_THUMBNAIL_BYTES
from picker_discovery.testing import Emulator, Fault, library
from tests.waiting import wait_until

TOKEN = "alice"


def thumbnail_url(emu: Emulator) -> str:
    """The thumbnail URL of a picked photo."""
    photo = next(i for i in library.generate_library("thumbnail-cap", 10) if not i.is_video)
    emu.seed_library(TOKEN, items=[dataclasses.replace(photo, size=1000)])
    service = emu.build(token=TOKEN)
    session_id = service.sessions().create(body={}).execute()["id"]
    emu.pick(session_id, first=1)
    page = service.mediaItems().list(sessionId=session_id).execute()
    return page["mediaItems"][0]["mediaFile"]["baseUrl"] + "=w256-h256-c"


def authorized() -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    return session


def fetcher(emu: Emulator) -> Callable[[str], bytes]:
    fetch = ThumbnailFetcher(session_factory=authorized, allowed_hosts=[emu.media_url.rstrip("/")])
    return lambda url: fetch(url).data


def sized(emu: Emulator, url: str, size: int, *, no_length: bool = False) -> None:
    """Script the next thumbnail answer to be ``size`` bytes (its length not announced)."""
    natural = len(fetcher(emu)(url))
    emu.set_faults("media", [Fault(size_delta=size - natural, no_length=no_length)])


def sent(emu: Emulator) -> int:
    """The body bytes the emulator sent for the last media request, once its answer ended."""
    count = wait_until(
        lambda: emu.attempts("media")[-1].sent,
        what="the server to end its answer (it was still sending after the fetch gave up)",
        timeout=30,
    )
    assert count is not None
    return count


def test_a_thumbnail_at_the_cap_is_accepted(emu: Emulator, no_proxy: None) -> None:
    url = thumbnail_url(emu)
    sized(emu, url, _MAX_THUMBNAIL_BYTES)
    assert len(fetcher(emu)(url)) == _MAX_THUMBNAIL_BYTES
    assert sent(emu) == _MAX_THUMBNAIL_BYTES


@pytest.mark.parametrize("announce", [True, False])
def test_an_answer_past_the_cap_is_cut_off_at_the_cap(
    emu: Emulator, no_proxy: None, announce: bool
) -> None:
    url = thumbnail_url(emu)
    offered = 256 * 1024 * 1024  # far more than the cap plus what socket buffers can hold
    sized(emu, url, offered, no_length=not announce)
    with pytest.raises(ThumbnailError, match="larger than 4 MiB"):
        fetcher(emu)(url)
    # The client stopped reading at the cap: the server could hand over only the cap, a
    # chunk and what the loopback socket buffers hold (a few MiB), not the 256 MiB offered.
    assert _MAX_THUMBNAIL_BYTES < sent(emu) < _MAX_THUMBNAIL_BYTES + 32 * 1024 * 1024


def test_one_byte_past_the_cap_is_refused(emu: Emulator, no_proxy: None) -> None:
    url = thumbnail_url(emu)
    sized(emu, url, _MAX_THUMBNAIL_BYTES + 1)
    with pytest.raises(ThumbnailError, match="larger than 4 MiB"):
        fetcher(emu)(url)
