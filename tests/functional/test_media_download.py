"""The Downloader end to end, over real HTTP against the emulator's media origin.

Items are the tests' own (tests/emulated_media.py puts them in the emulator's library and
lists them for real baseUrls); faults are the emulator's, scripted per item.

Requests go through google-auth's AuthorizedSession with real (static) credentials, so the
Authorization header each server receives is the one a user's token would produce.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import google.auth.credentials
import pytest
import requests
from google.auth.transport.requests import AuthorizedSession
from google.oauth2.credentials import Credentials

from picker_discovery import errors
from picker_discovery._media.pool import (
    MANIFEST_NAME,
    Downloaded,
    Downloader,
    ListedItem,
    Progress,
    Size,
    Skipped,
    SkipReason,
)
from picker_discovery._retry import RetryPolicy
from picker_discovery.models import PickedMediaItem
from picker_discovery.testing import Emulator, Fault
from tests.emulated_media import TOKEN, MediaHost, emu, foreign, server

__all__ = ["emu", "foreign", "server"]  # fixtures


def session_factory() -> requests.Session:
    session = AuthorizedSession(Credentials(token=TOKEN))
    session.trust_env = False  # no proxies from the environment for loopback
    return session


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make(server: MediaHost, sleeps: Sleeps | None = None, **kwargs: Any) -> Downloader:
    sleeps = sleeps if sleeps is not None else Sleeps()
    kwargs.setdefault("allowed_hosts", [server.origin])
    kwargs.setdefault("retry", RetryPolicy(max_attempts=3, random=lambda: 0.0))
    kwargs.setdefault("sleep", sleeps)
    return Downloader(session_factory=session_factory, **kwargs)


def photo(
    server: MediaHost,
    key: str,
    filename: str | None = "IMG_1.jpg",
    size: int = 1000,
    *,
    generation: str = "g1",
    mime: str = "image/jpeg",
    faults: tuple[Fault, ...] = (),
) -> dict[str, Any]:
    server.add(key, size, content_type=mime)
    server.fault(key, *faults)
    media_file: dict[str, Any] = {
        "baseUrl": server.url(key, generation),
        "mimeType": mime,
        "mediaFileMetadata": {"width": 4, "height": 3, "photoMetadata": {}},
    }
    if filename is not None:
        media_file["filename"] = filename
    return {"id": key, "type": "PHOTO", "mediaFile": media_file}


def video(
    server: MediaHost,
    key: str,
    filename: str = "clip.mp4",
    size: int = 5000,
    *,
    status: str = "READY",
    generation: str = "g1",
    faults: tuple[Fault, ...] = (),
) -> dict[str, Any]:
    server.add(key, size, content_type="video/mp4", video=True)
    server.fault(key, *faults)
    return {
        "id": key,
        "type": "VIDEO",
        "mediaFile": {
            "baseUrl": server.url(key, generation),
            "mimeType": "video/mp4",
            "filename": filename,
            "mediaFileMetadata": {
                "width": 4,
                "height": 3,
                "videoMetadata": {"fps": 30.0, "processingStatus": status},
            },
        },
    }


def renewed(
    raw: dict[str, Any], server: MediaHost, generation: str, **changes: Any
) -> dict[str, Any]:
    """The same item as a later listing returns it: a new baseUrl, maybe a new status."""
    fresh = {**raw, "mediaFile": {**raw["mediaFile"], "baseUrl": server.url(raw["id"], generation)}}
    if "status" in changes:
        meta = fresh["mediaFile"]["mediaFileMetadata"]
        fresh["mediaFile"]["mediaFileMetadata"] = {
            **meta,
            "videoMetadata": {**meta["videoMetadata"], "processingStatus": changes["status"]},
        }
    return fresh


def sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def files(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def visible(folder: Path) -> list[str]:
    return [name for name in files(folder) if not name.startswith(".")]


# -- suffixes and extensions ------------------------------------------------------------------


def test_each_kind_gets_its_suffix_and_extension(server: MediaHost, tmp_path: Path) -> None:
    items = [
        photo(server, "p1", "IMG_1.jpg", 1234),
        video(server, "v1", "clip.mp4", 4321, status="READY"),
        video(server, "v2", "busy.mp4", status="PROCESSING"),
        video(server, "v3", "broken.mp4", status="FAILED"),
    ]
    result = make(server).download_items(items, tmp_path)

    assert sorted(server.paths()) == ["/g1/p1=d", "/g1/v1=dv"]
    assert result.ok
    assert [(d.item_id, d.path.name, d.size, d.content_type) for d in result.downloaded] == [
        ("p1", "IMG_1.jpg", 1234, "image/jpeg"),
        ("v1", "clip.mp4", 4321, "video/mp4"),
    ]
    assert sha(tmp_path / "IMG_1.jpg") == server.digest("p1")
    assert sha(tmp_path / "clip.mp4") == server.digest("v1")
    reasons = {s.item_id: s.reason for s in result.skipped}
    assert reasons == {"v2": SkipReason.NOT_READY, "v3": SkipReason.PROCESSING_FAILED}
    assert isinstance(result.skipped[0].error, errors.MediaNotReady)
    assert isinstance(result.skipped[1].error, errors.MediaProcessingFailed)
    assert visible(tmp_path) == ["IMG_1.jpg", "clip.mp4"]


def test_sized_photo_with_crop_keeps_its_format(server: MediaHost, tmp_path: Path) -> None:
    items = [photo(server, "p1", "IMG_1.jpg"), video(server, "v1", "clip.mp4")]
    result = make(server).download_items(items, tmp_path, size=Size(256, 128, crop=True))

    assert sorted(server.paths()) == ["/g1/p1=w256-h128-c", "/g1/v1=dv"]
    assert [d.path.name for d in result.downloaded] == ["IMG_1.jpg", "clip.mp4"]
    assert (tmp_path / "IMG_1.jpg").read_bytes() == server.image("p1", 256, 128)
    assert result.downloaded[0].variant == "w256-h128-c"


def test_extension_follows_the_answer_not_the_filename(server: MediaHost, tmp_path: Path) -> None:
    items = [
        photo(server, "p1", "scan.jpg", mime="image/png"),
        photo(server, "p2", "IMG_2.JPG"),
        photo(server, "p3", "shot.heic", mime="image/heic"),
        photo(server, "p4", "odd.jpg", mime="application/x-unknown"),
    ]
    result = make(server).download_items(items, tmp_path)
    assert [d.path.name for d in result.downloaded] == [
        "scan.png",
        "IMG_2.JPG",
        "shot.heic",
        "odd.bin",
    ]


# -- names ------------------------------------------------------------------------------------


def test_unsafe_and_duplicate_names_land_safely_inside_the_folder(
    server: MediaHost, tmp_path: Path
) -> None:
    folder = tmp_path / "out"
    names = [
        "../../escape.jpg",
        "a/b.jpg",
        "a\\b.jpg",
        "..",
        "/etc/passwd",
        "CON.jpg",
        "nul.txt",
        "lpt1",
        "Cafe\u0301.jpg",
        "Caf\u00e9.jpg",
        "dup.jpg",
        "DUP.jpg",
        "dup.jpg",
        "tab\there\n.jpg",
        "x" * 300 + ".jpg",
        "\u00e9" * 200 + ".jpg",
        "",
        "dots...jpg",
    ]
    items = [photo(server, f"id{i}", name, 10 + i) for i, name in enumerate(names)]
    items.append(photo(server, "nofilename", None, 7))
    result = make(server).download_items(items, folder)

    assert result.ok, result.failed
    got = [d.path.name for d in result.downloaded]
    assert got[:14] == [
        "_._escape.jpg",
        "a_b.jpg",
        "a_b (2).jpg",
        "id3.jpg",
        "_etc_passwd.jpg",
        "_CON.jpg",
        "_nul.jpg",
        "_lpt1.jpg",
        "Caf\u00e9.jpg",
        "Caf\u00e9 (2).jpg",  # NFC makes the two spellings the same name
        "dup.jpg",
        "DUP (2).jpg",  # unique without regard to case, for case-insensitive disks
        "dup (3).jpg",
        "tabhere.jpg",
    ]
    assert got[16:] == ["id16.jpg", "dots.jpg", "nofilename.jpg"]
    assert not (tmp_path / "escape.jpg").exists()
    for done in result.downloaded:
        assert done.path.parent == folder
        assert done.path.resolve().parent == folder.resolve()
        name = done.path.name
        assert len(name.encode("utf-8")) <= 200
        assert ".." not in name and "/" not in name and "\\" not in name
        assert name == unicodedata.normalize("NFC", name)
        assert not any(unicodedata.category(ch) == "Cc" for ch in name)
        assert name[-1] not in ". "
    assert len(set(n.casefold() for n in got)) == len(got)
    assert sorted(visible(folder)) == sorted(got)


def test_foreign_files_are_never_overwritten(server: MediaHost, tmp_path: Path) -> None:
    (tmp_path / "IMG_1.jpg").write_bytes(b"the user's own file")
    (tmp_path / "IMG_1.png").write_bytes(b"another")
    result = make(server).download_items([photo(server, "p1", "IMG_1.jpg")], tmp_path)
    assert [d.path.name for d in result.downloaded] == ["IMG_1 (2).jpg"]
    assert (tmp_path / "IMG_1.jpg").read_bytes() == b"the user's own file"


# -- atomic writes, interruption, reruns -------------------------------------------------------


def test_rerun_skips_complete_files_without_any_request(server: MediaHost, tmp_path: Path) -> None:
    items = [photo(server, "p1", "a.jpg"), photo(server, "p2", "a.jpg")]
    first = make(server).download_items(items, tmp_path)
    assert [d.path.name for d in first.downloaded] == ["a.jpg", "a (2).jpg"]
    requests_before = len(server.requests)

    second = make(server).download_items(items, tmp_path)
    assert second.downloaded == []
    assert [(s.item_id, s.reason, s.path) for s in second.skipped] == [
        ("p1", SkipReason.ALREADY_PRESENT, tmp_path / "a.jpg"),
        ("p2", SkipReason.ALREADY_PRESENT, tmp_path / "a (2).jpg"),
    ]
    assert len(server.requests) == requests_before
    assert files(tmp_path) == [MANIFEST_NAME, "a (2).jpg", "a.jpg"]


def test_a_missing_file_is_fetched_again_under_its_name_a_changed_one_is_kept(
    server: MediaHost, tmp_path: Path
) -> None:
    items = [photo(server, "p1", "a.jpg", 500), photo(server, "p2", "a.jpg", 600)]
    make(server).download_items(items, tmp_path)
    (tmp_path / "a.jpg").write_bytes(b"edited")  # the user changed it: it is theirs now
    (tmp_path / "a (2).jpg").unlink()

    result = make(server).download_items(items, tmp_path)
    assert [d.path.name for d in result.downloaded] == ["a (3).jpg", "a (2).jpg"]
    assert (tmp_path / "a.jpg").read_bytes() == b"edited"
    assert sha(tmp_path / "a (3).jpg") == server.digest("p1")
    assert sha(tmp_path / "a (2).jpg") == server.digest("p2")


def test_interrupted_download_leaves_no_file_and_a_rerun_completes_it(
    server: MediaHost, tmp_path: Path
) -> None:
    item = photo(server, "p1", "big.jpg", 3_000_000)
    server.fault("p1", *[Fault(drop_after=100_000)] * 3)  # every attempt of the first run drops
    sleeps = Sleeps()
    first = make(server, sleeps).download_items([item, photo(server, "p2", "ok.jpg")], tmp_path)

    assert [f.item_id for f in first.failed] == ["p1"]
    error = first.failed[0].error
    assert isinstance(error, errors.IncompleteDownload)
    assert error.expected == 3_000_000 and error.received < 3_000_000
    assert "big.jpg" in str(error) and "run again" in str(error)
    assert [d.path.name for d in first.downloaded] == ["ok.jpg"]  # the others went on
    assert files(tmp_path) == [MANIFEST_NAME, "ok.jpg"]  # no partial file, no .part left
    assert len(sleeps) == 2

    second = make(server).download_items([item], tmp_path)
    assert [d.path.name for d in second.downloaded] == ["big.jpg"]
    assert sha(tmp_path / "big.jpg") == server.digest("p1")


KILLED_CLIENT = r"""
import sys

