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
  against Content-Length, fsynced, then renamed into place with :func:`os.replace`, so a final
  name never holds a partial file. An error removes the part file; only a killed process leaves
  one behind, hidden, and the next run that completes that item removes it;
* "complete" is recorded in a manifest, ``.picker-downloads.jsonl`` in the folder: one JSON line
  per finished file (item id, variant, name, size, Content-Type), written and fsynced just
  before the rename. A rerun skips an item whose manifest entry names a file that exists with
  the recorded size; anything else is fetched again. Files the manifest does not know are never
  overwritten: a new item whose name they hold gets ``name (2).ext``;
* names come from ``mediaFile.filename`` made safe (:func:`safe_stem`), unique within the folder
  in item order (``IMG.jpg``, ``IMG (2).jpg``; uniqueness is by stem, so names stay unique
  whatever extension the answers bring), with the extension of the answer's Content-Type;
* several items download at once (``workers``, default 4) while the session is listed page by
  page as downloads proceed; an expired baseUrl (401/403, or listed longer ago than
  ``url_lifetime``) is renewed by re-listing the session and finding the item by id;
* 5xx, 429 (honouring Retry-After) and dropped connections are retried under a retry policy,
  resuming with ``Range: bytes=N-`` when the server supports ranges (the Content-Range is
  checked), else restarting. A body without Content-Length that ends early cannot be told from
  a complete one; media hosts send the length.

Progress goes to an optional callback; nothing is printed, and no token or Authorization header
is ever logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import mimetypes
import os
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import IO, Any, Literal, Protocol
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.util
from google.auth.exceptions import RefreshError

from picker_discovery._paging import iter_pages
from picker_discovery._secrets import credential_secrets, install_log_filter, scrub
from picker_discovery.errors import (
    IncompleteDownload,
    MediaError,
    MediaHttpError,
    MediaNotReady,
    MediaProcessingFailed,
    MediaUrlExpired,
    UntrustedMediaHost,
)
from picker_discovery.retry import RetryPolicy

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

MAX_DIMENSION = 16383
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
    raise TypeError(
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
                raise ValueError(f"Size.{name} must be an int, not {value!r}")
            if not 1 <= value <= MAX_DIMENSION:
                raise ValueError(f"Size.{name} must be between 1 and {MAX_DIMENSION}, not {value}")

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

_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{prefix}{digit}" for prefix in ("COM", "LPT") for digit in "123456789\u00b9\u00b2\u00b3"
}
# Bidirectional controls can make "gpj.exe" display as "exe.jpg".
_INVISIBLE = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}
_WINDOWS_UNSAFE = set('<>:"|?*')


def _truncate_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


def _tidy(stem: str) -> str:
    return stem.strip(" .")


def safe_stem(filename: str | None, fallback: str) -> str:
    """A file name without extension, safe on Linux, macOS and Windows, from ``filename``.

    NFC-normalised; path separators and characters Windows refuses become ``_``; control and
    bidirectional-override characters are dropped; runs of dots become one dot and leading and
    trailing dots and spaces go (so no hidden files, no ``..``); a Windows device name (``CON``,
    ``com1``, ``LPT3.tar``) gets a ``_`` prefix; at most ``MAX_NAME_BYTES - 10`` UTF-8 bytes.
    The original extension is dropped: the answer's Content-Type chooses it. An empty result
    becomes ``fallback``, made safe the same way (then ``"item"``).
    """
    name = unicodedata.normalize("NFC", filename or "")
    cleaned = []
    for ch in name:
        if ch in "/\\" or ch in _WINDOWS_UNSAFE:
            cleaned.append("_")
        elif unicodedata.category(ch) == "Cc" or ch in _INVISIBLE:
            continue
        else:
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


