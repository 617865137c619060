"""Fetch picked items' bytes: the right suffix, streamed to disk, concurrent, atomic, token-safe.

::

    from google.oauth2.credentials import Credentials
    from picker_discovery.media import Downloader

    downloader = Downloader(credentials)
    result = downloader.download_session(session_id, "photos/", list_page=list_page)
    for done in result.downloaded:
        ...                                    # done.path, done.size, done.content_type
    result.raise_for_failures()                # or look at result.failed / result.skipped

where ``list_page(session_id, page_token)`` returns one ``mediaItems.list`` answer (a dict), e.g.
``service.mediaItems().list(sessionId=session_id, pageToken=page_token, pageSize=100).execute()``.

What each item gets (see :func:`media_suffix`):

* photos (and motion photos, whose image parameters give the still): ``=d``, the original with
  its EXIF metadata except location; or ``=wW-hH`` (``-c`` to crop) when a :class:`Size` is asked;
* videos: ``=dv``, only once ``videoMetadata.processingStatus`` is ``READY``. A video still
  processing raises :class:`~picker_discovery.errors.MediaNotReady` and the caller chooses to
  skip it, wait for it or fail; a ``FAILED`` video is reported and never retried;
* ``TYPE_UNSPECIFIED`` (or a type this library does not know): the kind is inferred from
  ``videoMetadata``/``photoMetadata``, then from ``mimeType``; with no clue at all it is fetched
  as a photo (``=d``), which for a video would give a still image, never a mislabelled file,
  since the extension follows the answer's Content-Type.

How a download runs:

* the bytes stream in chunks (memory does not grow with the file) through an authorized
  ``requests`` session (google-auth's ``AuthorizedSession`` by default), one per worker thread;
* the bearer token goes only to hosts on the allowlist (``*.googleusercontent.com`` over https
  by default). A URL or a redirect anywhere else raises
  :class:`~picker_discovery.errors.UntrustedMediaHost` and nothing is sent there. Redirects are
  followed by hand, each hop checked;
* each file is written to a hidden ``.<name>.part-<random>`` in the target folder, checked
  against the length the server announced, fsynced, then hard-linked into place (and the part
  removed), so a final name never holds a partial file and nothing is ever replaced: a name
  that is taken when the file is placed, by a user's file, a symlink or another run's file,
  leaves it alone and the file gets the next free name. Where the file system has no hard
  links (FAT, some shares) the file is copied into a target created exclusively. An error
  removes the part file; only a killed process leaves one behind, hidden, and a later run that
  completes that item removes it (never one a live run still holds: part files are locked);
* the folder is used through one open descriptor, and the manifest, part files and targets
  are opened without following symbolic links (``O_NOFOLLOW``; a best-effort check where the
  platform lacks it). A symlink at the manifest stops the run with a
  :class:`~picker_discovery.errors.MediaError`;
* "complete" is recorded in a manifest, ``.picker-downloads.jsonl`` in the folder: one JSON line
  per finished file (item id, variant, stem, name, size, Content-Type, modification time),
  written in one append and fsynced just before the file is placed. Every field of every line
  is validated when read (one safe name in the folder, an allowed extension, whole numbers in
  range); a line that fails, or is cut short or not UTF-8, is skipped with a logged warning. A
  rerun skips an item whose recorded file is still there as a regular file with the recorded
  size and time; a recorded file that is gone is fetched again under its name; one that
  changed is the user's now, kept, and the item gets the next free name;
* names come from ``mediaFile.filename`` made safe (:func:`safe_stem`), unique within the folder
  in item order (``IMG.jpg``, ``IMG (2).jpg``; uniqueness is by stem, ignoring case and Unicode
  normalization, so ``Café`` NFC and NFD are one name and names stay unique whatever extension
  the answers bring), with the extension of the answer's Content-Type from an allowlist of
  image and video types: any other type (``text/html``, ``image/svg+xml``, scripts) gives
  ``.bin``;
* several items download at once (``workers``, default 4) while the session is listed page by
  page as downloads proceed; an expired baseUrl (401/403, or listed longer ago than
  ``url_lifetime``) is renewed by re-listing the session and finding the item by id;
* 5xx, 429 (honouring Retry-After) and dropped connections are retried under a retry policy,
  resuming with ``Range: bytes=N-`` when the server supports ranges, else restarting. A ``206``
  must start where the file ends and lie within the announced total; one that covers less than
  asked is continued at once with a new Range request (no failure); a total that differs from
  the one announced before means the file changed, and the download starts again (counted
  against the policy). No file is ever recorded with a length other than the total the server
  announced. A body without any length (no Content-Length, no total) that ends early cannot be
  told from a complete one; media hosts send the length.

Progress goes to an optional callback; nothing is printed, and no token or Authorization header
is ever logged.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import secrets
import socket
import stat
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.connection
import urllib3.connectionpool
import urllib3.response
import urllib3.util
from google.auth.exceptions import RefreshError

from picker_discovery import _checks
from picker_discovery._paging import iter_pages
from picker_discovery._secrets import credential_secrets, install_log_filter, scrub
from picker_discovery.errors import (
    BadArgument,
    BadArgumentType,
    IncompleteDownload,
    MediaError,
    MediaHttpError,
    MediaNotReady,
    MediaProcessingFailed,
    MediaUrlExpired,
    UntrustedMediaHost,
)
from picker_discovery.retry import RetryPolicy

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

__all__ = [
    "DEFAULT_ALLOWED_HOSTS",
    "MANIFEST_NAME",
    "MAX_DIMENSION",
    "DownloadResult",
    "Downloaded",
    "Downloader",
    "Failed",
    "HostAllowlist",
    "ItemLike",
    "ListPage",
    "ListedItem",
    "Progress",
    "ProgressCallback",
    "Size",
    "SkipReason",
    "Skipped",
    "authorized_sessions",
    "extension_for",
    "iter_media_items",
    "media_suffix",
    "open_allowed",
    "safe_stem",
]

_log = logging.getLogger(__name__)
install_log_filter()  # google-auth's records of token refreshes never show a token

DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = ("*.googleusercontent.com",)
"""Where the bearer token may go by default: https on any subdomain of googleusercontent.com."""

MANIFEST_NAME = ".picker-downloads.jsonl"
"""The file in each target folder that records which items were downloaded completely."""

MAX_DIMENSION = _checks.MAX_DIMENSION  # 16383
"""The largest width or height accepted for ``=wW-hH`` (the JPEG limit)."""

MAX_NAME_BYTES = 200
"""The longest file name written, in UTF-8 bytes, extension and ``(n)`` included."""

_EXT_BYTES = 10  # room kept in MAX_NAME_BYTES for the extension (".jpeg", ".webm", ...)


# --------------------------------------------------------------------------------------------
# Items


class _HasRaw(Protocol):
    @property
    def raw(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class ListedItem:
    """A PickedMediaItem JSON object and when it was listed.

    ``listed_at`` is a reading of the downloader's clock (``time.monotonic`` by default) taken
    *before* the ``mediaItems.list`` request that returned the item, so the age of its baseUrl
    is never underestimated. :func:`iter_media_items` yields these.
    """

    item: Mapping[str, Any]
    listed_at: float


ItemLike = Mapping[str, Any] | _HasRaw | ListedItem
"""An item as the API answers it (a dict), a typed model (its ``.raw`` dict, or ``.to_dict()``
when built in code), or a ListedItem."""


def _raw(item: object) -> Mapping[str, Any]:
    if isinstance(item, ListedItem):
        return item.item
    if isinstance(item, Mapping):
        return item
    raw = getattr(item, "raw", None)
    if isinstance(raw, Mapping) and raw:
        return raw
    to_dict = getattr(item, "to_dict", None)  # a typed model built in code has an empty .raw
    data = to_dict() if callable(to_dict) else None
    if isinstance(data, Mapping) and data:
        return data
    raise BadArgumentType(
        "expected a PickedMediaItem as the API returns it (a dict), or an object with a "
        f"non-empty .raw dict, not {type(item).__name__}"
    )


def _listed(item: object, stamp: float) -> ListedItem:
    return item if isinstance(item, ListedItem) else ListedItem(_raw(item), stamp)


def _get(mapping: Mapping[str, Any], *keys: str) -> Any:
    value: Any = mapping
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _id_of(item: object) -> str | None:
    try:
        item_id = _raw(item).get("id")
    except TypeError:
        return None
    return item_id if isinstance(item_id, str) else None


def _item_id(raw: Mapping[str, Any]) -> str:
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not item_id:
        raise MediaError("a picked media item has no id; the listing answer is malformed")
    return item_id


def _filename(raw: Mapping[str, Any]) -> str | None:
    name = _get(raw, "mediaFile", "filename")
    return name if isinstance(name, str) else None


def _base_url(raw: Mapping[str, Any]) -> str:
    url = _get(raw, "mediaFile", "baseUrl")
    if not isinstance(url, str) or not url:
        raise MediaError(
            f"item {raw.get('id')!r} has no mediaFile.baseUrl; list the session again to get one",
            item_id=raw.get("id"),
            filename=_filename(raw),
        )
    return url


class ListPage(Protocol):
    """One ``mediaItems.list`` call: the answer (a dict) for a session and page token."""

    def __call__(self, session_id: str, page_token: str | None, /) -> Mapping[str, Any]: ...


def iter_media_items(
    session_id: str, list_page: ListPage, *, clock: Callable[[], float] = time.monotonic
) -> Iterator[ListedItem]:
    """Yield a session's items page by page, each stamped with when its page was asked for.

    Pages are fetched lazily, as the items are consumed. A page token seen twice ends the
    listing with :class:`~picker_discovery.errors.RepeatedPageToken` rather than looping.
    """
    stamp = 0.0

    def fetch(token: str | None) -> Mapping[str, Any]:
        nonlocal stamp
        stamp = clock()
        return list_page(session_id, token)

    for page in iter_pages(session_id, fetch):
        for raw in page.get("mediaItems") or ():
            yield ListedItem(raw, stamp)


# --------------------------------------------------------------------------------------------
# Suffixes


@dataclass(frozen=True)
class Size:
    """A bounding box for ``=wW-hH``: the image is scaled to fit, or cropped to it with ``crop``."""

    width: int
    height: int
    crop: bool = False

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise BadArgument(f"Size.{name} must be an int, not {value!r}")
            if not 1 <= value <= MAX_DIMENSION:
                raise BadArgument(f"Size.{name} must be between 1 and {MAX_DIMENSION}, not {value}")

    @property
    def variant(self) -> str:
        """The suffix without its ``=``: ``w256-h256-c``."""
        return f"w{self.width}-h{self.height}" + ("-c" if self.crop else "")


def _kind(raw: Mapping[str, Any]) -> Literal["photo", "video"]:
    kind = raw.get("type")
    if kind == "VIDEO":
        return "video"
    if kind == "PHOTO":
        return "photo"
    # TYPE_UNSPECIFIED, absent, or a type this library does not know: infer, photo by default.
    metadata = _get(raw, "mediaFile", "mediaFileMetadata")
    if isinstance(metadata, Mapping) and "videoMetadata" in metadata:
        return "video"
    if isinstance(metadata, Mapping) and "photoMetadata" in metadata:
        return "photo"
    mime = _get(raw, "mediaFile", "mimeType")
    if isinstance(mime, str) and mime.lower().startswith("video/"):
        return "video"
    return "photo"


def _variant(raw: Mapping[str, Any], size: Size | None) -> str:
    if _kind(raw) == "video":
        return "dv"
    return size.variant if size is not None else "d"


def media_suffix(item: ItemLike, size: Size | None = None) -> str:
    """The suffix to append to the item's baseUrl: ``=d``, ``=dv`` or ``=wW-hH[-c]``.

    ``size`` applies to photos only; a video always gets ``=dv``.

    Raises:
        MediaNotReady: a video whose ``processingStatus`` is not ``READY`` (still processing,
            ``UNSPECIFIED`` or absent); list the session again later.
        MediaProcessingFailed: a video whose processing ``FAILED``; it will never be ready.
    """
    raw = _raw(item)
    if _kind(raw) == "video":
        status = _get(raw, "mediaFile", "mediaFileMetadata", "videoMetadata", "processingStatus")
        item_id, name = raw.get("id"), _filename(raw)
        if status == "FAILED":
            raise MediaProcessingFailed(
                f"video {item_id!r} ({name}): Google Photos failed to process it, so it cannot "
                "be downloaded; re-uploading it to Google Photos is the only fix",
                item_id=item_id,
                filename=name,
            )
        if status != "READY":
            raise MediaNotReady(
                f"video {item_id!r} ({name}) is not ready for download (processingStatus "
                f"{status or 'missing'}); list the session again later, or wait for it",
                item_id=item_id,
                filename=name,
                status=status if isinstance(status, str) else None,
            )
    return "=" + _variant(raw, size)


# --------------------------------------------------------------------------------------------
# File names

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


# --------------------------------------------------------------------------------------------
# Allowlist


def _origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an http(s) URL both parsers agree on, else None."""
    if any(ch.isspace() or ch == "\\" or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return None
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
        their_host = urllib3.util.parse_url(url).host
    except ValueError:  # includes urllib3's LocationParseError
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    if not host.isascii() or host.endswith(".") or (their_host or "").lower().strip("[]") != host:
        return None
    return scheme, host, port or (443 if scheme == "https" else 80)


_HOST = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")


class HostAllowlist:
    """Which URLs may receive the bearer token.

    Entries are ``*.example.com`` (https on any subdomain, port 443; the apex and look-alikes
    such as ``evilexample.com`` or ``example.com.evil.net`` do not match), ``host.example.com``
    (that host over https, port 443) or an origin ``scheme://host[:port]`` (exactly that: for
    an emulator, ``http://127.0.0.1:8080``). URLs with user info, backslashes, control
    characters, non-ASCII or trailing-dot hosts never match.

    An ``http://`` origin sends the token in the clear, so it must be a loopback address
    (``127.0.0.0/8``, ``::1``, ``localhost``) unless ``allow_insecure_http`` is true; otherwise
    the entry is refused with a ``ValueError`` before anything is sent.
    """

    def __init__(
        self, entries: Iterable[str] = DEFAULT_ALLOWED_HOSTS, *, allow_insecure_http: bool = False
    ) -> None:
        from picker_discovery._urls import is_loopback

        if isinstance(entries, str):
            entries = (entries,)
        self._suffixes: set[str] = set()
        self._hosts: set[str] = set()
        self._origins: set[tuple[str, str, int]] = set()
        self.entries: tuple[str, ...] = tuple(entries)
        for entry in self.entries:
            if "://" in entry:
                origin = _origin(entry)
                if origin is None or urlsplit(entry).path not in ("", "/"):
                    raise BadArgument(f"allowlist origin must be scheme://host[:port]: {entry!r}")
                if origin[0] == "http" and not allow_insecure_http and not is_loopback(origin[1]):
                    raise BadArgument(
                        f"media host {entry!r} would receive the access token over plain http, "
                        f"and {origin[1]} is not a loopback address; nothing was sent. Use "
                        "https, or allow it deliberately with HostAllowlist([...], "
                        "allow_insecure_http=True) or PickerClient(allow_insecure_http=True) "
                        "(command line: --allow-insecure-http)"
                    )
                self._origins.add(origin)
            elif entry.startswith("*."):
                suffix = entry[1:].lower()
                if suffix.count(".") < 2 or not _HOST.fullmatch(suffix[1:]):
                    raise BadArgument(f"allowlist wildcard must look like *.example.com: {entry!r}")
                self._suffixes.add(suffix)
            else:
                if not _HOST.fullmatch(entry):
                    raise BadArgument(f"allowlist host must be a bare host name: {entry!r}")
                self._hosts.add(entry.lower())

    @classmethod
    def of(cls, entries: HostAllowlist | Iterable[str]) -> HostAllowlist:
        """``entries`` as an allowlist (an allowlist is returned as it is)."""
        return entries if isinstance(entries, HostAllowlist) else cls(entries)

    def allows(self, url: str) -> bool:
        """Whether ``url`` may be sent the bearer token."""
        origin = _origin(url)
        if origin is None:
            return False
        if origin in self._origins:
            return True
        scheme, host, port = origin
        if scheme != "https" or port != 443:
            return False
        return host in self._hosts or any(
            host.endswith(suffix) and len(host) > len(suffix) for suffix in self._suffixes
        )

    def check(self, url: str, *, item_id: str | None = None, filename: str | None = None) -> None:
        """Raise :class:`UntrustedMediaHost` unless ``url`` is allowed."""
        if not self.allows(url):
            shown = url if len(url) <= 120 else url[:119] + "…"
            raise UntrustedMediaHost(
                f"item {item_id!r} ({filename}): refused to send the access token to {shown!r}, "
                f"which is not on the media host allowlist {list(self.entries)}; nothing was "
                "sent. If this host is genuine (an emulator, say), add its origin to the "
                "allowlist",
                url=url,
                item_id=item_id,
                filename=filename,
            )

    def __repr__(self) -> str:
        return f"HostAllowlist({list(self.entries)!r})"


# --------------------------------------------------------------------------------------------
# Retries


# --------------------------------------------------------------------------------------------
# Results and progress


class SkipReason(str, Enum):
    """Why an item was not downloaded, though nothing went wrong."""

    ALREADY_PRESENT = "already_present"  # a previous run downloaded it completely
    NOT_READY = "not_ready"  # a video still processing, and the caller chose to skip
    PROCESSING_FAILED = "processing_failed"  # a video Google Photos could not process
    DUPLICATE = "duplicate"  # the same item id came twice in one run
    CANCELLED = "cancelled"  # stopped because another item failed and fail_fast was set


@dataclass(frozen=True)
class Downloaded:
    """One file written: where, how many bytes, and what the server said it was."""

    item_id: str
    path: Path
    size: int
    content_type: str
    variant: str


@dataclass(frozen=True)
class Skipped:
    """One item not downloaded, and why (``path`` is the existing file for ALREADY_PRESENT)."""

    item_id: str
    reason: SkipReason
    detail: str
    path: Path | None = None
    error: MediaError | None = None


@dataclass(frozen=True)
class Failed:
    """One item that could not be downloaded: the reason in words and the exception."""

    item_id: str | None
    filename: str | None
    reason: str
    error: BaseException


@dataclass
class DownloadResult:
    """What happened to every item, each list in item order.

    ``listing_error`` is set when listing the items itself failed; the items listed before it
    were still handled.
    """

    downloaded: list[Downloaded] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    listing_error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True when nothing failed (skipped items do not count as failures)."""
        return not self.failed and self.listing_error is None

    def raise_for_failures(self) -> None:
        """Raise the listing error, or the first item's error, if anything failed."""
        if self.listing_error is not None:
            raise self.listing_error
        if self.failed:
            raise self.failed[0].error


@dataclass(frozen=True)
class Progress:
    """A progress report. ``bytes_total`` is None when the server did not say; ``items_total``
    is None until the listing has been read to its end."""

    item_id: str
    filename: str | None
    bytes_done: int
    bytes_total: int | None
    items_done: int
    items_total: int | None


ProgressCallback = Callable[[Progress], None]


# --------------------------------------------------------------------------------------------
# The manifest and the names in a folder

_MAX_INT = 2**63 - 1
_MAX_ID_CHARS = 4096
_MAX_CONTENT_TYPE_CHARS = 1024
_MAX_MANIFEST_LINE = 64 * 1024  # bytes; far above any line the writer writes
_MAX_WARNINGS = 10  # bad manifest lines warned about one by one, then counted
_VARIANT_RE = re.compile(r"dv?|w\d{1,5}-h\d{1,5}(-c)?")


@dataclass(frozen=True)
class _Entry:
    """One manifest line: an item's file, as the downloader wrote it."""

    item_id: str
    variant: str
    stem: str
    name: str
    size: int
    content_type: str
    mtime_ns: int | None = None  # None in lines written before it was recorded

    def to_line(self) -> bytes:
        data: dict[str, Any] = {
            "id": self.item_id,
            "variant": self.variant,
            "stem": self.stem,
            "name": self.name,
            "size": self.size,
            "content_type": self.content_type,
        }
        if self.mtime_ns is not None:
            data["mtime_ns"] = self.mtime_ns
        # ASCII: a lone surrogate in an id stays a valid, readable escape.
        return (json.dumps(data, ensure_ascii=True, allow_nan=False) + "\n").encode("ascii")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a manifest holds")


def _field(data: Mapping[str, Any], key: str, kind: type, required: bool = True) -> Any:
    value = data.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"{key!r} is not {'an integer' if kind is int else 'a string'}")
    return value