import google.auth.credentials
import requests
from google.auth.transport.requests import AuthorizedSession
from google.oauth2.credentials import Credentials

from picker_discovery._media.pool import Downloader

origin, url, folder, token = sys.argv[1:5]


def factory():
    session = AuthorizedSession(Credentials(token=token))
    session.trust_env = False
    return session


item = {"id": "p1", "type": "PHOTO", "mediaFile": {"baseUrl": url, "filename": "big.jpg"}}
Downloader(session_factory=factory, allowed_hosts=[origin]).download_items([item], folder)
"""


def reached_stall(folder: Path, client: subprocess.Popen[bytes], size: int = 1_000_000) -> bool:
    """Whether the client wrote ``size`` bytes of its part file (the stall sends half of
    3 MB) while still running, within a minute."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and client.poll() is None:
        parts = [p for p in folder.iterdir() if p.name.startswith(".big.part-")]
        if parts and parts[0].stat().st_size >= size:
            return True
        time.sleep(0.05)
    return False


def test_a_killed_run_leaves_no_file_under_its_final_name(
    server: MediaHost, tmp_path: Path
) -> None:
    item = photo(server, "p1", "big.jpg", 3_000_000)
    server.fault("p1", Fault(stall=60))  # half the bytes, then nothing until the test ends
    args = [
        sys.executable,
        "-c",
        KILLED_CLIENT,
        server.origin,
        server.url("p1"),
        str(tmp_path),
        TOKEN,
    ]
    client = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert reached_stall(tmp_path, client), "the client never reached the stall"
        client.kill()  # SIGKILL: no finally blocks, no cleanup
        client.wait(30)
    finally:
        if client.poll() is None:
            client.kill()
        if client.stderr is not None:
            client.stderr.close()
    left = files(tmp_path)
    assert visible(tmp_path) == []  # nothing under a final name, not even a manifest line
    assert len(left) == 1 and left[0].startswith(".big.part-")

    result = make(server).download_items([item], tmp_path)
    assert [d.path.name for d in result.downloaded] == ["big.jpg"]
    assert sha(tmp_path / "big.jpg") == server.digest("p1")
    assert files(tmp_path) == [MANIFEST_NAME, "big.jpg"]  # the stale part file is gone too


