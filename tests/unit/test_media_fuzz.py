"""Property tests of what the downloader reads from outside: manifest lines, file names and
Content-Types. ``make fuzz`` runs them with many more examples."""

from __future__ import annotations

import json
import os
import posixpath
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from picker_discovery._media.folder import (
    MANIFEST_NAME,
    _Entry,
    _Folder,
    _parse_entry,
    _read_manifest,
)
from picker_discovery._media.names import (
    _ALLOWED_EXTENSIONS,
    MAX_NAME_BYTES,
    _is_safe_stem,
    _name_key,
    extension_for,
    safe_stem,
)

# Any code point, lone surrogates included: JSON can carry them ("\ud800").
ANY_TEXT = st.text(st.characters(codec=None, categories=None))
NAME_TEXT = st.one_of(
    ANY_TEXT,
    st.text(st.sampled_from(list("./\\ .:*?<>|\"'\x00\u202e\u0301e\u00e9ABCcon1")), max_size=30),
)


def assert_inside(name: str) -> None:
    """``name`` is one entry of a folder, on POSIX and Windows alike."""
    assert name and name not in (".", "..")
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert not name.startswith(".") and ".." not in name
    assert posixpath.dirname(posixpath.normpath(posixpath.join("/folder", name))) == "/folder"
    name.encode("utf-8")  # a file system can store it


