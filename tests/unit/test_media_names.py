"""The pure parts of media.py: suffixes, sizes, safe names, extensions and the host allowlist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from picker_discovery import errors
from picker_discovery._media.names import MAX_NAME_BYTES
from picker_discovery._media.pool import (
    HostAllowlist,
    ListedItem,
    Size,
    extension_for,
    iter_listed,
    media_suffix,
    safe_stem,
)
from picker_discovery.models import PickedMediaItem
from picker_discovery.testing import canned


def item(
    kind: str | None,
    *,
    status: str | None = None,
    mime: str = "image/jpeg",
    metadata: str | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"width": 10, "height": 10}
    if metadata == "video" or (metadata is None and kind == "VIDEO"):
        meta["videoMetadata"] = {"fps": 30.0} | ({"processingStatus": status} if status else {})
    elif metadata == "photo" or (metadata is None and kind == "PHOTO"):
        meta["photoMetadata"] = {}
    raw: dict[str, Any] = {
        "id": "ID1",
        "mediaFile": {
            "baseUrl": "https://lh3.googleusercontent.com/x",
            "mimeType": mime,
            "filename": "f",
            "mediaFileMetadata": meta,
        },
    }
    if kind is not None:
        raw["type"] = kind
    return raw


# -- suffixes ---------------------------------------------------------------------------------


def test_canned_items_get_d_and_dv() -> None:
    page = canned.body("mediaItems.list")
    photo, video = page["mediaItems"]
    assert media_suffix(photo) == "=d"
    assert media_suffix(video) == "=dv"


@pytest.mark.parametrize(
    ("raw", "size", "suffix"),
    [
        (item("PHOTO"), None, "=d"),
        (item("PHOTO"), Size(2048, 1024), "=w2048-h1024"),
        (item("PHOTO"), Size(256, 256, crop=True), "=w256-h256-c"),
        (item("VIDEO", status="READY", mime="video/mp4"), None, "=dv"),
        # a size is for photos: a video still gets its bytes
        (item("VIDEO", status="READY", mime="video/mp4"), Size(256, 256), "=dv"),
        # a motion photo is a PHOTO: image parameters give the still
        (item("PHOTO", mime="image/jpeg"), None, "=d"),
        # TYPE_UNSPECIFIED: inferred from the metadata, then the MIME type, else a photo
        (item("TYPE_UNSPECIFIED", metadata="photo"), None, "=d"),
        (item("TYPE_UNSPECIFIED", metadata="video", status="READY"), None, "=dv"),
        (item("TYPE_UNSPECIFIED", metadata="none", mime="image/png"), None, "=d"),
        (item("SOMETHING_NEW", metadata="none", mime="image/png"), Size(10, 10), "=w10-h10"),
        (item(None, metadata="none", mime=""), None, "=d"),
    ],
)
def test_suffix(raw: dict[str, Any], size: Size | None, suffix: str) -> None:
    assert media_suffix(raw, size) == suffix


@pytest.mark.parametrize("status", ["PROCESSING", "UNSPECIFIED", None])
def test_video_not_ready(status: str | None) -> None:
    with pytest.raises(errors.MediaNotReady) as caught:
        media_suffix(item("VIDEO", status=status, mime="video/mp4"))
    assert caught.value.status == status
    assert caught.value.item_id == "ID1"
    assert isinstance(caught.value, errors.PickerError)
    assert "not ready" in str(caught.value) and "later" in str(caught.value)


def test_unspecified_type_with_video_mime_is_a_video() -> None:
    with pytest.raises(errors.MediaNotReady):
        media_suffix(item("TYPE_UNSPECIFIED", metadata="none", mime="video/mp4"))


def test_video_processing_failed() -> None:
    with pytest.raises(errors.MediaProcessingFailed) as caught:
        media_suffix(item("VIDEO", status="FAILED", mime="video/mp4"))
    assert "re-upload" in str(caught.value)


def test_items_may_be_models_with_raw_or_listed_items() -> None:
    @dataclass(frozen=True)
    class Model:
        raw: Mapping[str, Any]

    @dataclass(frozen=True)
    class BuiltInCode:
        raw: Mapping[str, Any]

        def to_dict(self) -> dict[str, Any]:
            return item("VIDEO", status="READY")

    assert media_suffix(BuiltInCode({})) == "=dv"
    assert media_suffix(Model(item("PHOTO"))) == "=d"
    assert media_suffix(ListedItem(PickedMediaItem.from_dict(item("PHOTO")), 0.0)) == "=d"
    with pytest.raises(TypeError, match="raw"):
        media_suffix(Model({}))
    with pytest.raises(TypeError, match="int"):
        media_suffix(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("width", "height"),
    [(0, 10), (10, 0), (-1, 5), (16384, 10), (10, 16384), (1.5, 10), (True, 10), ("10", 10)],
)
def test_size_is_validated(width: Any, height: Any) -> None:
    with pytest.raises(ValueError, match="Size"):
        Size(width, height)


def test_size_bounds_are_inclusive() -> None:
    assert Size(1, 16383).variant == "w1-h16383"


# -- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "stem"),
    [
        ("PXL_20250227_233405466.jpg", "PXL_20250227_233405466"),
        ("a/b.jpg", "a_b"),
        ("a\\b.jpg", "a_b"),
        ("../../etc/passwd", "_._etc_passwd"),
        ("..", "ITEM"),
        (".", "ITEM"),
        ("", "ITEM"),
        (None, "ITEM"),
        ("  .hidden. ", "hidden"),
        ("trailing. . .jpg", "trailing"),
        ("CON.jpg", "_CON"),
        ("con", "_con"),
        ("nul .txt", "_nul"),
        ("Com1.tar.gz", "_Com1.tar"),
        ("LPT9.JPG", "_LPT9"),
        ("COM\u00b9.jpg", "_COM\u00b9"),
        ("CONSOLE.jpg", "CONSOLE"),
        ("a\x00b\x1f\x7fc.png", "abc"),
        ("\u202egpj.exe", "gpj"),
        ('what?*:<>|".jpg', "what_______"),
        ("Cafe\u0301.JPG", "Caf\u00e9"),
        ("no extension here", "no extension here"),
        ("version 1.2 final", "version 1.2 final"),
    ],
)
def test_safe_stem(filename: str | None, stem: str) -> None:
    assert safe_stem(filename, "ITEM") == stem


def test_safe_stem_bounds_utf8_bytes() -> None:
    stem = safe_stem("\u00e9" * 300 + ".jpg", "ITEM")
    assert len(stem.encode("utf-8")) <= MAX_NAME_BYTES - 10
    assert set(stem) == {"\u00e9"}  # cut on a character boundary


def test_safe_stem_fallback_is_made_safe_too() -> None:
    assert safe_stem("..", "a/b") == "a_b"
    assert safe_stem("", "") == "item"


@pytest.mark.parametrize(
    ("content_type", "original", "ext"),
    [
        ("image/jpeg", None, ".jpg"),
        ("image/jpeg", "IMG_1.JPG", ".JPG"),
        ("image/jpeg", "IMG_1.jpeg", ".jpeg"),
        ("image/jpeg", "IMG_1.png", ".jpg"),
        ("image/png", "IMG_1.jpg", ".png"),
        ("image/png; charset=binary", None, ".png"),
        ("IMAGE/HEIC", None, ".heic"),
        ("image/webp", None, ".webp"),
        ("video/mp4", "clip.MOV", ".mp4"),
        ("video/quicktime", "clip.MOV", ".MOV"),
        ("video/3gpp", None, ".3gp"),
        (None, None, ".bin"),
        ("", None, ".bin"),
        ("application/x-made-up", None, ".bin"),
    ],
)
def test_extension_for(content_type: str | None, original: str | None, ext: str) -> None:
    assert extension_for(content_type, original) == ext


# -- allowlist --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://lh3.googleusercontent.com/ppa/AGgFnX5e1=d", True),
        ("https://video-downloads.googleusercontent.com/abc", True),
        ("https://LH3.GoogleUserContent.COM/x", True),
        ("https://lh3.googleusercontent.com:443/x", True),
        ("https://googleusercontent.com/x", False),  # the apex is not a subdomain
        ("https://googleusercontent.com.evil.example/x", False),
        ("https://evilgoogleusercontent.com/x", False),
        ("https://lh3.googleusercontent.com.evil.example/x", False),
        ("http://lh3.googleusercontent.com/x", False),  # https only
        ("https://lh3.googleusercontent.com:8443/x", False),
        ("https://user@lh3.googleusercontent.com/x", False),
        ("https://lh3.googleusercontent.com@evil.example/x", False),
        ("https://lh3.googleusercontent.com\\@evil.example/x", False),
        ("https://lh3.googleusercontent.com./x", False),
        ("https://lh3.googleusercontent.com\t.evil/x", False),
        ("https://lh3.googleusercontent.com%2eevil.example/x", False),
        ("ftp://lh3.googleusercontent.com/x", False),
        ("//lh3.googleusercontent.com/x", False),
        ("/relative", False),
        ("https://127.0.0.1:8080/x", False),
        ("http://127.0.0.1:8080/x", False),
    ],
)
def test_default_allowlist(url: str, allowed: bool) -> None:
    assert HostAllowlist().allows(url) is allowed


# Every character str.isspace() calls space (Unicode's too), the C0 controls, DEL and the
# backslash: parsers disagree on URLs holding them, so none may carry the token.
REFUSED_IN_URLS = sorted(
    {chr(code) for code in range(0x110000) if chr(code).isspace()}
    | {chr(code) for code in range(0x20)}
    | {"\x7f", "\\"}
)


def test_no_url_holding_a_space_control_or_backslash_is_allowed() -> None:
    allow = HostAllowlist()
    assert len(REFUSED_IN_URLS) > 50  # the Unicode spaces are there, not only ASCII ones
    for char in REFUSED_IN_URLS:
        for url in (
            f"https://lh3.googleusercontent.com/ppa/{char}x=d",
            f"https://lh3.googleusercontent.com{char}/x",
            f"{char}https://lh3.googleusercontent.com/x",
        ):
            assert not allow.allows(url), repr(url)
    # ... and characters next to them (no-break joiners, C1 controls' neighbours) are no cause.
    for char in ("\u200b", "\u2060", "~", "\xa1"):
        assert allow.allows(f"https://lh3.googleusercontent.com/ppa/{char}x=d"), repr(char)


def test_allowlist_origins_and_hosts() -> None:
    allow = HostAllowlist(["http://127.0.0.1:8080", "media.example.com"])
    assert allow.allows("http://127.0.0.1:8080/g1/x=d")
    assert not allow.allows("http://127.0.0.1:8081/g1/x=d")
    assert not allow.allows("https://127.0.0.1:8080/g1/x=d")
    assert not allow.allows("http://localhost:8080/g1/x=d")
    assert allow.allows("https://media.example.com/x")
    assert not allow.allows("https://a.media.example.com/x")
    assert not allow.allows("https://lh3.googleusercontent.com/x")  # replaced, not added


def test_allowlist_check_raises_and_says_what_to_do() -> None:
    with pytest.raises(errors.UntrustedMediaHost) as caught:
        HostAllowlist().check("https://evil.example/x", item_id="ID1", filename="f.jpg")
    assert caught.value.url == "https://evil.example/x"
    assert caught.value.item_id == "ID1"
    assert "nothing was sent" in str(caught.value)
    assert "allowlist" in str(caught.value)


@pytest.mark.parametrize(
    "entry", ["*.com", "*", "http://x:1/path", "host/path", "host:80", "*.a b.com"]
)
def test_allowlist_refuses_bad_entries(entry: str) -> None:
    with pytest.raises(ValueError, match="allowlist"):
        HostAllowlist([entry])


# -- listing -----------------------------------------------------------------


def test_iter_listed_is_lazy_and_stamps_pages() -> None:
    calls: list[str | None] = []
    pages: dict[str | None, Mapping[str, Any]] = {
        None: {"mediaItems": [{"id": "a"}], "nextPageToken": "t1"},
        "t1": {"mediaItems": [{"id": "b"}]},
    }
    ticks = iter([10.0, 20.0])

    def list_page(session_id: str, token: str | None) -> Mapping[str, Any]:
        assert session_id == "S"
        calls.append(token)
        return pages[token]

    items = iter_listed("S", list_page, clock=lambda: next(ticks))
    assert calls == []
    first = next(items)
    assert (first.item.id, first.listed_at, calls) == ("a", 10.0, [None])
    second = next(items)
    assert (second.item.id, second.listed_at, calls) == ("b", 20.0, [None, "t1"])
    assert list(items) == []


def test_iter_listed_stops_on_a_repeated_page_token() -> None:
    def list_page(session_id: str, token: str | None) -> Mapping[str, Any]:
        return {"mediaItems": [{"id": "a"}], "nextPageToken": "same"}

    with pytest.raises(errors.RepeatedPageToken, match="repeated a page token"):
        list(iter_listed("S", list_page))


def test_errors_stay_a_leaf_module() -> None:
    import ast
    import pathlib

    from picker_discovery import (
        _errorbase,
        _errors_auth,
        _errors_http,
        _errors_media,
        _errors_session,
    )

    # errors.py imports only the modules of the tree; they import only the base module and
    # _frozen (the frozen value classes), which import nothing from the project.
    parts = (_errors_auth, _errors_http, _errors_media, _errors_session)
    tree = {"picker_discovery._errorbase"} | {part.__name__ for part in parts}
    for module, allowed in (
        (errors, tree),
        *((part, {"picker_discovery._errorbase", "picker_discovery._frozen"}) for part in parts),
        (_errorbase, set()),
    ):
        source = pathlib.Path(module.__file__ or "").read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom):
                name = node.module or ""
                assert not name.startswith("picker_discovery") or name in allowed
            elif isinstance(node, ast.Import):
                assert not any(alias.name.startswith("picker_discovery") for alias in node.names)