def test_a_failing_progress_callback_leaves_no_partial_file(
    server: MediaHost, tmp_path: Path
) -> None:
    item = photo(server, "p1", "big.jpg", 3_000_000)

    def progress(report: Progress) -> None:
        if report.bytes_done > 1_000_000:
            raise KeyboardInterruptLike("stop")

    result = make(server, progress=progress, chunk_size=65536).download_items([item], tmp_path)
    assert isinstance(result.failed[0].error, KeyboardInterruptLike)
    assert files(tmp_path) == []


class KeyboardInterruptLike(Exception):
    pass


def test_manifest_entries_pointing_outside_are_ignored(server: MediaHost, tmp_path: Path) -> None:
    (tmp_path / MANIFEST_NAME).write_text(
        '{"id": "p1", "variant": "d", "stem": "x", "name": "../escape.jpg", "size": 4}\n'
        "not json at all\n"
        '{"id": "p1", "variant": "d", "stem": "x"',
        encoding="utf-8",
    )
    (tmp_path.parent / "escape.jpg").write_bytes(b"abcd")
    result = make(server).download_items([photo(server, "p1", "a.jpg")], tmp_path)
    assert [d.path.name for d in result.downloaded] == ["a.jpg"]


# -- retries and resume -----------------------------------------------------------------------