def _parse_entry(line: bytes) -> _Entry:
    """A manifest line as an entry; ValueError says why a line is not one we wrote.

    Every field is checked: ``stem`` and ``name`` must be one safe name in the folder (no
    separator, no ``..``, no leading dot, nothing :func:`safe_stem` would change), the name's
    extension on the allowlist, numbers whole and in range.
    """
    if len(line) > _MAX_MANIFEST_LINE:
        raise ValueError("the line is too long")
    try:
        data = json.loads(line.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("the line nests too deeply") from None
    if not isinstance(data, dict):
        raise ValueError("the line is not a JSON object")
    item_id = _field(data, "id", str)
    if not item_id or len(item_id) > _MAX_ID_CHARS:
        raise ValueError("'id' is empty or too long")
    variant = _field(data, "variant", str)
    if not _VARIANT_RE.fullmatch(variant):
        raise ValueError("'variant' is not one the downloader asks for")
    stem = _field(data, "stem", str)
    if not _is_safe_stem(stem):
        raise ValueError("'stem' is not a safe file name")
    name = _field(data, "name", str)
    ext = name[len(stem) :] if name.startswith(stem) else ""
    if not (ext.isascii() and ext.lower() in _ALLOWED_EXTENSIONS):
        raise ValueError("'name' is not the stem with an allowed extension")
    size = _field(data, "size", int)
    if not 0 <= size <= _MAX_INT:
        raise ValueError("'size' is out of range")
    content_type = _field(data, "content_type", str, required=False) or ""
    if len(content_type) > _MAX_CONTENT_TYPE_CHARS:
        raise ValueError("'content_type' is too long")
    mtime_ns = _field(data, "mtime_ns", int, required=False)
    if mtime_ns is not None and not -_MAX_INT <= mtime_ns <= _MAX_INT:
        raise ValueError("'mtime_ns' is out of range")
    return _Entry(item_id, variant, stem, name, size, content_type, mtime_ns)


def _read_manifest(lines: Iterable[bytes], where: object) -> dict[tuple[str, str], _Entry]:
    """The entries of a manifest's lines, later lines winning; bad lines are skipped with a
    logged warning (the first few by line number, then a count)."""
    entries: dict[tuple[str, str], _Entry] = {}
    bad = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = _parse_entry(line.rstrip(b"\r\n"))
        except ValueError as exc:
            bad += 1
            if bad <= _MAX_WARNINGS:
                _log.warning("download manifest %s, line %d skipped: %s", where, number, exc)
            continue
        entries[(entry.item_id, entry.variant)] = entry
    if bad > _MAX_WARNINGS:
        _log.warning("download manifest %s: %d bad lines skipped in all", where, bad)
    return entries


_O_BINARY: int = getattr(os, "O_BINARY", 0)
_O_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC: int = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)
_O_DIRECTORY: int = getattr(os, "O_DIRECTORY", 0)
# Names resolved against an open descriptor of the folder, where the platform can: a folder
# renamed or swapped for a symlink mid-run then still receives nothing outside it.
_DIR_FD = {os.open, os.stat, os.link, os.unlink} <= os.supports_dir_fd and (
    os.listdir in os.supports_fd
)
_PART = re.compile(r"(\..+)\.part-[0-9a-f]{8}", re.DOTALL)
# Errors from os.link that mean "this file system has no hard links" (FAT, some network
# shares); anything else is a real error.
_NO_HARD_LINKS = {
    getattr(errno, name)
    for name in ("EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV", "EMLINK", "EINVAL")
    if hasattr(errno, name)
}