def extension_for(content_type: str | None, original: str | None = None) -> str:
    """The file extension for a Content-Type (``image/jpeg`` → ``.jpg``), ``.bin`` if unknown.

    When ``original`` (the item's filename) already ends in an extension of that type, its
    spelling is kept (``IMG_1.JPG`` stays ``.JPG``).
    """
    mime = (content_type or "").split(";")[0].strip().lower()
    choices = list(_EXTENSIONS.get(mime, ()))
    if not choices and mime:
        guessed = mimetypes.guess_extension(mime, strict=False)
        if guessed and re.fullmatch(r"\.[A-Za-z0-9]{1,9}", guessed):
            choices = [guessed]
    if not choices:
        return ".bin"
    if original:
        ext = os.path.splitext(original)[1]
        if ext.lower() in choices and re.fullmatch(r"\.[A-Za-z0-9]{1,9}", ext):
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
    (that host over https, port 443) or an origin ``scheme://host[:port]`` (exactly that, http
    allowed: for an emulator, ``http://127.0.0.1:8080``). URLs with user info, backslashes,
    control characters, non-ASCII or trailing-dot hosts never match.
    """

    def __init__(self, entries: Iterable[str] = DEFAULT_ALLOWED_HOSTS) -> None:
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
                    raise ValueError(f"allowlist origin must be scheme://host[:port]: {entry!r}")
                self._origins.add(origin)
            elif entry.startswith("*."):
                suffix = entry[1:].lower()
                if suffix.count(".") < 2 or not _HOST.fullmatch(suffix[1:]):
                    raise ValueError(f"allowlist wildcard must look like *.example.com: {entry!r}")
                self._suffixes.add(suffix)
            else:
                if not _HOST.fullmatch(entry):
                    raise ValueError(f"allowlist host must be a bare host name: {entry!r}")
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


@dataclass(frozen=True)
class _Entry:
    item_id: str
    variant: str
    stem: str
    name: str
    size: int
    content_type: str


def _read_manifest(path: Path) -> dict[tuple[str, str], _Entry]:
    entries: dict[tuple[str, str], _Entry] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return entries
    for line in lines:
        try:
            data = json.loads(line)
            entry = _Entry(
                item_id=str(data["id"]),
                variant=str(data["variant"]),
                stem=str(data["stem"]),
                name=str(data["name"]),
                size=int(data["size"]),
                content_type=str(data.get("content_type", "")),
            )
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a crash, or not ours
        if Path(entry.name).name != entry.name or entry.name.startswith("."):
            continue  # never trust a manifest to point outside the folder
        entries[(entry.item_id, entry.variant)] = entry
    return entries


class _Folder:
    """The target folder: its manifest, the names taken, and writing files into it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.manifest_path = path / MANIFEST_NAME
        self.entries = _read_manifest(self.manifest_path)
        self._lock = threading.Lock()
        owned = {entry.name for entry in self.entries.values()}
        self._taken = {entry.stem.casefold() for entry in self.entries.values()}
        for name in os.listdir(path):
            if not name.startswith(".") and name not in owned:
                self._taken.add(os.path.splitext(name)[0].casefold())
        self._claims: dict[tuple[str, str], str] = {}
        # Part files a killed run left behind, by the prefix of their stem.
        self._stale: dict[str, list[str]] = {}
        for name in os.listdir(path):
            match = _PART.fullmatch(name)
            if match:
                self._stale.setdefault(match.group(1), []).append(name)

    def complete(self, item_id: str, variant: str) -> Path | None:
        entry = self.entries.get((item_id, variant))
        if entry is None:
            return None
        target = self.path / entry.name
        try:
            return target if target.is_file() and target.stat().st_size == entry.size else None
        except OSError:
            return None

    def claim(self, item_id: str, variant: str, stem: str) -> str:
        """A stem unique in the folder for this item, the same on every run over one listing."""
        key = (item_id, variant)
        if key in self._claims:
            return self._claims[key]
        entry = self.entries.get(key)
        if entry is not None:
            self._claims[key] = entry.stem
            return entry.stem
        candidate, n = stem, 1
        while candidate.casefold() in self._taken:
            n += 1
            tail = f" ({n})"
            candidate = _tidy(_truncate_utf8(stem, MAX_NAME_BYTES - _EXT_BYTES - len(tail))) + tail
        self._taken.add(candidate.casefold())
        self._claims[key] = candidate
        return candidate

    def record(self, entry: _Entry) -> None:
        line = json.dumps(
            {
                "id": entry.item_id,
                "variant": entry.variant,
                "stem": entry.stem,
                "name": entry.name,
                "size": entry.size,
                "content_type": entry.content_type,
            },
            ensure_ascii=False,
        )
        with self._lock:
            with open(self.manifest_path, "a", encoding="utf-8") as manifest:
                manifest.write(line + "\n")
                manifest.flush()
                os.fsync(manifest.fileno())
            self.entries[(entry.item_id, entry.variant)] = entry

    def open_part(self, stem: str) -> tuple[Path, IO[bytes]]:
        prefix = _part_prefix(stem)
        while True:
            part = self.path / f"{prefix}.part-{secrets.token_hex(4)}"
            try:
                fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
            except FileExistsError:
                continue
            return part, os.fdopen(fd, "wb")

    def drop_stale_parts(self, stem: str) -> None:
        """Remove part files an earlier, killed run left for this stem."""
        with self._lock:
            names = self._stale.pop(_part_prefix(stem), [])
        for name in names:
            with contextlib.suppress(OSError):
                os.unlink(self.path / name)

    def fsync(self) -> None:
        if os.name != "posix":
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_O_BINARY: int = getattr(os, "O_BINARY", 0)
_PART = re.compile(r"(\..+)\.part-[0-9a-f]{8}", re.DOTALL)