def test_dropped_connection_resumes_with_range(server: MediaHost, tmp_path: Path) -> None:
    item = photo(server, "p1", "a.jpg", 1_000_000, faults=(Fault(drop_after=300_000),))
    sleeps = Sleeps()
    result = make(server, sleeps).download_items([item], tmp_path)

    assert result.ok
    assert sha(tmp_path / "a.jpg") == server.digest("p1")
    ranges = [r.headers.get("range") for r in server.requests]
    # Every byte that arrived before the connection closed was kept: the resume asks for
    # the rest from exactly there, not from the last whole buffer.
    assert ranges == [None, "bytes=300000-"]
    assert len(sleeps) == 1


def test_resume_uses_if_range_with_a_strong_etag(server: MediaHost, tmp_path: Path) -> None:
    item = photo(
        server,
        "p1",
        "a.jpg",
        1_000_000,
        faults=(Fault(drop_after=300_000, etag='"v1"'), Fault(etag='"v1"')),
    )
    result = make(server).download_items([item], tmp_path)
    assert result.ok
    assert [r.headers.get("if-range") for r in server.requests] == [None, '"v1"']
    assert sha(tmp_path / "a.jpg") == server.digest("p1")


def test_without_range_support_a_drop_restarts(server: MediaHost, tmp_path: Path) -> None:
    no_ranges = Fault(ignore_range=True, no_accept_ranges=True)
    faults = (
        dataclasses.replace(no_ranges, drop_after=300_000),
        dataclasses.replace(no_ranges, drop_after=600_000),
        no_ranges,
    )
    item = photo(server, "p1", "a.jpg", 1_000_000, faults=faults)
    result = make(server).download_items([item], tmp_path)

    assert result.ok
    assert [r.headers.get("range") for r in server.requests] == [None, None, None]
    assert sha(tmp_path / "a.jpg") == server.digest("p1")


@pytest.mark.parametrize("answer", ["ignore_range", "bad_range"])
def test_a_resume_the_server_will_not_honour_restarts(
    server: MediaHost, tmp_path: Path, answer: str
) -> None:
    wrong = Fault(ignore_range=True) if answer == "ignore_range" else Fault(range_shift=1)
    item = photo(server, "p1", "a.jpg", 1_000_000, faults=(Fault(drop_after=300_000), wrong))
    result = make(server).download_items([item], tmp_path)
    assert result.ok, result.failed
    assert sha(tmp_path / "a.jpg") == server.digest("p1")
    ranges = [r.headers.get("range") for r in server.requests]
    expected_tail = [] if answer == "ignore_range" else [None]  # a bad 206 costs an attempt
    assert ranges == [None, "bytes=300000-", *expected_tail]


def test_503_then_200_honours_retry_after(server: MediaHost, tmp_path: Path) -> None:
    item = photo(server, "p1", "a.jpg")
    server.fault("p1", Fault(status=503, retry_after=7))
    sleeps = Sleeps()
    result = make(server, sleeps).download_items([item], tmp_path)
    assert result.ok
    assert sleeps == [7.0]
    assert len(server.requests) == 2


def test_429_without_retry_after_waits_at_least_30_seconds(
    server: MediaHost, tmp_path: Path
) -> None:
    item = photo(server, "p1", "a.jpg")
    server.fault("p1", Fault(status=429))
    sleeps = Sleeps()
    assert make(server, sleeps).download_items([item], tmp_path).ok
    assert sleeps == [30.0]


def test_retries_run_out_with_a_clear_error(server: MediaHost, tmp_path: Path) -> None:
    item = photo(server, "p1", "a.jpg")
    server.fault("p1", *[Fault(status=503)] * 5)
    result = make(server).download_items([item], tmp_path)
    error = result.failed[0].error
    assert isinstance(error, errors.MediaHttpError) and error.code == 503
    assert len(server.requests) == 3
    assert "try again later" in str(error) and "a.jpg" in str(error)
    assert files(tmp_path) == []