def _part_prefix(stem: str) -> str:
    return "." + _truncate_utf8(stem, MAX_NAME_BYTES - 20)


def _try_lock(fd: int) -> bool:
    """Take an exclusive advisory lock on ``fd`` without waiting (always True off POSIX)."""
    if sys.platform == "win32":
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class _Folder:
    """The target folder: its manifest, the names taken, and writing files into it.

    Nothing in it is ever replaced: the manifest, part files and targets are opened without
    following symbolic links, relative to the folder's descriptor, and a finished file is
    hard-linked into place (never renamed over anything), so a name that is taken, by a file
    the user put there or changed or by another run, is left alone and the file gets the
    next free name.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.manifest_path = path / MANIFEST_NAME
        self._fd: int | None = None
        if _DIR_FD:
            self._fd = os.open(path, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
        try:
            self.entries = self._load_manifest()
            listing = os.listdir(self._fd if self._fd is not None else path)
        except BaseException:
            self.close()
            raise
        self._lock = threading.Lock()  # the manifest and the in-memory entries
        self._names_lock = threading.Lock()
        self._taken = {_name_key(entry.stem) for entry in self.entries.values()}
        for name in listing:
            if not name.startswith("."):
                self._taken.add(_name_key(os.path.splitext(name)[0]))
        self._claims: dict[tuple[str, str], str] = {}
        # Part files a killed run left behind, by the prefix of their stem.
        self._stale: dict[str, list[str]] = {}
        for name in listing:
            match = _PART.fullmatch(name)
            if match:
                self._stale.setdefault(match.group(1), []).append(name)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- file operations relative to the folder, never following a symlink -------------------

    def _open(self, name: str, flags: int, mode: int = 0o666) -> int:
        flags |= _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY
        if self._fd is not None:
            return os.open(name, flags, mode, dir_fd=self._fd)
        if not _O_NOFOLLOW and os.path.islink(self.path / name):  # best effort without it
            raise OSError(errno.ELOOP, "a symbolic link", str(self.path / name))
        return os.open(self.path / name, flags, mode)

    def lstat(self, name: str) -> os.stat_result:
        if self._fd is not None:
            return os.stat(name, dir_fd=self._fd, follow_symlinks=False)
        return os.lstat(self.path / name)

    def unlink(self, name: str) -> None:
        if self._fd is not None:
            os.unlink(name, dir_fd=self._fd)
        else:
            os.unlink(self.path / name)

    def _link(self, source: str, target: str) -> None:
        if self._fd is not None:
            os.link(source, target, src_dir_fd=self._fd, dst_dir_fd=self._fd)
        else:
            os.link(self.path / source, self.path / target)

    def fsync(self) -> None:
        if os.name != "posix":
            return
        fd = self._fd if self._fd is not None else os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            if fd != self._fd:
                os.close(fd)

    # -- the manifest --------------------------------------------------------------------------

    def _refuse_manifest(self, why: str) -> MediaError:
        return MediaError(
            f"the download manifest {self.manifest_path} is {why}; refusing to read or write "
            "through it. Remove it (a rerun then fetches every item again) or download to "
            "another folder",
            filename=str(self.manifest_path),
        )

    def _open_manifest(self, flags: int) -> int | None:
        try:
            fd = self._open(MANIFEST_NAME, flags | _O_NONBLOCK, 0o644)
        except FileNotFoundError:
            return None
        except OSError as exc:
            with contextlib.suppress(OSError):
                if stat.S_ISLNK(self.lstat(MANIFEST_NAME).st_mode):
                    raise self._refuse_manifest("a symbolic link") from exc
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise self._refuse_manifest("not a regular file")
        return fd

    def _load_manifest(self) -> dict[tuple[str, str], _Entry]:
        fd = self._open_manifest(os.O_RDONLY)
        if fd is None:
            return {}
        with os.fdopen(fd, "rb") as manifest:

            def lines() -> Iterator[bytes]:
                while line := manifest.readline(_MAX_MANIFEST_LINE + 1):
                    if len(line) > _MAX_MANIFEST_LINE and not line.endswith(b"\n"):
                        while (rest := manifest.readline(_MAX_MANIFEST_LINE)) and not (
                            rest.endswith(b"\n")
                        ):
                            pass  # skip the rest of an overlong line
                    yield line

            return _read_manifest(lines(), self.manifest_path)

    def record(self, entry: _Entry) -> None:
        """Append ``entry`` to the manifest in one write (so runs sharing it never interleave)."""
        line = entry.to_line()
        with self._lock:
            fd = self._open_manifest(os.O_RDWR | os.O_APPEND | os.O_CREAT)
            assert fd is not None
            try:
                end = os.fstat(fd).st_size
                if end and os.lseek(fd, end - 1, os.SEEK_SET) >= 0 and os.read(fd, 1) != b"\n":
                    line = b"\n" + line  # a line a crash cut short must not swallow this one
                written = os.write(fd, line)
                if written != len(line):
                    raise OSError(errno.EIO, "short write to the download manifest")
                os.fsync(fd)
            finally:
                os.close(fd)
            self.entries[(entry.item_id, entry.variant)] = entry

    # -- names ---------------------------------------------------------------------------------

    def _state(self, entry: _Entry) -> Literal["ours", "missing", "other"]:
        """Whether the entry's file is there as written ("ours"), gone, or something else
        now: changed (size or modification time), replaced, or not a regular file."""
        try:
            found = self.lstat(entry.name)
        except FileNotFoundError:
            return "missing"
        except OSError:
            return "other"
        if (
            stat.S_ISREG(found.st_mode)
            and found.st_size == entry.size
            and entry.mtime_ns in (None, found.st_mtime_ns)
        ):
            return "ours"
        return "other"

    def complete(self, item_id: str, variant: str) -> Path | None:
        """The item's file when a previous run wrote it and it is unchanged, else None."""
        entry = self.entries.get((item_id, variant))
        if entry is None or self._state(entry) != "ours":
            return None
        return self.path / entry.name

    def claim(self, item_id: str, variant: str, stem: str) -> str:
        """A stem unique in the folder for this item, the same on every run over one listing.

        An item the manifest knows keeps its stem while its file is there unchanged or gone;
        once the user changed or replaced that file, the name is theirs and the item gets the
        next free one.
        """
        key = (item_id, variant)
        with self._names_lock:
            if key in self._claims:
                return self._claims[key]
            entry = self.entries.get(key)
            if entry is not None and self._state(entry) != "other":
                self._claims[key] = entry.stem
                return entry.stem
            return self._next_free(key, stem)

    def reclaim(self, item_id: str, variant: str, stem: str, taken: str) -> str:
        """A new stem for an item whose claimed name ``taken`` turned out to be in use."""
        with self._names_lock:
            self._taken.add(_name_key(taken))
            return self._next_free((item_id, variant), stem)

    def _next_free(self, key: tuple[str, str], stem: str) -> str:
        candidate, n = stem, 1
        while _name_key(candidate) in self._taken:
            n += 1
            tail = f" ({n})"
            candidate = _tidy(_truncate_utf8(stem, MAX_NAME_BYTES - _EXT_BYTES - len(tail))) + tail
        self._taken.add(_name_key(candidate))
        self._claims[key] = candidate
        return candidate

    # -- writing files -------------------------------------------------------------------------

    def open_part(self, stem: str) -> tuple[str, IO[bytes]]:
        """A new hidden part file for ``stem``, created exclusively and locked while open."""
        prefix = _part_prefix(stem)
        while True:
            part = f"{prefix}.part-{secrets.token_hex(4)}"
            try:
                fd = self._open(part, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            _try_lock(fd)  # tells a concurrent run's drop_stale_parts that it is live
            return part, os.fdopen(fd, "w+b")

    def place(self, part: str, out: IO[bytes], target: str) -> None:
        """Give the finished part file the name ``target``, unless that name is taken.

        Raises FileExistsError when ``target`` exists (whoever made it, whenever): nothing
        is ever replaced. Uses a hard link, then removes the part's name; where the file
        system has no hard links, creates ``target`` exclusively and copies the bytes.
        """
        try:
            self._link(part, target)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            _log.debug("no hard links in %s (%s): copying into place", self.path, exc)
            self._copy_into_place(out, target)
        out.close()
        with contextlib.suppress(FileNotFoundError):
            self.unlink(part)

    def _copy_into_place(self, out: IO[bytes], target: str) -> None:
        fd = self._open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb", closefd=False) as copy:
                out.seek(0)
                while chunk := out.read(1 << 20):
                    copy.write(chunk)
                copy.flush()
                mtime = os.fstat(out.fileno()).st_mtime_ns
                if os.utime in os.supports_fd:
                    os.utime(fd, ns=(mtime, mtime))
                else:
                    os.utime(self.path / target, ns=(mtime, mtime))
                os.fsync(fd)
        except BaseException:
            with contextlib.suppress(OSError):
                self.unlink(target)  # created exclusively above: it is ours to remove
            raise
        finally:
            os.close(fd)

    def drop_stale_parts(self, stem: str) -> None:
        """Remove part files an earlier, killed run left for this stem (a part file a live
        run still holds open is locked, and left alone)."""
        with self._lock:
            names = self._stale.pop(_part_prefix(stem), [])
        for name in names:
            with contextlib.suppress(OSError):
                fd = self._open(name, os.O_RDONLY | _O_NONBLOCK)
                try:
                    if _try_lock(fd):
                        self.unlink(name)
                finally:
                    os.close(fd)

    def settle(self, part: str, out: IO[bytes]) -> tuple[int, int]:
        """Flush and fsync a finished part file; return its size and modification time.

        The time is rounded down to an even second first, which every file system stores
        exactly (FAT keeps two-second steps), so a later run reads back the value recorded.
        """
        out.flush()
        fd = out.fileno()
        mtime = os.fstat(fd).st_mtime_ns
        mtime -= mtime % 2_000_000_000
        if os.utime in os.supports_fd:
            os.utime(fd, ns=(mtime, mtime))
        else:
            os.utime(self.path / part, ns=(mtime, mtime))
        os.fsync(fd)
        found = os.fstat(fd)
        return found.st_size, found.st_mtime_ns


# --------------------------------------------------------------------------------------------
# Re-listing


class _Refresher:
    """Renews baseUrls by re-listing the session; one re-list serves every item it returns."""

    def __init__(
        self,
        relist: Callable[[], Iterable[ItemLike]] | None,
        lock: threading.Lock,
        clock: Callable[[], float],
    ) -> None:
        self._relist = relist
        self._lock = lock
        self._clock = clock
        self._stamp: float | None = None
        self._items: dict[str, ListedItem] = {}
        self.count = 0

    @property
    def available(self) -> bool:
        return self._relist is not None

    def lookup(
        self, item_id: str, newer_than: float, stale_url: str | None = None
    ) -> ListedItem | None:
        """The item as the session lists it now; None if it is no longer listed.

        The last re-listing is reused when it is newer than ``newer_than`` or gave the item a
        baseUrl other than ``stale_url`` (the one that just failed); otherwise the session is
        listed again. So one re-listing renews every item whose URL expired at the same time.
        """
        if self._relist is None:
            raise RuntimeError("no relist callable")
        with self._lock:
            cached = self._items.get(item_id) if self._stamp is not None else None
            if cached is not None and (
                cached.listed_at > newer_than
                or (
                    stale_url is not None and _get(cached.item, "mediaFile", "baseUrl") != stale_url
                )
            ):
                return cached
            if self._stamp is not None and self._stamp > newer_than and cached is None:
                return None  # a listing made after this item's has it no more
            stamp = self._clock()
            items: dict[str, ListedItem] = {}
            for entry in self._relist():
                listed = _listed(entry, stamp)
                raw_id = listed.item.get("id")
                if isinstance(raw_id, str):
                    items[raw_id] = listed
            self._stamp, self._items = stamp, items
            self.count += 1
            return self._items.get(item_id)


# --------------------------------------------------------------------------------------------
# The downloader


class _Cancelled(Exception):
    pass


class _Retryable(Exception):
    """An attempt failed in a way worth another: an error status, or a broken body."""

    def __init__(self, why: str, status: int | None = None, headers: Any = None) -> None:
        super().__init__(why)
        self.status = status
        self.headers = headers


_RETRY_STATUS = {408, 429, 500, 502, 503, 504}
_REDIRECT_STATUS = {301, 302, 303, 307, 308}
_MAX_REDIRECTS = 5
_MAX_URL_RENEWALS = 2
_CONTENT_RANGE = re.compile(r"bytes (\d{1,19})-(\d{1,19})/(\d{1,19}|\*)", re.ASCII)


@dataclass
class _Job:
    index: int
    listed: ListedItem
    item_id: str
    filename: str | None
    variant: str
    stem: str  # the name claimed in the folder, without extension
    base: str  # the safe stem it was made from, for the next free name


@dataclass
class _Run:
    folder: _Folder
    refresher: _Refresher
    size: Size | None
    not_ready: Literal["skip", "wait", "fail"]
    stop: threading.Event
    items_done: int = 0
    items_total: int | None = None
    # What the workers are blocked on: an answer's body, or a connection awaiting its head.
    reading: set[requests.Response | urllib3.connection.HTTPConnection] = field(default_factory=set)
    reading_lock: threading.Lock = field(default_factory=threading.Lock)

    def cancel(self) -> None:
        """Stop the run: no new item or request starts, and answers being waited for or read
        are cut off, so a worker blocked on a stalled server wakes now, not at its read
        timeout."""
        self.stop.set()
        with self.reading_lock:
            blocked = list(self.reading)
        for what in blocked:
            _cut(what)

    @contextlib.contextmanager
    def read(self, what: requests.Response | urllib3.connection.HTTPConnection) -> Iterator[None]:
        """Let :meth:`cancel` cut ``what`` off while the block reads from it."""
        with self.reading_lock:
            self.reading.add(what)
        try:
            if self.stop.is_set():  # cancelled before it could be cut off
                raise _Cancelled()
            yield
        finally:
            with self.reading_lock:
                self.reading.discard(what)


def _cut(what: requests.Response | urllib3.connection.HTTPConnection) -> None:
    """Shut the socket under an answer (or a connection) down, which wakes a thread blocked
    reading it (closing the socket would not). Best effort: without a socket, nothing."""
    connection = what if isinstance(what, urllib3.connection.HTTPConnection) else None
    if connection is None:
        connection = getattr(getattr(what, "raw", None), "connection", None)
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


_worker = threading.local()  # .run: the _Run the current worker thread is downloading for


class _CuttableConnection(urllib3.connection.HTTPConnection):
    """A connection a cancelled run can cut off while it waits for an answer's head."""

    def getresponse(self) -> urllib3.response.HTTPResponse:  # type: ignore[override]
        run: _Run | None = getattr(_worker, "run", None)
        if run is None:
            return super().getresponse()
        with run.read(self):
            return super().getresponse()


class _CuttableHTTPSConnection(urllib3.connection.HTTPSConnection, _CuttableConnection):
    pass


class _CuttablePool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _CuttableConnection


class _CuttableHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _CuttableHTTPSConnection


def _make_cuttable(session: requests.Session) -> None:
    """Have ``session``'s connections register with the worker's run while they wait for an
    answer's head (a server that stalls before answering), where urllib3's own pools are in
    use; any other transport is left as it is."""
    defaults = {
        "http": urllib3.connectionpool.HTTPConnectionPool,
        "https": urllib3.connectionpool.HTTPSConnectionPool,
    }
    adapters = getattr(session, "adapters", None)
    for adapter in adapters.values() if isinstance(adapters, Mapping) else ():
        manager: Any = getattr(adapter, "poolmanager", None)
        classes = getattr(manager, "pool_classes_by_scheme", None)
        if isinstance(classes, dict) and classes == defaults:
            # A dict of its own: urllib3's default one is shared by every pool manager.
            manager.pool_classes_by_scheme = {"http": _CuttablePool, "https": _CuttableHTTPSPool}


def authorized_sessions(
    credentials: Credentials | None, session_factory: Callable[[], requests.Session] | None
) -> Callable[[], requests.Session]:
    """A maker of ``requests`` sessions that attach the token: ``session_factory`` itself,
    or google-auth's ``AuthorizedSession`` on ``credentials`` (which refreshes the token).

    Raises:
        ValueError: both or neither were given.
    """
    if (credentials is None) == (session_factory is None):
        raise BadArgument("pass either credentials or a session_factory (exactly one)")
    if session_factory is not None:
        return session_factory

    def make() -> requests.Session:
        from google.auth.transport.requests import AuthorizedSession

        return AuthorizedSession(credentials)

    return make


def open_allowed(
    session: requests.Session,
    url: str,
    allowlist: HostAllowlist,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: tuple[float, float] = (10.0, 60.0),
    item_id: str | None = None,
    filename: str | None = None,
) -> requests.Response:
    """GET ``url`` as a stream, following redirects by hand so every hop is checked first.

    ``session`` attaches the token; no request goes to a URL ``allowlist`` refuses, whether
    given or redirected to (:class:`~picker_discovery.errors.UntrustedMediaHost` instead).
    The caller closes the answer.

    Raises:
        UntrustedMediaHost: a URL or redirect off the allowlist; nothing was sent there.
        MediaHttpError: more than a handful of redirects.
    """
    for _ in range(_MAX_REDIRECTS + 1):
        allowlist.check(url, item_id=item_id, filename=filename)
        response = session.get(
            url, headers=headers, stream=True, allow_redirects=False, timeout=timeout
        )
        location = response.headers.get("Location")
        if response.status_code not in _REDIRECT_STATUS or not location:
            return response
        response.close()
        url = urljoin(url, location)
    raise MediaHttpError(
        f"item {item_id!r} ({filename}): more than {_MAX_REDIRECTS} redirects",
        code=310,
        item_id=item_id,
        filename=filename,
    )


class Downloader:
    """Downloads picked items' bytes; see the module's documentation for what it guarantees.

    Args:
        credentials: google-auth credentials holding the photospicker scope; each worker gets
            an ``AuthorizedSession`` on them. Or pass ``session_factory`` instead.
        session_factory: makes a ``requests.Session`` that attaches the token (one per worker
            thread), e.g. ``lambda: AuthorizedSession(creds)``.
        allowed_hosts: a :class:`HostAllowlist` or its entries; only these receive the token.
        workers: how many items download at once (a bounded thread pool), 1 to 64.
        retry: the :class:`~picker_discovery.retry.RetryPolicy` for bytes (the default one:
            5 attempts, backoff from 1 s, ``Retry-After`` honoured, 30 s after a 429).
        progress: called with a :class:`Progress` after each chunk and each finished item,
            from worker threads but never two calls at once. An exception it raises fails the
            item being downloaded.
        url_lifetime: seconds after listing when a baseUrl is treated as expired and renewed
            before use (Google documents 60 minutes). An item's listing time is its
            :class:`ListedItem` stamp (:func:`iter_media_items` and :meth:`download_session`
            stamp each page); a plain dict counts from when it was taken from ``items``, which
            can be later than its page was fetched, so a 401/403 still renews it.
        wait_interval, wait_timeout: with ``not_ready="wait"``, how often to re-list the
            session and how long to wait in all for a video to become READY.
        chunk_size: bytes read and written at a time. A connection that drops loses at most
            this much of what it received (urllib3 discards a short read), so keep it modest.
        timeout: ``(connect, read)`` seconds for each request. A run that stops (Ctrl-C, or
            ``fail_fast`` after a failure) does not wait for them: it cuts off the answers its
            workers are waiting for or reading (with ``requests``' own connection pools).
        clock, sleep: a monotonic clock and a sleep (for retry backoff and waiting for
            videos), injectable for tests. With the default sleep, waits end early when the
            run stops (Ctrl-C, or ``fail_fast`` after a failure).
    """

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        session_factory: Callable[[], requests.Session] | None = None,
        allowed_hosts: HostAllowlist | Iterable[str] = DEFAULT_ALLOWED_HOSTS,
        workers: int = 4,
        retry: RetryPolicy | None = None,
        progress: ProgressCallback | None = None,
        url_lifetime: float = 55 * 60,
        wait_interval: float = 10.0,
        wait_timeout: float = 600.0,
        chunk_size: int = 1 << 16,
        timeout: tuple[float, float] = (10.0, 60.0),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        session_factory = authorized_sessions(credentials, session_factory)
        workers = _checks.check_workers(workers)
        if not url_lifetime > 0:
            raise BadArgument(f"url_lifetime must be positive seconds, not {url_lifetime!r}")
        if chunk_size < 1:
            raise BadArgument(f"chunk_size must be positive, not {chunk_size!r}")
        self._session_factory = session_factory
        self.allowlist = HostAllowlist.of(allowed_hosts)
        self.workers = workers
        self.retry = retry if retry is not None else RetryPolicy()
        self._progress = progress
        self.url_lifetime = url_lifetime
        self.wait_interval = wait_interval
        self.wait_timeout = wait_timeout
        self.chunk_size = chunk_size
        self.timeout = timeout
        self._clock = clock
        self._sleep = sleep
        self._progress_lock = threading.Lock()

    # -- public entry points ----------------------------------------------------------------

    def download_session(
        self,
        session_id: str,
        folder: str | os.PathLike[str],
        list_page: ListPage,
        *,
        size: Size | None = None,
        not_ready: Literal["skip", "wait", "fail"] = "skip",
        fail_fast: bool = False,
    ) -> DownloadResult:
        """Download every item of a session, listing it page by page as downloads proceed.

        ``list_page(session_id, page_token)`` makes one ``mediaItems.list`` call; it is also
        used to re-list the session when a baseUrl has expired. Calls to it are never
        concurrent, so it may share a (thread-unsafe) googleapiclient service.
        """

        def relist() -> Iterator[ListedItem]:
            return iter_media_items(session_id, list_page, clock=self._clock)

        return self.download_items(
            relist(), folder, relist=relist, size=size, not_ready=not_ready, fail_fast=fail_fast
        )

    def download(
        self,
        item: ItemLike,
        folder: str | os.PathLike[str],
        *,
        relist: Callable[[], Iterable[ItemLike]] | None = None,
        size: Size | None = None,
        not_ready: Literal["skip", "wait", "fail"] = "fail",
    ) -> Downloaded | Skipped:
        """Download one item; raise its :class:`~picker_discovery.errors.MediaError` on failure.

        Returns a :class:`Skipped` when it was already downloaded, or (with ``not_ready``
        ``"skip"``) a video is not ready or failed processing.
        """
        result = self.download_items(
            [item], folder, relist=relist, size=size, not_ready=not_ready, fail_fast=True
        )
        result.raise_for_failures()
        return result.downloaded[0] if result.downloaded else result.skipped[0]

    def download_items(
        self,
        items: Iterable[ItemLike],
        folder: str | os.PathLike[str],
        *,
        relist: Callable[[], Iterable[ItemLike]] | None = None,
        size: Size | None = None,
        not_ready: Literal["skip", "wait", "fail"] = "skip",
        fail_fast: bool = False,
    ) -> DownloadResult:
        """Download ``items`` into ``folder`` (created if needed), ``workers`` at a time.

        ``items`` is consumed lazily, only as workers free up. ``relist()`` returns the
        session's items afresh; it renews expired baseUrls (without it, an expired URL fails
        its item). ``not_ready`` says what to do with a video still processing: ``"skip"`` it
        (reported in ``skipped``), ``"wait"`` for it (re-listing every ``wait_interval`` up to
        ``wait_timeout``; a waiting video holds its worker), or ``"fail"`` it. With
        ``fail_fast`` the first failure stops the run: items in progress are cancelled
        (reported as skipped) and no more are started.

        Calls to ``items`` and ``relist`` are serialised by one lock, never concurrent.
        """
        if not_ready not in ("skip", "wait", "fail"):
            raise BadArgument(f"not_ready must be 'skip', 'wait' or 'fail', not {not_ready!r}")
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        list_lock = threading.Lock()
        run = _Run(
            folder=_Folder(path),
            refresher=_Refresher(relist, list_lock, self._clock),
            size=size,
            not_ready=not_ready,
            stop=threading.Event(),
        )
        if isinstance(items, list | tuple):
            run.items_total = len(items)
        result = DownloadResult()
        outcomes: list[tuple[int, Downloaded | Skipped | Failed]] = []
        seen: set[tuple[str, str]] = set()
        sessions: list[requests.Session] = []
        local = threading.local()
        sessions_lock = threading.Lock()

        def session() -> requests.Session:
            current: requests.Session | None = getattr(local, "session", None)
            if current is None:
                current = self._session_factory()
                _make_cuttable(current)
                local.session = current
                with sessions_lock:
                    sessions.append(current)
            return current

        def finish(index: int, outcome: Downloaded | Skipped | Failed) -> None:
            outcomes.append((index, outcome))
            if isinstance(outcome, Failed) and fail_fast:
                run.cancel()

        source = iter(items)
        index = 0
        pending: set[Future[Downloaded | Skipped | Failed]] = set()
        futures: dict[Future[Downloaded | Skipped | Failed], int] = {}
        exhausted = False
        try:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="picker-media") as pool:
                try:
                    while True:
                        while (
                            not exhausted and not run.stop.is_set() and len(pending) < self.workers
                        ):
                            try:
                                with list_lock:
                                    stamp = self._clock()
                                    entry = next(source)
                            except StopIteration:
                                exhausted = True
                                run.items_total = index
                                break
                            except Exception as exc:  # the listing failed: finish what we have
                                result.listing_error = exc
                                exhausted = True
                                break
                            index += 1
                            try:
                                job = self._plan(index, _listed(entry, stamp), run)
                            except (MediaError, TypeError) as exc:
                                finish(index, Failed(_id_of(entry), None, str(exc), exc))
                                continue
                            if (job.item_id, job.variant) in seen:
                                finish(
                                    index,
                                    Skipped(
                                        job.item_id,
                                        SkipReason.DUPLICATE,
                                        f"item {job.item_id!r} was listed more than once",
                                    ),
                                )
                                continue
                            seen.add((job.item_id, job.variant))
                            future = pool.submit(self._run_job, job, run, session)
                            pending.add(future)
                            futures[future] = index
                        if not pending:
                            break
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in done:
                            finish(futures.pop(future), future.result())
                except BaseException:
                    # Ctrl-C (or a signal's exception): stop the workers, waking any blocked
                    # on a stalled read, before the pool waits for them.
                    run.cancel()
                    raise
        finally:
            run.folder.close()
            for opened in sessions:
                opened.close()
        for _, outcome in sorted(outcomes, key=lambda pair: pair[0]):
            if isinstance(outcome, Downloaded):
                result.downloaded.append(outcome)
            elif isinstance(outcome, Skipped):
                result.skipped.append(outcome)
            else:
                result.failed.append(outcome)
        return result

    # -- one item ---------------------------------------------------------------------------

    def _plan(self, index: int, listed: ListedItem, run: _Run) -> _Job:
        raw = listed.item
        item_id = _item_id(raw)
        _base_url(raw)
        filename = _filename(raw)
        if len(item_id) > _MAX_ID_CHARS:
            raise MediaError(
                f"a picked media item's id is {len(item_id)} characters long; the listing "
                "answer is malformed",
                filename=filename,
            )
        variant = _variant(raw, run.size)
        base = safe_stem(filename, item_id)
        stem = run.folder.claim(item_id, variant, base)
        return _Job(index, listed, item_id, filename, variant, stem, base)

    def _report(
        self, run: _Run, job: _Job, done: int, total: int | None, finished: bool = False
    ) -> None:
        with self._progress_lock:
            if finished:
                run.items_done += 1
            if self._progress is not None:
                self._progress(
                    Progress(
                        job.item_id, job.filename, done, total, run.items_done, run.items_total
                    )
                )

    def _run_job(
        self, job: _Job, run: _Run, session: Callable[[], requests.Session]
    ) -> Downloaded | Skipped | Failed:
        outcome: Downloaded | Skipped | Failed
        _worker.run = run
        try:
            outcome = self._job(job, run, session)
        except _Cancelled:
            outcome = Skipped(
                job.item_id,
                SkipReason.CANCELLED,
                f"item {job.item_id!r} ({job.filename}) was cancelled: another item failed "
                "and fail_fast was set",
            )
        except Exception as exc:
            outcome = Failed(job.item_id, job.filename, str(exc), exc)
        finally:
            _worker.run = None
        size = outcome.size if isinstance(outcome, Downloaded) else 0
        try:
            self._report(run, job, size, size, finished=True)
        except Exception as exc:  # the callback failed on the last report: the item still did
            _log.debug("progress callback failed for item %s: %r", job.item_id, exc)
        return outcome

    def _job(
        self, job: _Job, run: _Run, session: Callable[[], requests.Session]
    ) -> Downloaded | Skipped:
        present = run.folder.complete(job.item_id, job.variant)
        if present is not None:
            run.folder.drop_stale_parts(job.stem)  # a run killed between link and unlink
            return Skipped(
                job.item_id,
                SkipReason.ALREADY_PRESENT,
                f"item {job.item_id!r} is already downloaded to {present}",
                path=present,
            )
        listed = job.listed
        waited_since = self._clock()
        while True:
            try:
                media_suffix(listed, run.size)
                break
            except MediaProcessingFailed as exc:
                return Skipped(job.item_id, SkipReason.PROCESSING_FAILED, str(exc), error=exc)
            except MediaNotReady as exc:
                if run.not_ready == "skip":
                    return Skipped(job.item_id, SkipReason.NOT_READY, str(exc), error=exc)
                if run.not_ready == "fail":
                    raise
                if not run.refresher.available:
                    raise MediaNotReady(
                        f"{exc} (cannot wait: no relist callable was given)",
                        item_id=exc.item_id,
                        filename=exc.filename,
                        status=exc.status,
                    ) from exc
                if self._clock() - waited_since >= self.wait_timeout:
                    raise MediaNotReady(
                        f"{exc}; still not ready after waiting {self.wait_timeout:g} s",
                        item_id=exc.item_id,
                        filename=exc.filename,
                        status=exc.status,
                    ) from exc
                self._pause(run, self.wait_interval)
                listed = self._renew(job, run, listed)
        return self._fetch(job, run, listed, session)

    def _pause(self, run: _Run, seconds: float) -> None:
        """Sleep; with the real sleep, wake early when the run is stopping (Ctrl-C, fail_fast)."""
        if self._sleep is time.sleep:
            run.stop.wait(seconds)
        else:
            self._sleep(seconds)
        if run.stop.is_set():
            raise _Cancelled()

    def _renew(
        self, job: _Job, run: _Run, listed: ListedItem, *, expired: bool = False
    ) -> ListedItem:
        """The item from a newer listing (``expired``: its baseUrl was just refused)."""
        if not run.refresher.available:
            raise MediaUrlExpired(
                f"item {job.item_id!r} ({job.filename}): its baseUrl has expired and no relist "
                "callable was given to renew it; list the session again and retry",
                item_id=job.item_id,
                filename=job.filename,
            )
        stale = _get(listed.item, "mediaFile", "baseUrl") if expired else None
        try:
            fresh = run.refresher.lookup(job.item_id, listed.listed_at, stale)
        except Exception as exc:
            raise MediaUrlExpired(
                f"item {job.item_id!r} ({job.filename}): re-listing the session to renew its "
                f"baseUrl failed ({type(exc).__name__}: {exc}); the session may have expired: "
                "check it, or create a new session and pick again",
                item_id=job.item_id,
                filename=job.filename,
            ) from exc
        if fresh is None:
            raise MediaUrlExpired(
                f"item {job.item_id!r} ({job.filename}): its baseUrl has expired and the item "
                "is no longer in the session when re-listed; the session may have expired or "
                "been deleted: create a new session and pick it again",
                item_id=job.item_id,
                filename=job.filename,
            )
        return fresh

    def _fetch(
        self,
        job: _Job,
        run: _Run,
        listed: ListedItem,
        session: Callable[[], requests.Session],
    ) -> Downloaded:
        folder = run.folder
        part, out = folder.open_part(job.stem)
        try:
            with out:
                _, content_type = self._stream(job, run, listed, session, out)
                size, mtime_ns = folder.settle(part, out)
                ext = extension_for(content_type, job.filename)
                recorded_type = content_type[:_MAX_CONTENT_TYPE_CHARS]
                stem = job.stem
                while True:
                    name = stem + ext
                    # Recorded before it is placed: a name in place is always recorded.
                    folder.record(
                        _Entry(job.item_id, job.variant, stem, name, size, recorded_type, mtime_ns)
                    )
                    try:
                        folder.place(part, out, name)
                        break
                    except FileExistsError:
                        _log.debug("item %s: %s is taken, trying another name", job.item_id, name)
                        stem = folder.reclaim(job.item_id, job.variant, job.base, stem)
        except BaseException:
            with contextlib.suppress(OSError):
                folder.unlink(part)
            raise
        folder.fsync()
        folder.drop_stale_parts(job.stem)
        return Downloaded(job.item_id, folder.path / name, size, content_type, job.variant)

    def _stream(
        self,
        job: _Job,
        run: _Run,
        listed: ListedItem,
        session: Callable[[], requests.Session],
        out: IO[bytes],
    ) -> tuple[int, str]:
        """Write the item's bytes to ``out``; return (size, Content-Type)."""
        return _Transfer(self, job, run, listed, session, out).run()

    def _open(
        self, job: _Job, session: requests.Session, url: str, headers: dict[str, str]
    ) -> requests.Response:
        return open_allowed(
            session,
            url,
            self.allowlist,
            headers=headers,
            timeout=self.timeout,
            item_id=job.item_id,
            filename=job.filename,
        )