# -- manifest lines ----------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | ANY_TEXT
    | st.sampled_from(["d", "dv", "w1-h1-c", "IMG", "IMG.jpg", "../x", "x.html"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=8,
)
FIELDS = st.sampled_from(["id", "variant", "stem", "name", "size", "content_type", "mtime_ns"])


@st.composite
def manifest_lines(draw: st.DrawFn) -> bytes:
    """Raw bytes, or JSON objects with the manifest's keys and any values, maybe cut short."""
    kind = draw(st.sampled_from(["bytes", "object"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    data = draw(st.dictionaries(FIELDS | ANY_TEXT, JSON_VALUES, max_size=8))
    line = json.dumps(data, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    cut = draw(st.integers(0, len(line)))
    return line[:cut] if draw(st.booleans()) else line


@pytest.mark.fuzz
@given(st.lists(manifest_lines(), max_size=5))
def test_manifest_lines_never_crash_and_never_point_outside(lines: list[bytes]) -> None:
    for key, entry in _read_manifest(lines, "fuzz").items():
        assert key == (entry.item_id, entry.variant)
        assert _is_safe_stem(entry.stem)
        assert_inside(entry.stem)
        assert_inside(entry.name)
        assert entry.name.startswith(entry.stem)
        assert entry.name[len(entry.stem) :].lower() in _ALLOWED_EXTENSIONS
        assert isinstance(entry.size, int) and entry.size >= 0


def stems() -> st.SearchStrategy[str]:
    return st.builds(
        lambda text, n: safe_stem(text, "item") + (f" ({n})" if n > 1 else ""),
        NAME_TEXT,
        st.integers(1, 999),
    ).filter(lambda stem: len(stem.encode("utf-8")) <= MAX_NAME_BYTES - 10)


@st.composite
def entries(draw: st.DrawFn) -> _Entry:
    stem = draw(stems())
    ext = draw(st.sampled_from(sorted(_ALLOWED_EXTENSIONS)))
    return _Entry(
        item_id=draw(ANY_TEXT.filter(bool).map(lambda s: s[:4096])),
        variant=draw(st.sampled_from(["d", "dv", "w512-h512", "w1-h16383-c"])),
        stem=stem,
        name=stem + (ext.upper() if draw(st.booleans()) else ext),
        size=draw(st.integers(0, 2**63 - 1)),
        content_type=draw(ANY_TEXT.map(lambda s: s[:1024])),
        mtime_ns=draw(st.none() | st.integers(-(2**63) + 1, 2**63 - 1)),
    )


@pytest.mark.fuzz
@given(st.lists(entries(), max_size=5))
def test_lines_the_writer_wrote_are_read_back(written: list[_Entry]) -> None:
    lines = [entry.to_line() for entry in written]
    for line in lines:
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert _parse_entry(line.rstrip(b"\n")) in written
    expected = {(e.item_id, e.variant): e for e in written}
    assert _read_manifest(lines, "fuzz") == expected


@pytest.mark.fuzz
@given(st.lists(manifest_lines(), max_size=4), st.lists(NAME_TEXT, max_size=4))
def test_a_folder_with_any_manifest_claims_names_inside_it(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], names: list[str]
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / MANIFEST_NAME).write_bytes(b"\n".join(lines))
    opened = _Folder(folder)
    try:
        claimed = [
            opened.claim(str(n), "d", safe_stem(name, "item")) for n, name in enumerate(names)
        ]
        for key in opened.entries:
            claimed.append(opened.claim(*key, "item"))
        for stem in claimed:
            assert _is_safe_stem(stem)
            assert_inside(stem + ".jpg")
        assert len({_name_key(stem) for stem in claimed[: len(names)]}) == len(names)
    finally:
        opened.close()


# -- file names --------------------------------------------------------------------------------


@pytest.mark.fuzz
@given(st.none() | NAME_TEXT, NAME_TEXT)
def test_safe_stem_is_always_one_safe_bounded_name(filename: str | None, fallback: str) -> None:
    stem = safe_stem(filename, fallback)
    assert_inside(stem)
    assert _is_safe_stem(stem)
    assert len(stem.encode("utf-8")) <= MAX_NAME_BYTES - 10
    assert stem == unicodedata.normalize("NFC", stem)
    assert not stem.endswith((" ", "."))


@pytest.mark.fuzz
@given(NAME_TEXT)
def test_normalization_twins_share_a_key(name: str) -> None:
    for form in ("NFC", "NFD"):
        assert _name_key(unicodedata.normalize(form, name)) == _name_key(name)


def test_case_and_normalization_twins_share_a_key() -> None:
    assert _name_key("CAFE\u0301") == _name_key("caf\u00e9") == _name_key("Caf\u00e9")
    assert _name_key("IMG_1") == _name_key("img_1") != _name_key("img_2")


# -- Content-Types -----------------------------------------------------------------------------

MIME = st.one_of(
    st.none(),
    ANY_TEXT,
    st.builds(
        lambda top, sub, params: f"{top}/{sub}{params}",
        st.sampled_from(["image", "video", "text", "application", "IMAGE", "audio"]),
        st.sampled_from(["jpeg", "png", "html", "svg+xml", "javascript", "x-sh", "mp4", "x"]),
        st.sampled_from(["", "; charset=UTF-8", ";x=y", " "]),
    ),
)


@pytest.mark.fuzz
@given(MIME, st.none() | NAME_TEXT)
def test_extension_for_is_always_on_the_allowlist(
    content_type: str | None, original: str | None
) -> None:
    ext = extension_for(content_type, original)
    assert ext.isascii() and ext.lower() in _ALLOWED_EXTENSIONS
    assert_inside("x" + ext)
    mime = (content_type or "").split(";")[0].strip().lower()
    if not mime.startswith(("image/", "video/")):
        assert ext == ".bin"


def test_the_allowlist_holds_only_image_and_video_extensions() -> None:
    dangerous = {".html", ".htm", ".svg", ".js", ".sh", ".exe", ".bat", ".py", ".xhtml", ".hta"}
    assert not dangerous & _ALLOWED_EXTENSIONS
    assert ".jpg" in _ALLOWED_EXTENSIONS and ".mp4" in _ALLOWED_EXTENSIONS


def test_lone_surrogates_in_an_id_round_trip() -> None:
    entry = _Entry("\ud800id", "d", "IMG", "IMG.jpg", 3, "image/jpeg", 0)
    assert _parse_entry(entry.to_line()) == entry
    assert os.sep not in entry.name and Path(entry.name).name == entry.name