def test_a_404_fails_its_item_and_the_rest_go_on(server: MediaHost, tmp_path: Path) -> None:
    items = [photo(server, "p1", "a.jpg"), photo(server, "p2", "b.jpg")]
    server.fault("p1", Fault(status=404))
    result = make(server).download_items(items, tmp_path)
    assert [f.item_id for f in result.failed] == ["p1"]
    assert isinstance(result.failed[0].error, errors.MediaHttpError)
    assert [d.item_id for d in result.downloaded] == ["p2"]
    with pytest.raises(errors.MediaHttpError):
        result.raise_for_failures()


def test_fail_fast_stops_the_run(server: MediaHost, tmp_path: Path) -> None:
    items = [photo(server, f"p{i}", f"{i}.jpg") for i in range(4)]
    server.fault("p0", Fault(status=404))
    result = make(server, workers=1).download_items(items, tmp_path, fail_fast=True)
    assert [f.item_id for f in result.failed] == ["p0"]
    assert result.downloaded == [] and server.paths() == ["/g1/p0=d"]


# -- expired baseUrls -------------------------------------------------------------------------


def test_expired_urls_are_renewed_by_one_relist(server: MediaHost, tmp_path: Path) -> None:
    items = [photo(server, "p1", "a.jpg"), photo(server, "p2", "b.jpg")]
    server.expire("g1")
    relists: list[int] = []

    def relist() -> list[dict[str, Any]]:
        relists.append(1)
        return [renewed(raw, server, "g2") for raw in items]

    result = make(server, workers=1).download_items(items, tmp_path, relist=relist)
    assert result.ok
    assert server.paths() == ["/g1/p1=d", "/g2/p1=d", "/g1/p2=d", "/g2/p2=d"]
    assert len(relists) == 1  # p2's renewal came from the same re-listing


def test_listing_calls_never_overlap(server: MediaHost, tmp_path: Path) -> None:
    """list_page may be backed by a googleapiclient service, which is not thread-safe."""
    items = [photo(server, f"p{i}", f"{i}.jpg") for i in range(8)]
    server.expire("g1")
    busy = threading.Lock()
    calls = [0]

    def list_page(session_id: str, token: str | None) -> Mapping[str, Any]:
        if not busy.acquire(blocking=False):
            raise AssertionError("list_page called while another call was running")
        try:
            calls[0] += 1
            generation = "g1" if calls[0] == 1 else "g2"
            return {"mediaItems": [renewed(raw, server, generation) for raw in items]}
        finally:
            busy.release()

    for i in range(8):  # four 403s at a time arrive together
        server.fault(f"p{i}", Fault(gather=4))
    result = make(server, workers=4).download_session("S1", tmp_path, list_page)
    assert result.ok, result.failed
    assert len(result.downloaded) == 8
    assert calls[0] == 2  # the first listing, and one re-listing for all eight


def test_a_url_listed_too_long_ago_is_renewed_before_use(server: MediaHost, tmp_path: Path) -> None:
    raw = photo(server, "p1", "a.jpg")
    now = [10_000.0]
    downloader = make(server, clock=lambda: now[0], url_lifetime=3300)
    result = downloader.download_items(
        [ListedItem(PickedMediaItem.from_dict(raw), listed_at=0.0)],
        tmp_path,
        relist=lambda: [renewed(raw, server, "g2")],
    )
    assert result.ok
    assert server.paths() == ["/g2/p1=d"]  # the stale URL was never even tried


def test_expired_url_without_relist_fails_clearly(server: MediaHost, tmp_path: Path) -> None:
    server.expire("g1")
    result = make(server).download_items([photo(server, "p1", "a.jpg")], tmp_path)
    error = result.failed[0].error
    assert isinstance(error, errors.MediaUrlExpired)
    assert "HTTP 403" in str(error) and "relist" in str(error)


def test_an_item_gone_from_the_session_fails_clearly(server: MediaHost, tmp_path: Path) -> None:
    server.expire("g1")
    result = make(server).download_items(
        [photo(server, "p1", "a.jpg")], tmp_path, relist=lambda: []
    )
    error = result.failed[0].error
    assert isinstance(error, errors.MediaUrlExpired)
    assert "no longer in the session" in str(error)


def test_a_failing_relist_fails_the_item_clearly(server: MediaHost, tmp_path: Path) -> None:
    server.expire("g1")

    def relist() -> list[dict[str, Any]]:
        raise RuntimeError("session expired")

    result = make(server).download_items([photo(server, "p1", "a.jpg")], tmp_path, relist=relist)
    error = result.failed[0].error
    assert isinstance(error, errors.MediaUrlExpired)
    assert "re-listing the session" in str(error) and "session expired" in str(error)


def test_renewing_is_bounded(server: MediaHost, tmp_path: Path) -> None:
    raw = photo(server, "p1", "a.jpg")
    server.expire("g1", "g2")
    result = make(server).download_items(
        [raw], tmp_path, relist=lambda: [renewed(raw, server, "g2")]
    )
    error = result.failed[0].error
    assert isinstance(error, errors.MediaHttpError) and error.code == 403
    assert "scope" in str(error)
    assert len(server.requests) == 3


