"""Paging and media like the real service: short and empty pages mid-listing, ``=dv`` sent on
to a third origin, and Google's image size parameters, the resized image keeping the
original's format. Through googleapiclient, the client and raw HTTP."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from google.oauth2.credentials import Credentials
from PIL import Image

from picker_discovery import PickerClient
from picker_discovery._media.hosts import HostAllowlist
from picker_discovery.testing import Emulator

TOKEN = "paging-user"

pytestmark = pytest.mark.usefixtures("no_proxy")


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(short_pages=0.6, seed=3) as running:
        running.seed_library(TOKEN, count=80)
        yield running


@pytest.fixture
def service(emu: Emulator) -> Iterator[Any]:
    with emu.build(TOKEN) as built:
        yield built


def client_for(emu: Emulator) -> PickerClient:
    return PickerClient(
        credentials=Credentials(token=TOKEN), client_options={"api_endpoint": emu.url}
    )


# -- short and empty pages ----------------------------------------------------------------------


def test_short_and_empty_pages_still_give_every_item_once(emu: Emulator, service: Any) -> None:
    session = service.sessions().create(body={}).execute()
    picked = emu.pick(session["id"], first=57)
    pages: list[dict[str, Any]] = []
    token = None
    ahead: dict[str, Any] | None = None
    while True:
        page = (
            service.mediaItems()
            .list(sessionId=session["id"], pageSize=4, pageToken=token)
            .execute()
        )
        if ahead is not None:
            assert page == ahead  # a token always answers the same page
        pages.append(page)
        token = page.get("nextPageToken")
        if not token:
            break
        ahead = (
            service.mediaItems()
            .list(sessionId=session["id"], pageSize=4, pageToken=token)
            .execute()
        )
    sizes = [len(p.get("mediaItems", [])) for p in pages]
    ids = [i["id"] for p in pages for i in p.get("mediaItems", [])]
    assert ids == picked  # every item, once, in order
    assert any(0 < s < 4 for s in sizes[:-1])  # short pages mid-listing
    assert 0 in sizes[:-1] and all("nextPageToken" in p for p in pages[:-1])
    assert not any(a == b == 0 for a, b in itertools.pairwise(sizes))


def test_the_client_and_a_raw_loop_read_a_short_paged_listing_whole(
    emu: Emulator, service: Any
) -> None:
    session = service.sessions().create(body={}).execute()
    picked = emu.pick(session["id"], first=33)
    client = client_for(emu)
    listed = client.list_media_items(session["id"])
    assert [item.id for item in listed] == picked
    ids: list[str] = []
    token = ""
    while True:
        answer = requests.get(
            f"{emu.url}v1/mediaItems",
            params={"sessionId": session["id"], "pageSize": 7, "pageToken": token},
            headers={"Authorization": f"Bearer {TOKEN}"},
        ).json()
        ids += [i["id"] for i in answer.get("mediaItems", [])]
        token = answer.get("nextPageToken", "")
        if not token:
            break
    assert ids == picked


def test_full_pages_unless_the_setting_asks(service: Any) -> None:
    with Emulator() as plain, plain.build(TOKEN) as built:
        session = built.sessions().create(body={}).execute()
        plain.pick(session["id"], first=25)
        page = built.mediaItems().list(sessionId=session["id"], pageSize=10).execute()
        assert len(page["mediaItems"]) == 10


# -- =dv on a third origin ----------------------------------------------------------------------


def test_the_default_allowlist_accepts_googles_video_host() -> None:
    allowlist = HostAllowlist()
    assert allowlist.allows("https://video-downloads.googleusercontent.com/ppa/AGgF=dv")
    assert not allowlist.allows("https://video-downloads.googleusercontent.com.evil.net/x")
    assert not allowlist.allows("http://video-downloads.googleusercontent.com/x")


def ready_video(emu: Emulator) -> str:
    return next(
        i.id
        for i in emu.library(TOKEN)
        if i.mime_type == "video/mp4" and i.processing_status == "READY"
    )


def test_dv_redirects_to_the_video_host_and_the_client_follows(
    emu: Emulator, service: Any, tmp_path: Path
) -> None:
    emu.backend.configure(video_download_root=emu.downloads_url, short_pages=0)
    session = service.sessions().create(body={}).execute()
    video_id = ready_video(emu)
    emu.pick(session["id"], [video_id])
    [item] = service.mediaItems().list(sessionId=session["id"]).execute()["mediaItems"]
    base = item["mediaFile"]["baseUrl"]
    answer = requests.get(
        f"{base}=dv", headers={"Authorization": f"Bearer {TOKEN}"}, allow_redirects=False
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(f"{emu.downloads_url}ppa/")
    moved = requests.get(answer.headers["Location"], headers={"Authorization": f"Bearer {TOKEN}"})
    assert moved.status_code == 200 and moved.headers["Content-Type"] == "video/mp4"
    # The downloader follows it only to an allowed origin, with the token.
    client = client_for(emu)
    refused = client.download_session(
        session["id"], tmp_path / "one", media_hosts=[emu.media_url.rstrip("/")]
    )
    assert refused.failed and not refused.downloaded
    result = client.download_session(
        session["id"],
        tmp_path / "both",
        media_hosts=[emu.media_url.rstrip("/"), emu.downloads_url.rstrip("/")],
    )
    assert [d.item_id for d in result.downloaded] == [video_id]
    assert result.downloaded[0].path.read_bytes() == moved.content
    assert any(a.origin == "downloads" and a.authorized for a in emu.attempts("media"))


# -- image size parameters ----------------------------------------------------------------------


def first_of(emu: Emulator, mime: str) -> str:
    return next(i.id for i in emu.library(TOKEN) if i.mime_type == mime)


def listed(emu: Emulator, service: Any, ids: list[str]) -> dict[str, str]:
    session = service.sessions().create(body={}).execute()
    emu.pick(session["id"], ids)
    items = service.mediaItems().list(sessionId=session["id"], pageSize=100).execute()
    return {i["id"]: i["mediaFile"]["baseUrl"] for i in items["mediaItems"]}


def fetch(url: str) -> tuple[str, Image.Image]:
    answer = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    return answer.headers["Content-Type"], Image.open(io.BytesIO(answer.content))


def test_size_parameters_and_formats_follow_the_original(emu: Emulator, service: Any) -> None:
    emu.backend.configure(short_pages=0)
    kinds = {m: first_of(emu, m) for m in ("image/jpeg", "image/png", "image/gif", "image/heic")}
    video = ready_video(emu)
    urls = listed(emu, service, [*kinds.values(), video])
    expected = {
        "image/jpeg": ("image/jpeg", "JPEG"),
        "image/png": ("image/png", "PNG"),
        "image/gif": ("image/gif", "GIF"),
        "image/heic": ("image/jpeg", "JPEG"),  # served as JPEG, as Google's servers do
    }
    for mime, item_id in kinds.items():
        content_type, image = fetch(f"{urls[item_id]}=s120")
        assert (content_type, image.format) == expected[mime]
        assert max(image.size) == 120
    jpeg = urls[kinds["image/jpeg"]]
    assert fetch(f"{jpeg}=w90-h40-c")[1].size == (90, 40)
    assert fetch(f"{jpeg}=s64-c")[1].size == (64, 64)
    assert fetch(f"{jpeg}=w50")[1].size[0] == 50
    # A video's thumbnail is a JPEG; -no leaves out the play button.
    content_type, with_button = fetch(f"{urls[video]}=w64-h64-c")
    _, without = fetch(f"{urls[video]}=w64-h64-c-no")
    assert content_type == "image/jpeg" and with_button.tobytes() != without.tobytes()
    # googleapiclient's transport sees the same; the setting brings back PNG for everything.
    response, _ = service._http.request(f"{jpeg}=s100")
    assert response["content-type"] == "image/jpeg"
    emu.backend.configure(resized_format="png")
    assert fetch(f"{jpeg}=s100")[0] == "image/png"
    assert (
        requests.get(f"{jpeg}=s100-zz", headers={"Authorization": f"Bearer {TOKEN}"}).status_code
        == 400
    )