def _part_prefix(stem: str) -> str:
    return "." + _truncate_utf8(stem, MAX_NAME_BYTES - 20)


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
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


@dataclass
class _Job:
    index: int
    listed: ListedItem
    item_id: str
    filename: str | None
    variant: str
    stem: str


@dataclass
class _Run:
    folder: _Folder
    refresher: _Refresher
    size: Size | None
    not_ready: Literal["skip", "wait", "fail"]
    stop: threading.Event
    items_done: int = 0
    items_total: int | None = None


def authorized_sessions(
    credentials: Any, session_factory: Callable[[], requests.Session] | None
) -> Callable[[], requests.Session]:
    """A maker of ``requests`` sessions that attach the token: ``session_factory`` itself,
    or google-auth's ``AuthorizedSession`` on ``credentials`` (which refreshes the token).

    Raises:
        ValueError: both or neither were given.
    """
    if (credentials is None) == (session_factory is None):
        raise ValueError("pass either credentials or a session_factory (exactly one)")
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
        workers: how many items download at once (a bounded thread pool).
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
        timeout: ``(connect, read)`` seconds for each request.
        clock, sleep: a monotonic clock and a sleep (for retry backoff and waiting for
            videos), injectable for tests. With the default sleep, waits end early when the
            run stops (Ctrl-C, or ``fail_fast`` after a failure).
    """

    def __init__(
        self,
        credentials: Any = None,
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
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive int, not {workers!r}")
        if not url_lifetime > 0:
            raise ValueError(f"url_lifetime must be positive seconds, not {url_lifetime!r}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, not {chunk_size!r}")
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
            raise ValueError(f"not_ready must be 'skip', 'wait' or 'fail', not {not_ready!r}")
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
                local.session = current
                with sessions_lock:
                    sessions.append(current)
            return current

        def finish(index: int, outcome: Downloaded | Skipped | Failed) -> None:
            outcomes.append((index, outcome))
            if isinstance(outcome, Failed) and fail_fast:
                run.stop.set()

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
                    run.stop.set()  # on KeyboardInterrupt, workers stop at their next chunk
                    raise
        finally:
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
        variant = _variant(raw, run.size)
        stem = run.folder.claim(item_id, variant, safe_stem(filename, item_id))
        return _Job(index, listed, item_id, filename, variant, stem)

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
        part, out = run.folder.open_part(job.stem)
        try:
            with out:
                size, content_type = self._stream(job, run, listed, session, out)
                out.flush()
                os.fsync(out.fileno())
            name = job.stem + extension_for(content_type, job.filename)
            entry = _Entry(job.item_id, job.variant, job.stem, name, size, content_type)
            run.folder.record(entry)  # before the rename: a name in place is always recorded
            target = run.folder.path / name
            os.replace(part, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(part)
            raise
        run.folder.fsync()
        run.folder.drop_stale_parts(job.stem)
        return Downloaded(job.item_id, target, size, content_type, job.variant)

    def _stream(
        self,
        job: _Job,
        run: _Run,
        listed: ListedItem,
        session: Callable[[], requests.Session],
        out: IO[bytes],
    ) -> tuple[int, str]:
        """Write the item's bytes to ``out``; return (size, Content-Type)."""
        offset = 0  # bytes in ``out``
        total: int | None = None  # the full size, once a server said
        content_type: str | None = None
        resumable = False  # the server answered 206 or advertised Accept-Ranges: bytes
        etag: str | None = None  # a strong validator, which lets a resume survive a new URL
        attempt = 0
        renewals = 0

        def restart() -> None:
            nonlocal offset, total, content_type, resumable, etag
            out.seek(0)
            out.truncate()
            offset, total, content_type, resumable, etag = 0, None, None, False, None

        def renew(listed: ListedItem, expired: bool = False) -> ListedItem:
            fresh = self._renew(job, run, listed, expired=expired)
            if offset and etag is None:
                restart()  # without If-Range, a new URL's bytes may not continue the old ones
            return fresh

        while True:
            if run.stop.is_set():
                raise _Cancelled()
            if run.refresher.available and self._clock() - listed.listed_at >= self.url_lifetime:
                _log.debug("item %s: baseUrl listed too long ago, renewing it", job.item_id)
                listed = renew(listed)
            attempt += 1
            url = _base_url(listed.item) + "=" + job.variant
            headers = {"Accept-Encoding": "identity"}
            if offset and not resumable:
                restart()
            if offset:
                headers["Range"] = f"bytes={offset}-"
                if etag:
                    headers["If-Range"] = etag
            try:
                response = self._open(job, session(), url, headers)
                try:
                    status = response.status_code
                    if status in (401, 403):
                        if not run.refresher.available:
                            raise MediaUrlExpired(
                                f"item {job.item_id!r} ({job.filename}): the media host answered "
                                f"HTTP {status}: the baseUrl has probably expired (or the token "
                                "lacks the photospicker scope); pass a relist callable to renew "
                                "baseUrls, or list the session again and retry",
                                item_id=job.item_id,
                                filename=job.filename,
                            )
                        if renewals >= _MAX_URL_RENEWALS:
                            raise MediaHttpError(
                                f"item {job.item_id!r} ({job.filename}): the media host still "
                                f"answered HTTP {status} after renewing the baseUrl {renewals} "
                                "times; check that the token holds the "
                                "photospicker.mediaitems.readonly scope and that the session "
                                "has not expired",
                                code=status,
                                item_id=job.item_id,
                                filename=job.filename,
                            )
                        renewals += 1
                        attempt -= 1  # a renewal is not a failed attempt
                        listed = renew(listed, expired=True)
                        continue
                    if status in _RETRY_STATUS:
                        raise _Retryable(f"HTTP {status}", status, dict(response.headers))
                    if status == 206:
                        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
                        whole = match.group(3) if match else None
                        if (
                            match is None
                            or int(match.group(1)) != offset
                            or (whole != "*" and total is not None and int(whole or 0) != total)
                        ):
                            resumable = False  # restart from the beginning on the next attempt
                            raise _Retryable("the server answered an unexpected Content-Range")
                        if whole is not None and whole != "*":
                            total = int(whole)
                    elif status == 200:
                        if offset:
                            restart()  # the server ignored the Range (or If-Range failed)
                        length = response.headers.get("Content-Length", "")
                        total = int(length) if length.isdigit() else None
                    else:
                        raise MediaHttpError(
                            f"item {job.item_id!r} ({job.filename}): the media host answered "
                            f"HTTP {status} {response.reason or ''}".rstrip()
                            + "; the item may no longer be available",
                            code=status,
                            item_id=job.item_id,
                            filename=job.filename,
                        )
                    if content_type is None:
                        content_type = response.headers.get("Content-Type") or _get(
                            listed.item, "mediaFile", "mimeType"
                        )
                    encoding = response.headers.get("Content-Encoding", "").strip().lower()
                    if encoding not in ("", "identity"):
                        # Asked for identity; a coded body cannot be checked or resumed by size.
                        total, resumable = None, False
                    elif status == 206 or (
                        response.headers.get("Accept-Ranges", "").strip().lower() == "bytes"
                    ):
                        resumable = True
                    tag = response.headers.get("ETag")
                    etag = tag if tag and not tag.startswith("W/") else None
                    for chunk in response.iter_content(self.chunk_size):
                        if run.stop.is_set():
                            raise _Cancelled()
                        out.write(chunk)
                        offset += len(chunk)
                        self._report(run, job, offset, total)
                    if total is not None and offset != total:
                        raise _Retryable(f"the body ended at {offset} of {total} bytes")
                    return offset, content_type or "application/octet-stream"
                finally:
                    response.close()
            except (
                _Retryable,
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                failed_status = exc.status if isinstance(exc, _Retryable) else None
                if isinstance(exc, _Retryable) and failed_status is not None:
                    delay = self.retry.retry_delay(
                        attempt, status=failed_status, headers=exc.headers
                    )
                else:  # a dropped connection or a short or misplaced body, as the policy knows it
                    delay = self.retry.retry_delay(attempt, exception=ConnectionError(str(exc)))
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
                        f"({exc}) and stopped after {attempt} attempts with {offset} of "
                        f"{total if total is not None else 'an unknown number of'} bytes; run "
                        "again to retry it",
                        received=offset,
                        expected=total,
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
                self._pause(run, delay)
            except RefreshError as exc:
                scrub(exc, credential_secrets(getattr(session(), "credentials", None)))
                raise MediaError(
                    f"item {job.item_id!r} ({job.filename}): the access token could not be "
                    f"refreshed ({exc}); sign in again",
                    item_id=job.item_id,
                    filename=job.filename,
                ) from exc

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