# -- where the token goes ---------------------------------------------------------------------


def authorized_origins(emu: Emulator) -> set[str]:
    return {r.origin for r in emu.attempts("media") if r.authorized}


def test_a_base_url_off_the_allowlist_gets_nothing(
    server: MediaHost, foreign: MediaHost, tmp_path: Path
) -> None:
    items = [photo(foreign, "p1", "a.jpg"), photo(server, "p2", "b.jpg")]
    result = make(server).download_items(items, tmp_path)

    error = result.failed[0].error
    assert isinstance(error, errors.UntrustedMediaHost)
    assert error.url == foreign.url("p1") + "=d"
    assert foreign.requests == []
    assert [d.item_id for d in result.downloaded] == ["p2"]


def test_a_redirect_off_the_allowlist_is_not_followed(
    server: MediaHost, foreign: MediaHost, tmp_path: Path
) -> None:
    foreign.add("v1", 5000, content_type="video/mp4", video=True)
    item = video(server, "v1", "clip.mp4", faults=(Fault(redirect=foreign.url("v1") + "=dv"),))
    result = make(server).download_items([item], tmp_path)

    assert isinstance(result.failed[0].error, errors.UntrustedMediaHost)
    assert foreign.requests == []
    assert server.paths() == ["/g1/v1=dv"]
    assert files(tmp_path) == []


def test_a_redirect_to_an_allowed_host_is_followed(server: MediaHost, tmp_path: Path) -> None:
    """Like =dv redirecting to video-downloads.googleusercontent.com."""
    downloads = server.on_downloads()
    downloads.add("v1", 5000, content_type="video/mp4", video=True)
    item = video(server, "v1", "clip.mp4", faults=(Fault(redirect=downloads.url("v1") + "=dv"),))
    downloader = make(server, allowed_hosts=[server.origin, downloads.origin])
    result = downloader.download_items([item], tmp_path)
    assert result.ok
    assert downloads.paths() == ["/g1/v1=dv"]
    assert authorized_origins(server.emu) == {"media", "downloads"}
    assert sha(tmp_path / "clip.mp4") == server.digest("v1")


def test_a_chain_of_redirects_is_followed_and_a_loop_is_not(
    server: MediaHost, tmp_path: Path
) -> None:
    raw = photo(server, "p1", "a.jpg")
    hop = Fault(redirect=server.url("p1") + "=d")
    server.fault("p1", hop, hop, hop)  # three hops on the same origin, then the bytes
    assert make(server).download_items([raw], tmp_path).ok
    assert server.paths() == ["/g1/p1=d"] * 4

    server.emu.backend.clear_attempts()
    looped = photo(server, "p2", "b.jpg")
    server.fault("p2", *[Fault(redirect=server.url("p2") + "=d")] * 50)
    result = make(server).download_items([looped], tmp_path)
    error = result.failed[0].error
    assert isinstance(error, errors.MediaHttpError) and "redirects" in str(error)
    assert 1 < len(server.requests) < 50  # it gave up after a handful, not at the end
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("b")] == []


def test_requests_itself_drops_authorization_on_cross_origin_redirects(
    server: MediaHost, foreign: MediaHost
) -> None:
    """What we rely on least, checked anyway: requests strips the header when the port changes.

    The downloader does not depend on it (it follows redirects itself, checking each hop).
    """
    server.add("p1", 10)
    server.fault("p1", Fault(redirect=foreign.url("p1") + "=d"))
    # No token refresh on the foreign 401: these credentials cannot refresh.
    with AuthorizedSession(Credentials(token=TOKEN), refresh_status_codes=()) as session:
        session.trust_env = False
        response = session.get(server.url("p1") + "=d", timeout=10)
    assert response.status_code == 401  # the foreign origin saw no token
    assert [r.authorized for r in server.requests] == [True]
    assert [r.authorized for r in foreign.requests] == [False]


# -- videos not ready yet ---------------------------------------------------------------------


def test_not_ready_fail_reports_the_video(server: MediaHost, tmp_path: Path) -> None:
    item = video(server, "v1", status="PROCESSING")
    result = make(server).download_items([item], tmp_path, not_ready="fail")
    error = result.failed[0].error
    assert isinstance(error, errors.MediaNotReady) and error.status == "PROCESSING"
    assert server.requests == []


def test_waiting_for_a_video_relists_until_ready(server: MediaHost, tmp_path: Path) -> None:
    raw = video(server, "v1", status="PROCESSING")
    now = [0.0]
    statuses = iter(["PROCESSING", "READY"])

    def sleep(seconds: float) -> None:
        now[0] += seconds

    def relist() -> list[dict[str, Any]]:
        return [renewed(raw, server, "g2", status=next(statuses))]

    downloader = make(server, clock=lambda: now[0], sleep=sleep, wait_interval=10, wait_timeout=60)
    result = downloader.download_items([raw], tmp_path, relist=relist, not_ready="wait")
    assert result.ok
    assert server.paths() == ["/g2/v1=dv"]
    assert now[0] == 20.0


