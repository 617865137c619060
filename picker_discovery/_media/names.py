"""File names for downloads: a safe stem from the server's name, and the only extensions saved."""

from __future__ import annotations

import os
import re
import unicodedata

MAX_NAME_BYTES = 200
"""The longest file name written, in UTF-8 bytes, extension and ``(n)`` included."""

_EXT_BYTES = 10  # room kept in MAX_NAME_BYTES for the extension (".jpeg", ".webm", ...)

_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{prefix}{digit}" for prefix in ("COM", "LPT") for digit in "123456789\u00b9\u00b2\u00b3"
}
# Bidirectional controls can make "gpj.exe" display as "exe.jpg".
_INVISIBLE = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}
_WINDOWS_UNSAFE = set('<>:"|?*')
# Control characters, lone surrogates (which no file system can store) and line separators.
_DROPPED_CATEGORIES = {"Cc", "Cs", "Zl", "Zp"}


def _truncate_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


def _tidy(stem: str) -> str:
    return stem.strip(" .")


def _dropped(ch: str) -> bool:
    return unicodedata.category(ch) in _DROPPED_CATEGORIES or ch in _INVISIBLE


def safe_stem(filename: str | None, fallback: str) -> str:
    """A file name without extension, safe on Linux, macOS and Windows, from ``filename``.

    NFC-normalised; path separators and characters Windows refuses become ``_``; control,
    line-separator, bidirectional-override characters and lone surrogates are dropped; runs of
    dots become one dot and leading and trailing dots and spaces go (so no hidden files, no
    ``..``); a Windows device name (``CON``, ``com1``, ``LPT3.tar``) gets a ``_`` prefix; at
    most ``MAX_NAME_BYTES - 10`` UTF-8 bytes. The original extension is dropped: the answer's
    Content-Type chooses it. An empty result becomes ``fallback``, made safe the same way (then
    ``"item"``).
    """
    name = unicodedata.normalize("NFC", "".join(ch for ch in filename or "" if not _dropped(ch)))
    cleaned = []
    for ch in name:
        if ch in "/\\" or ch in _WINDOWS_UNSAFE:
            cleaned.append("_")
        elif not _dropped(ch):
            cleaned.append(ch)
    name = re.sub(r"\.{2,}", ".", "".join(cleaned))  # no ".." anywhere, even mid-name
    stem, ext = os.path.splitext(name)
    if not re.fullmatch(r"\.[A-Za-z0-9]{1,10}", ext):
        stem = name  # not an extension we would drop ("a.b c", "x.")
    stem = _tidy(stem)
    stem = _tidy(_truncate_utf8(stem, MAX_NAME_BYTES - _EXT_BYTES))
    if not stem:
        return safe_stem(fallback, "item") if fallback and fallback != filename else "item"
    if stem.split(".")[0].rstrip(" ").upper() in _RESERVED:
        stem = "_" + stem
    return stem


def _is_safe_stem(stem: str) -> bool:
    """Whether ``stem`` could have come from :func:`safe_stem` (and a ``" (n)"`` suffix)."""
    return (
        bool(stem)
        and stem == _tidy(stem)
        and ".." not in stem
        and stem == unicodedata.normalize("NFC", stem)
        and not any(ch in "/\\" or ch in _WINDOWS_UNSAFE or _dropped(ch) for ch in stem)
        and len(stem.encode("utf-8")) <= MAX_NAME_BYTES - _EXT_BYTES
        and stem.split(".")[0].rstrip(" ").upper() not in _RESERVED
    )


def _name_key(name: str) -> str:
    """What two names share when a file system may take them for one file: case and Unicode
    normalization (NFC ``é`` and NFD ``e`` + accent) are ignored, as on macOS and Windows."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).casefold())


# The only extensions a file is saved with: image and video types, and ``.bin``. A type off
# this list (``text/html``, ``image/svg+xml``, ``application/javascript``, ``text/x-sh``, ...)
# is saved as ``.bin``, whatever the item's filename says, so a file manager never opens a
# server's answer as a page or runs it as a script.
_EXTENSIONS: dict[str, tuple[str, ...]] = {
    # The first is used; any of them keeps the original file's spelling (".JPG", ".jpeg").
    "image/jpeg": (".jpg", ".jpeg", ".jpe"),
    "image/pjpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "image/heic": (".heic",),
    "image/heif": (".heif",),
    "image/avif": (".avif",),
    "image/bmp": (".bmp",),
    "image/tiff": (".tif", ".tiff"),
    "image/x-adobe-dng": (".dng",),
    "image/x-icon": (".ico",),
    "video/mp4": (".mp4", ".m4v"),
    "video/quicktime": (".mov", ".qt"),
    "video/3gpp": (".3gp",),
    "video/3gpp2": (".3g2",),
    "video/webm": (".webm",),
    "video/x-matroska": (".mkv",),
    "video/x-msvideo": (".avi",),
    "video/mpeg": (".mpg", ".mpeg"),
    "video/mp2t": (".mts", ".m2ts", ".ts"),
    "video/x-ms-wmv": (".wmv",),
    "application/octet-stream": (".bin",),
}
_ALLOWED_EXTENSIONS: frozenset[str] = frozenset(
    ext for choices in _EXTENSIONS.values() for ext in choices
)
# Every extension a downloaded file can get (lower case; the original's spelling may be kept).


def extension_for(content_type: str | None, original: str | None = None) -> str:
    """The file extension for a Content-Type (``image/jpeg`` → ``.jpg``), ``.bin`` if unknown.

    Only image and video types have extensions (an allowlist); any other type,
    or none, gives ``.bin``. When ``original`` (the item's filename) already ends in an
    extension of that type, its spelling is kept (``IMG_1.JPG`` stays ``.JPG``).
    """
    mime = (content_type or "").split(";")[0].strip().lower()
    choices = _EXTENSIONS.get(mime)
    if not choices:
        return ".bin"
    if original:
        ext = os.path.splitext(original)[1]
        if ext.isascii() and ext.lower() in choices:
            return ext
    return choices[0]
