"""Fetch picked items' bytes: the right suffix, streamed to disk, concurrent, atomic, token-safe.

::

    from google.oauth2.credentials import Credentials
    from picker_discovery._media.pool import Downloader

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
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urljoin

import requests
import urllib3.connection
import urllib3.connectionpool
import urllib3.response
import urllib3.util
from google.auth.exceptions import RefreshError

from picker_discovery import _checks
from picker_discovery._media.folder import (
    _MAX_CONTENT_TYPE_CHARS,
    _MAX_ID_CHARS,
    MANIFEST_NAME,
    _Entry,
    _Folder,
)
from picker_discovery._media.hosts import DEFAULT_ALLOWED_HOSTS, HostAllowlist
from picker_discovery._media.names import (
    extension_for,
    safe_stem,
)
from picker_discovery._media.results import (
    Downloaded,
    DownloadResult,
    Failed,
    Progress,
    ProgressCallback,
    Skipped,
    SkipReason,
)
from picker_discovery._paging import iter_pages
from picker_discovery._retry import RetryPolicy
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
)

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

MAX_DIMENSION = _checks.MAX_DIMENSION  # 16383
"""The largest width or height accepted for ``=wW-hH`` (the JPEG limit)."""


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
# Retries


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
        retry: the :class:`~picker_discovery.RetryPolicy` for bytes (the default one:
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