def test_waiting_gives_up_and_failed_processing_stops_waiting(
    server: MediaHost, tmp_path: Path
) -> None:
    slow = video(server, "v1", "slow.mp4", status="PROCESSING")
    doomed = video(server, "v2", "doomed.mp4", status="PROCESSING")
    now = [0.0]
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            now[0] += seconds

    def relist() -> list[dict[str, Any]]:
        return [
            renewed(slow, server, "g2", status="PROCESSING"),
            renewed(doomed, server, "g2", status="FAILED"),
        ]

    downloader = make(server, clock=lambda: now[0], sleep=sleep, wait_interval=10, wait_timeout=30)
    result = downloader.download_items([slow, doomed], tmp_path, relist=relist, not_ready="wait")
    assert [f.item_id for f in result.failed] == ["v1"]
    assert isinstance(result.failed[0].error, errors.MediaNotReady)
    assert "after waiting 30 s" in result.failed[0].reason
    assert [(s.item_id, s.reason) for s in result.skipped] == [("v2", SkipReason.PROCESSING_FAILED)]
    assert server.requests == []


# -- concurrency, lazy listing, progress ------------------------------------------------------


def test_downloads_overlap_and_stay_within_the_pool(server: MediaHost, tmp_path: Path) -> None:
    items = [photo(server, f"p{i}", f"{i}.jpg", 200_000) for i in range(9)]
    for i in range(9):  # each request waits until 3 are in flight
        server.fault(f"p{i}", Fault(gather=3))
    result = make(server, workers=3).download_items(items, tmp_path)
    assert result.ok, result.failed
    assert len(result.downloaded) == 9
    assert server.emu.max_in_flight("media") == 3


def test_a_session_is_listed_page_by_page_as_downloads_proceed(
    server: MediaHost, tmp_path: Path
) -> None:
    items = [photo(server, f"p{i}", f"{i}.jpg") for i in range(3)]
    pages: dict[str | None, Mapping[str, Any]] = {
        None: {"mediaItems": items[:1], "nextPageToken": "t1"},
        "t1": {"mediaItems": items[1:2], "nextPageToken": "t2"},
        "t2": {"mediaItems": items[2:]},
    }
    seen_at_call: list[tuple[str | None, int]] = []

    def list_page(session_id: str, token: str | None) -> Mapping[str, Any]:
        assert session_id == "S1"
        seen_at_call.append((token, len(server.requests)))
        return pages[token]

    result = make(server, workers=1).download_session("S1", tmp_path, list_page)
    assert result.ok
    assert seen_at_call == [(None, 0), ("t1", 1), ("t2", 2)]


def test_download_session_renews_with_the_same_listing(server: MediaHost, tmp_path: Path) -> None:
    raw = photo(server, "p1", "a.jpg")
    calls: list[str | None] = []

    def list_page(session_id: str, token: str | None) -> Mapping[str, Any]:
        calls.append(token)
        generation = "g1" if len(calls) == 1 else "g2"
        return {"mediaItems": [renewed(raw, server, generation)]}

    server.expire("g1")
    result = make(server).download_session("S1", tmp_path, list_page)
    assert result.ok
    assert calls == [None, None]
    assert server.paths() == ["/g1/p1=d", "/g2/p1=d"]


def test_a_malformed_item_in_a_listed_page_fails_alone(server: MediaHost, tmp_path: Path) -> None:
    good = [photo(server, "p1", "a.jpg"), photo(server, "p2", "b.jpg")]
    bad = {"id": "p3", "mediaFile": {"baseUrl": 7}}
    pages: dict[str | None, Mapping[str, Any]] = {
        None: {"mediaItems": [good[0], bad, "not an item"], "nextPageToken": "t1"},
        "t1": {"mediaItems": [good[1]]},
    }
    result = make(server).download_session("S1", tmp_path, lambda _, token: pages[token])
    assert [done.item_id for done in result.downloaded] == ["p1", "p2"]
    assert [failed.item_id for failed in result.failed] == ["p3", None]
    assert all(isinstance(failed.error, errors.MalformedResponse) for failed in result.failed)
    assert result.listing_error is None


def test_a_listing_error_is_reported_after_the_items_before_it(
    server: MediaHost, tmp_path: Path
) -> None:
    def items() -> Iterator[dict[str, Any]]:
        yield photo(server, "p1", "a.jpg")
        raise errors.PickerError("listing broke")

    result = make(server, workers=1).download_items(items(), tmp_path)
    assert [d.item_id for d in result.downloaded] == ["p1"]
    assert isinstance(result.listing_error, errors.PickerError)
    assert not result.ok