class _Transfer:
    """One item's bytes into its part file: a small state machine over HTTP answers.

    State: ``offset`` (bytes in the file), ``total`` (the whole file's size, once a server
    said it), whether the server resumes (``resumable``) and its strong ``etag``, and the
    ``attempt`` and ``renewals`` counted against the retry policy. :meth:`run` makes one
    request after another until the file holds exactly ``total`` bytes:

    * ``200``: the whole file; its Content-Length is the total (a resume the server ignored
      starts the file again);
    * ``206``: the range must start where the file ends and lie within the announced total.
      A range shorter than asked is no failure: the next request continues from where it
      ended. A total other than the one announced before means the file changed: start
      again. A ``*`` total is learnt from a later answer, or from the ``416`` past the end;
    * ``401``/``403`` renews the baseUrl; ``408``/``429``/``5xx`` and broken bodies are
      retried as the policy says, resuming where possible; anything else fails the item.
    """

    def __init__(
        self,
        downloader: Downloader,
        job: _Job,
        run: _Run,
        listed: ListedItem,
        session: Callable[[], requests.Session],
        out: IO[bytes],
    ) -> None:
        self.downloader, self.job, self.run_, self.listed = downloader, job, run, listed
        self.session, self.out = session, out
        self.offset = 0
        self.total: int | None = None
        self.content_type: str | None = None
        self.resumable = False  # the server answered 206 or advertised Accept-Ranges: bytes
        self.etag: str | None = None  # a strong validator: a resume may survive a new URL
        self.attempt = 0
        self.renewals = 0

    def run(self) -> tuple[int, str]:
        """Fetch until complete; return (size, Content-Type)."""
        job, run, downloader = self.job, self.run_, self.downloader
        while True:
            if run.stop.is_set():
                raise _Cancelled()
            if (
                run.refresher.available
                and downloader._clock() - self.listed.listed_at >= downloader.url_lifetime
            ):
                _log.debug("item %s: baseUrl listed too long ago, renewing it", job.item_id)
                self._renew()
            self.attempt += 1
            try:
                if self._request():
                    return self.offset, self.content_type or "application/octet-stream"
                self.attempt -= 1  # a renewal or a continuation is not a failed attempt
            except (
                _Retryable,
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                if run.stop.is_set():  # the run cut this answer off to stop: no retry
                    raise _Cancelled() from exc
                self._back_off(exc)
            except RefreshError as exc:
                scrub(exc, credential_secrets(getattr(self.session(), "credentials", None)))
                raise MediaError(
                    f"item {job.item_id!r} ({job.filename}): the access token could not be "
                    f"refreshed ({exc}); sign in again",
                    item_id=job.item_id,
                    filename=job.filename,
                ) from exc
            except (OSError, ValueError) as exc:
                if run.stop.is_set():  # a socket cut off under TLS fails in its own ways
                    raise _Cancelled() from exc
                raise

    def _restart(self) -> None:
        self.out.seek(0)
        self.out.truncate()
        self.offset, self.total, self.content_type, self.resumable, self.etag = (
            0,
            None,
            None,
            False,
            None,
        )

    def _renew(self, expired: bool = False) -> None:
        fresh = self.downloader._renew(self.job, self.run_, self.listed, expired=expired)
        if self.offset and self.etag is None:
            self._restart()  # without If-Range, a new URL's bytes may not continue the old ones
        self.listed = fresh

    def _request(self) -> bool:
        """One request; True when the file is complete, False to ask again at once."""
        job = self.job
        url = _base_url(self.listed.item) + "=" + job.variant
        headers = {"Accept-Encoding": "identity"}
        if self.offset and not self.resumable:
            self._restart()
        if self.offset:
            headers["Range"] = f"bytes={self.offset}-"
            if self.etag:
                headers["If-Range"] = self.etag
        response = self.downloader._open(job, self.session(), url, headers)
        try:
            status = response.status_code
            if status in (401, 403):
                self._expired(status)
                return False
            if status in _RETRY_STATUS:
                raise _Retryable(f"HTTP {status}", status, dict(response.headers))
            if status == 416 and self.offset:
                return self._past_the_end(response.headers.get("Content-Range", ""))
            end: int | None
            if status == 206:
                end = self._check_range(response.headers.get("Content-Range", ""))
            elif status == 200:
                if self.offset:
                    self._restart()  # the server ignored the Range (or If-Range failed)
                self.total = _whole_number(response.headers.get("Content-Length", ""))
                end = self.total
            else:
                raise MediaHttpError(
                    f"item {job.item_id!r} ({job.filename}): the media host answered "
                    f"HTTP {status} {response.reason or ''}".rstrip()
                    + "; the item may no longer be available",
                    code=status,
                    item_id=job.item_id,
                    filename=job.filename,
                )
            if self.content_type is None:
                self.content_type = response.headers.get("Content-Type") or _get(
                    self.listed.item, "mediaFile", "mimeType"
                )
            encoding = response.headers.get("Content-Encoding", "").strip().lower()
            if encoding not in ("", "identity"):
                # Asked for identity; a coded body cannot be checked or resumed by size.
                self.total, self.resumable, end = None, False, None
            elif status == 206 or (
                response.headers.get("Accept-Ranges", "").strip().lower() == "bytes"
            ):
                self.resumable = True
            tag = response.headers.get("ETag")
            self.etag = tag if tag and not tag.startswith("W/") else None
            self._receive(response, end)
            if status == 200 or self.offset == self.total:
                return True
            _log.debug(
                "item %s: the server sent bytes up to %d of %s; asking for the rest",
                job.item_id,
                self.offset,
                self.total if self.total is not None else "an unknown total",
            )
            return False
        finally:
            response.close()

    def _expired(self, status: int) -> None:
        job = self.job
        if not self.run_.refresher.available:
            raise MediaUrlExpired(
                f"item {job.item_id!r} ({job.filename}): the media host answered "
                f"HTTP {status}: the baseUrl has probably expired (or the token "
                "lacks the photospicker scope); pass a relist callable to renew "
                "baseUrls, or list the session again and retry",
                item_id=job.item_id,
                filename=job.filename,
            )
        if self.renewals >= _MAX_URL_RENEWALS:
            raise MediaHttpError(
                f"item {job.item_id!r} ({job.filename}): the media host still "
                f"answered HTTP {status} after renewing the baseUrl {self.renewals} "
                "times; check that the token holds the "
                "photospicker.mediaitems.readonly scope and that the session "
                "has not expired",
                code=status,
                item_id=job.item_id,
                filename=job.filename,
            )
        self.renewals += 1
        self._renew(expired=True)

    def _check_range(self, header: str) -> int:
        """Check a 206's Content-Range against the file so far; return where it ends."""
        match = _CONTENT_RANGE.fullmatch(header.strip())
        if match is None:
            self.resumable = False  # restart from the beginning on the next attempt
            raise _Retryable(f"the server answered 206 with a Content-Range of {header[:80]!r}")
        first, last = int(match.group(1)), int(match.group(2))
        size = None if match.group(3) == "*" else int(match.group(3))
        bound = size if size is not None else self.total
        if first != self.offset or last < first or (bound is not None and last >= bound):
            self.resumable = False
            raise _Retryable(
                f"the server answered bytes {first}-{last}/{match.group(3)} when asked for "
                f"the bytes from {self.offset}"
            )
        if size is not None and self.total is not None and size != self.total:
            self.resumable = False
            raise _Retryable(
                f"the file's size changed from {self.total} to {size} bytes between requests"
            )
        if size is not None:
            self.total = size
        return last + 1

    def _past_the_end(self, header: str) -> bool:
        """A 416 to a resume: complete if the file is exactly as long as the server says."""
        match = re.fullmatch(r"bytes \*/(\d{1,19})", header.strip(), re.ASCII)
        size = int(match.group(1)) if match else None
        if size is not None and size == self.offset and self.total in (None, size):
            self.total = size
            return True
        self.resumable = False
        raise _Retryable(
            f"the server cannot serve the bytes from {self.offset} (it says the file is "
            f"{size if size is not None else 'of unknown size'} bytes now)"
        )

    def _receive(self, response: requests.Response, end: int | None) -> None:
        """Append the body to the file; it must end exactly at ``end`` when that is known."""
        job, run = self.job, self.run_
        with run.read(response):  # a cancel cuts a stalled body off at once
            for chunk in response.iter_content(self.downloader.chunk_size):
                if run.stop.is_set():
                    raise _Cancelled()
                if end is not None and self.offset + len(chunk) > end:
                    self.resumable = False
                    raise _Retryable(f"the server sent more than the {end} bytes it announced")
                self.out.write(chunk)
                self.offset += len(chunk)
                self.downloader._report(run, job, self.offset, self.total)
            if run.stop.is_set():  # a body cut off may look complete when its size is unknown
                raise _Cancelled()
        if end is not None and self.offset != end:
            raise _Retryable(f"the body ended at {self.offset} of {end} bytes")

    def _back_off(self, exc: Exception) -> None:
        job, attempt = self.job, self.attempt
        failed_status = exc.status if isinstance(exc, _Retryable) else None
        if isinstance(exc, _Retryable) and failed_status is not None:
            delay = self.downloader.retry.retry_delay(
                attempt, status=failed_status, headers=exc.headers
            )
        else:  # a dropped connection or a short or misplaced body, as the policy knows it
            delay = self.downloader.retry.retry_delay(attempt, exception=ConnectionError(str(exc)))
        if delay is None:
            if failed_status is not None:
                raise MediaHttpError(
                    f"item {job.item_id!r} ({job.filename}): the media host answered "
                    f"{exc} on attempt {attempt} and the retry policy gave up; try "
                    "again later",
                    code=failed_status,
                    item_id=job.item_id,
                    filename=job.filename,
                ) from exc
            raise IncompleteDownload(
                f"item {job.item_id!r} ({job.filename}): the download kept failing "
                f"({exc}) and stopped after {attempt} attempts with {self.offset} of "
                f"{self.total if self.total is not None else 'an unknown number of'} bytes; "
                "run again to retry it",
                received=self.offset,
                expected=self.total,
                item_id=job.item_id,
                filename=job.filename,
            ) from exc
        _log.debug(
            "item %s: attempt %d failed (%s), retrying in %.1f s",
            job.item_id,
            attempt,
            type(exc).__name__,
            delay,
        )
        self.downloader._pause(self.run_, delay)


def _whole_number(text: str) -> int | None:
    """A header's non-negative ASCII integer (``Content-Length``), else None."""
    text = text.strip()
    return int(text) if re.fullmatch(r"\d{1,19}", text, re.ASCII) else None
