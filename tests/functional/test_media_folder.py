"""The download folder cannot be turned against its owner.

Over real HTTP (the emulator's media origin): a hostile or corrupt manifest, symbolic links, files
that appear or change while a run goes on, two runs sharing a folder, folders without hard
links, dangerous Content-Types and names that differ only in Unicode normalization. Nothing
the downloader did not write in this run is ever replaced, and nothing is written outside.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from picker_discovery import errors
from picker_discovery._media.pool import MANIFEST_NAME, Progress, SkipReason, extension_for
from tests.emulated_media import MediaHost, emu, server
from tests.functional.test_media_download import files, make, photo, sha, visible

__all__ = ["emu", "server"]  # fixtures


SIZE = 300_000  # several 64 KiB chunks, so a progress callback runs mid-download


def midway(action: Callable[[], None]) -> Callable[[Progress], None]:
    """A progress callback that runs ``action`` once, after the first chunk arrived."""
    done: list[bool] = []

    def progress(report: Progress) -> None:
        if not done and 0 < report.bytes_done < (report.bytes_total or 0):
            done.append(True)
            action()

    return progress


def manifest_lines(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / MANIFEST_NAME).read_text().splitlines()]


# -- placing a file never replaces one -------------------------------------------------------


@pytest.mark.parametrize("kind", ["file", "symlink"])
def test_a_name_taken_mid_download_is_never_replaced(
    server: MediaHost, tmp_path: Path, kind: str
) -> None:
    folder = tmp_path / "photos"
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"not yours")

    def plant() -> None:
        if kind == "file":
            (folder / "a.jpg").write_bytes(b"the user's own file")
        else:
            (folder / "a.jpg").symlink_to(outside)

    item = photo(server, "p1", "a.jpg", SIZE)
    result = make(server, progress=midway(plant)).download_items([item], folder)

    assert [d.path.name for d in result.downloaded] == ["a (2).jpg"]
    assert sha(folder / "a (2).jpg") == server.digest("p1")
    assert outside.read_bytes() == b"not yours"
    if kind == "file":
        assert (folder / "a.jpg").read_bytes() == b"the user's own file"
    else:
        assert (folder / "a.jpg").is_symlink()
    assert files(folder) == [MANIFEST_NAME, "a (2).jpg", "a.jpg"]
    assert [line["name"] for line in manifest_lines(folder)][-1] == "a (2).jpg"
    again = make(server).download_items([item], folder)
    assert [(s.reason, s.path) for s in again.skipped] == [
        (SkipReason.ALREADY_PRESENT, folder / "a (2).jpg")
    ]


def no_hard_links(*args: Any, **kwargs: Any) -> None:
    raise OSError(errno.EPERM, "Operation not permitted")


def test_without_hard_links_the_file_is_copied_in_beside_what_appeared(
    server: MediaHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "link", no_hard_links)
    items = [photo(server, "p1", "a.jpg", SIZE), photo(server, "p2", "b.jpg", 1000)]

    def plant() -> None:
        (tmp_path / "a.jpg").write_bytes(b"the user's own file")

    result = make(server, progress=midway(plant)).download_items(items, tmp_path)

    assert [d.path.name for d in result.downloaded] == ["a (2).jpg", "b.jpg"]
    assert (tmp_path / "a.jpg").read_bytes() == b"the user's own file"
    assert sha(tmp_path / "a (2).jpg") == server.digest("p1")
    assert sha(tmp_path / "b.jpg") == server.digest("p2")
    assert files(tmp_path) == [MANIFEST_NAME, "a (2).jpg", "a.jpg", "b.jpg"]  # no part left
    again = make(server).download_items(items, tmp_path)  # the copies' times were recorded
    assert {s.reason for s in again.skipped} == {SkipReason.ALREADY_PRESENT}


def test_two_runs_sharing_a_folder_never_replace_each_others_files(
    server: MediaHost, tmp_path: Path
) -> None:
    mine, theirs = photo(server, "p1", "a.jpg", SIZE), photo(server, "p2", "a.jpg", 2000)
    other: list[Any] = []

    def other_run() -> None:  # starts and finishes while the first run is mid-download
        other.append(make(server).download_items([theirs], tmp_path))

    result = make(server, progress=midway(other_run)).download_items([mine], tmp_path)

    assert [d.path.name for d in other[0].downloaded] == ["a.jpg"]
    assert [d.path.name for d in result.downloaded] == ["a (2).jpg"]
    assert sha(tmp_path / "a.jpg") == server.digest("p2")
    assert sha(tmp_path / "a (2).jpg") == server.digest("p1")
    again = make(server).download_items([mine, theirs], tmp_path)
    assert [(s.item_id, s.reason) for s in again.skipped] == [
        ("p1", SkipReason.ALREADY_PRESENT),
        ("p2", SkipReason.ALREADY_PRESENT),
    ]


def test_a_run_never_removes_the_part_file_of_another_live_run(
    server: MediaHost, tmp_path: Path
) -> None:
    item = photo(server, "p1", "a.jpg", SIZE)
    other: list[Any] = []

    def same_item_elsewhere() -> None:
        other.append(make(server).download_items([item], tmp_path))

    result = make(server, progress=midway(same_item_elsewhere)).download_items([item], tmp_path)

    assert result.ok, result.failed  # its part file survived the other run's clean-up
    assert other[0].ok, other[0].failed
    assert sorted(d.path.name for d in [*result.downloaded, *other[0].downloaded]) == [
        "a (2).jpg",
        "a.jpg",
    ]
    assert sha(tmp_path / "a.jpg") == sha(tmp_path / "a (2).jpg") == server.digest("p1")
    assert visible(tmp_path) == files(tmp_path)[1:]  # only the manifest is hidden


@pytest.mark.parametrize("change", ["content and time", "time only", "a symlink"])
def test_a_recorded_file_that_changed_is_the_users_and_is_kept(
    server: MediaHost, tmp_path: Path, change: str
) -> None:
    item = photo(server, "p1", "a.jpg", 1000)
    make(server).download_items([item], tmp_path)
    target = tmp_path / "a.jpg"
    recorded = target.stat().st_mtime_ns
    if change == "content and time":
        target.write_bytes(b"x" * 1000)  # same size, new bytes
        os.utime(target, ns=(recorded + 10**9, recorded + 10**9))
    elif change == "time only":
        os.utime(target, ns=(recorded - 3 * 10**9, recorded - 3 * 10**9))
    else:
        kept = tmp_path.parent / f"{tmp_path.name}-kept.jpg"
        target.rename(kept)
        target.symlink_to(kept)  # same size through the link, but not the file we wrote
    before = target.read_bytes()

    result = make(server).download_items([item], tmp_path)

    assert [d.path.name for d in result.downloaded] == ["a (2).jpg"]
    assert target.read_bytes() == before
    assert sha(tmp_path / "a (2).jpg") == server.digest("p1")


# -- the manifest ------------------------------------------------------------------------------


def escaping_stem(folder: Path, outside: Path) -> str:
    """A stem that, joined to ``folder`` as the old code did, lands in ``outside``."""
    return "/" + "../" * (len(folder.parts) + 2) + str(outside).lstrip("/") + "/escaped"


HOSTILE: dict[str, Callable[[Path, Path], dict[str, Any]]] = {
    "stem escapes": lambda f, o: {"stem": escaping_stem(f, o), "name": "a.jpg"},
    "stem and name escape": lambda f, o: {
        "stem": escaping_stem(f, o),
        "name": escaping_stem(f, o) + ".jpg",
    },
    "name escapes": lambda f, o: {"stem": "a", "name": "../outside/escaped.jpg"},
    "absolute name": lambda f, o: {"stem": "a", "name": str(o / "escaped.jpg")},
    "backslashes": lambda f, o: {"stem": "..\\..\\x", "name": "..\\..\\x.jpg"},
    "hidden stem": lambda f, o: {"stem": ".a", "name": ".a.jpg"},
    "dangerous extension": lambda f, o: {"stem": "a", "name": "a.html"},
    "name of another stem": lambda f, o: {"stem": "a", "name": "b.jpg"},
    "device name": lambda f, o: {"stem": "CON", "name": "CON.jpg"},
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_manifest_entry_never_steers_a_file(
    server: MediaHost, tmp_path: Path, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    folder, outside = tmp_path / "photos", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    entry = {"id": "p1", "variant": "d", "size": 1000, **HOSTILE[case](folder, outside)}
    (folder / MANIFEST_NAME).write_text(json.dumps(entry) + "\n")

    with caplog.at_level(logging.WARNING, logger="picker_discovery._media"):
        result = make(server).download_items([photo(server, "p1", "IMG.jpg")], folder)

    assert [d.path.name for d in result.downloaded] == ["IMG.jpg"]
    assert list(outside.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside", "photos"]
    assert visible(folder) == ["IMG.jpg"]
    assert [r.getMessage() for r in caplog.records if "line 1 skipped" in r.getMessage()]


CORRUPT = [
    b'{"id": "p9", "variant": "d", "stem": "caf\xc3',  # cut mid-UTF-8 by a crash
    b'{"id": "p9", "variant": "d", "stem": "\xff\xfe", "name": "x.jpg", "size": 1}',
    b'{"id": "p9", "variant": "d", "stem": "x", "name": "x.jpg", "size": NaN}',
    b'{"id": "p9", "variant": "d", "stem": "x", "name": "x.jpg", "size": Infinity}',
    b'{"id": "p9", "variant": "d", "stem": "x", "name": "x.jpg", "size": -Infinity}',
    b'{"id": "p9", "variant": "d", "stem": "x", "name": "x.jpg", "size": 1e400}',
    b'{"id": "p9", "variant": "d", "stem": "x", "name": "x.jpg", "size": ' + b"9" * 5000 + b"}",
    b'{"id": "p9", "variant": "d", "stem": "x", "name": "x.jpg", "size": 99999999999999999999}',
    b'{"id": "p9", "variant": "d", "stem": "x", "name": "x.jpg", "size": "12"}',
    b'{"id": "p9", "variant": "d", "stem": "x", "name": "x.jpg", "size": true}',
    b'{"id": "p9", "variant": "d", "stem": "x", "name": "x.jpg", "size": -1}',
    b'{"id": 7, "variant": "d", "stem": "x", "name": "x.jpg", "size": 1}',
    b'{"id": "p9", "variant": ["d"], "stem": "x", "name": "x.jpg", "size": 1}',
    b'{"id": "p9", "variant": "d", "stem": {"a": 1}, "name": "x.jpg", "size": 1}',
    b'{"id": "p9", "variant": "d", "stem": "x", "name": "x.jpg", "size": 1, "mtime_ns": "0"}',
    b'["p9", "d", "x", "x.jpg", 1]',
    b'"just a string"',
    b"null",
    b"[" * 100_000,
    b"not json at all",
]


def test_corrupt_manifest_lines_are_skipped_with_a_warning_on_every_run(
    server: MediaHost, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = photo(server, "p2", "good.jpg")
    make(server).download_items([good], tmp_path)
    valid = (tmp_path / MANIFEST_NAME).read_bytes()
    (tmp_path / MANIFEST_NAME).write_bytes(b"\n".join(CORRUPT[:10]) + b"\n" + valid)
    with (tmp_path / MANIFEST_NAME).open("ab") as f:
        f.write(b"\n".join(CORRUPT[10:]))  # the last one without its newline, as a crash cuts

    items = [photo(server, "p1", "new.jpg"), good]
    for present in (["p2"], ["p1", "p2"]):  # the corrupt lines stay; no run crashes on them
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="picker_discovery._media"):
            result = make(server).download_items(items, tmp_path)
        assert result.ok, result.failed
        assert [(s.item_id, s.reason) for s in result.skipped] == [
            (item_id, SkipReason.ALREADY_PRESENT) for item_id in present
        ]
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 11  # ten one by one, then how many in all
        assert all(str(tmp_path / MANIFEST_NAME) in w for w in warnings)
        assert f"{len(CORRUPT)} bad lines" in warnings[-1]
    assert visible(tmp_path) == ["good.jpg", "new.jpg"]


@pytest.mark.parametrize("dangling", [False, True])
def test_a_symlink_planted_at_the_manifest_is_never_followed(
    server: MediaHost, tmp_path: Path, dangling: bool
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    elsewhere = tmp_path / "elsewhere.txt"
    if not dangling:
        elsewhere.write_bytes(b"someone's file\n")
    (folder / MANIFEST_NAME).symlink_to(elsewhere)

    with pytest.raises(errors.MediaError, match="symbolic link") as raised:
        make(server).download_items([photo(server, "p1", "a.jpg")], folder)

    assert MANIFEST_NAME in str(raised.value) and "Remove it" in str(raised.value)
    if dangling:
        assert not elsewhere.exists()
    else:
        assert elsewhere.read_bytes() == b"someone's file\n"
    assert visible(folder) == []


# -- names and extensions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html",
        "text/html; charset=UTF-8",
        "image/svg+xml",
        "application/javascript",
        "text/javascript",
        "text/x-sh",
        "application/x-sh",
        "application/x-msdownload",
        "application/x-python-code",
        "application/xhtml+xml",
    ],
)
def test_a_dangerous_content_type_is_saved_as_bin(
    server: MediaHost, tmp_path: Path, content_type: str
) -> None:
    assert extension_for(content_type, "IMG_1.jpg") == ".bin"
    assert extension_for(content_type, "page.html") == ".bin"
    result = make(server).download_items(
        [photo(server, "p1", "IMG_1.jpg", mime=content_type)], tmp_path
    )
    assert [d.path.name for d in result.downloaded] == ["IMG_1.bin"]


@pytest.mark.parametrize(
    "on_disk", ["Cafe\u0301.jpg", "CAFE\u0301.JPG", "caf\u00e9.png", "Cafe\u0301"]
)
def test_unicode_normalization_and_case_twins_on_disk_are_taken_names(
    server: MediaHost, tmp_path: Path, on_disk: str
) -> None:
    (tmp_path / on_disk).write_bytes(b"the user's own file")
    result = make(server).download_items([photo(server, "p1", "Caf\u00e9.jpg")], tmp_path)
    assert [d.path.name for d in result.downloaded] == ["Caf\u00e9 (2).jpg"]
    assert (tmp_path / on_disk).read_bytes() == b"the user's own file"
    names = [unicodedata.normalize("NFC", n).casefold() for n in visible(tmp_path)]
    assert len({os.path.splitext(n)[0] for n in names}) == 2


def test_a_filename_with_a_lone_surrogate_is_made_safe(server: MediaHost, tmp_path: Path) -> None:
    result = make(server).download_items([photo(server, "p1", "\ud800IMG\udfff.jpg")], tmp_path)
    assert [d.path.name for d in result.downloaded] == ["IMG.jpg"]