def test_progress_reports_bytes_and_items(server: MediaHost, tmp_path: Path) -> None:
    reports: list[Progress] = []
    items = [photo(server, "p1", "a.jpg", 300_000), video(server, "v1", status="PROCESSING")]
    downloader = make(server, progress=reports.append, chunk_size=65536)
    result = downloader.download_items(items, tmp_path)
    assert result.ok
    p1 = [r for r in reports if r.item_id == "p1"]
    assert p1[-1].bytes_done == p1[-1].bytes_total == 300_000
    assert len(p1) >= 300_000 // 65536
    assert [r.bytes_done for r in p1] == sorted(r.bytes_done for r in p1)
    assert sorted(r.items_done for r in reports if r.bytes_done == r.bytes_total)[-1] == 2
    assert reports[-1].items_total == 2


def test_download_one_item(server: MediaHost, tmp_path: Path) -> None:
    downloader = make(server)
    done = downloader.download(photo(server, "p1", "a.jpg"), tmp_path)
    assert isinstance(done, Downloaded) and done.path == tmp_path / "a.jpg"
    again = downloader.download(photo(server, "p1", "a.jpg"), tmp_path)
    assert isinstance(again, Skipped) and again.reason is SkipReason.ALREADY_PRESENT
    with pytest.raises(errors.MediaNotReady):
        downloader.download(video(server, "v1", status="PROCESSING"), tmp_path)


def test_bad_items_fail_alone(server: MediaHost, tmp_path: Path) -> None:
    items: list[Any] = [
        {"id": "x", "mediaFile": {}},
        {"mediaFile": {"baseUrl": "u"}},
        42,
        photo(server, "p1"),
    ]
    result = make(server).download_items(items, tmp_path)
    assert [f.item_id for f in result.failed] == ["x", None, None]
    assert "baseUrl" in result.failed[0].reason
    assert [d.item_id for d in result.downloaded] == ["p1"]


def test_duplicate_items_are_fetched_once(server: MediaHost, tmp_path: Path) -> None:
    raw = photo(server, "p1")
    result = make(server).download_items([raw, raw], tmp_path)
    assert len(result.downloaded) == 1
    assert [s.reason for s in result.skipped] == [SkipReason.DUPLICATE]


def test_default_credentials_path_uses_an_authorized_session(
    server: MediaHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    downloader = Downloader(Credentials(token=TOKEN), allowed_hosts=[server.origin])
    result = downloader.download_items([photo(server, "p1")], tmp_path)
    assert result.ok
    assert [r.authorized for r in server.requests] == [True]


def test_constructor_checks() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Downloader()
    with pytest.raises(ValueError, match="workers"):
        Downloader(session_factory=session_factory, workers=0)
    with pytest.raises(ValueError, match="url_lifetime"):
        Downloader(session_factory=session_factory, url_lifetime=0)


def test_drops_503_and_429_on_one_run_follow_the_retry_policy(
    server: MediaHost, tmp_path: Path
) -> None:
    policy = RetryPolicy(max_attempts=3, jitter=0.0)
    items = [photo(server, "p1", "a.jpg", 1_000_000), photo(server, "p2", "b.jpg")]
    server.fault("p1", Fault(drop_after=300_000))
    server.fault("p2", Fault(status=503, retry_after=7), Fault(status=429))
    sleeps = Sleeps()
    result = make(server, sleeps, retry=policy, workers=1).download_items(items, tmp_path)
    assert result.ok, result.failed
    assert sleeps == [1.0, 7.0, 30.0]
    assert sha(tmp_path / "a.jpg") == server.digest("p1")


class RefreshingCredentials(google.auth.credentials.Credentials):
    """Credentials whose refresh hands out the server's token, counting refreshes."""

    def __init__(self, token: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.token = token
        self.refreshes = 0

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        self.token = TOKEN


@pytest.mark.usefixtures("no_proxy")
def test_a_401_refreshes_the_token_not_the_url(server: MediaHost, tmp_path: Path) -> None:
    credentials = RefreshingCredentials("stale-token")
    downloader = Downloader(credentials, allowed_hosts=[server.origin], sleep=Sleeps())
    relists: list[int] = []

    def relist() -> list[dict[str, Any]]:
        relists.append(1)
        return []

    item = photo(server, "p1", "a.jpg", faults=(Fault(status=401),))
    result = downloader.download_items([item], tmp_path, relist=relist)
    assert result.ok, result.failed
    assert credentials.refreshes == 1
    # The emulator served the second request, which only the owner's token gets (the stale
    # one is another user's); the first was answered 401 before any relisting.
    assert [r.authorized for r in server.requests] == [True, True]
    assert relists == []


@pytest.mark.usefixtures("no_proxy")
def test_a_token_that_cannot_be_refreshed_says_sign_in_again(
    server: MediaHost, tmp_path: Path
) -> None:
    item = photo(server, "p1", "a.jpg")
    server.fault("p1", Fault(status=401))
    # Static credentials: AuthorizedSession's refresh after the 401 raises RefreshError.
    downloader = Downloader(Credentials(token=TOKEN), allowed_hosts=[server.origin], sleep=Sleeps())
    result = downloader.download_items([item], tmp_path)
    error = result.failed[0].error
    assert isinstance(error, errors.MediaError)
    assert "sign in again" in str(error) and TOKEN not in str(error)
