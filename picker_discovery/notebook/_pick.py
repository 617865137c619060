"""Picker sessions and picked items in Jupyter: rich displays, thumbnails and a one-call flow.

::

    from picker_discovery.notebook import pick

    result = pick(client, max_items=10, timeout=600)  # shows the link and a QR code, waits
    result.items                                        # the picked PickedMediaItem list
    result.grid                                         # a grid of their thumbnails

A :class:`~picker_discovery.models.PickingSession` shows itself in a notebook (its
``_repr_html_`` calls :func:`session_html`): status, expiry, polling, the ``pickerUri`` as a
link that opens a new tab (Google Photos refuses to be shown in an iframe) and a QR code to
scan with a phone. The QR code needs `segno <https://pypi.org/project/segno/>`_
(``pip install 'picker-discovery[notebook]'``); without it the display says so.

Thumbnails: a ``baseUrl`` answers only with the bearer token, which an ``<img src=...>`` in the
browser cannot send. :class:`ItemGrid` fetches each ``baseUrl=w256-h256-c`` with a ``fetch``
function (by default a :class:`ThumbnailFetcher`, which sends the token only to allowlisted
hosts) and embeds the bytes as ``data:`` URIs.

Everything shown is escaped: file names, ids and URIs come from the network.

The models import this module only when a session or item is shown, and it imports segno,
tqdm and IPython only when they are needed. Nothing is printed: displays go through IPython's
display machinery, and only when IPython is running.
"""

from __future__ import annotations

import base64
import importlib.util
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from picker_discovery import _checks
from picker_discovery._media.hosts import DEFAULT_ALLOWED_HOSTS, HostAllowlist
from picker_discovery._media.items import Size
from picker_discovery._media.results import DownloadResult
from picker_discovery._media.transfer import authorized_sessions, open_allowed
from picker_discovery.errors import (
    MediaError,
    MediaHttpError,
    MediaUrlExpired,
    NoCredentials,
    ThumbnailError,
    UntrustedMediaHost,
)
from picker_discovery.models import MediaType, PickedMediaItem, PickingSession
from picker_discovery.notebook._render import (
    SessionView,
    _e,
    _filename,
    _item_facts,
    _span,
)

if TYPE_CHECKING:
    import os

    import requests
    from google.auth.credentials import Credentials

    from picker_discovery._client import PickerClient

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE = 256
_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_MAX_THUMBNAIL_BYTES = 4 * 1024 * 1024


# --------------------------------------------------------------------------------------------
# Fetching thumbnails


@dataclass(frozen=True)
class Thumbnail:
    """The bytes of an image and their Content-Type."""

    data: bytes
    content_type: str

    def data_uri(self) -> str:
        return f"data:{self.content_type};base64,{base64.b64encode(self.data).decode('ascii')}"


Fetch = Callable[[str], Thumbnail]
"""Fetches one URL (``baseUrl=w256-h256-c``) with the token; raises on failure."""


def _content_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


class ThumbnailFetcher:
    """Fetches thumbnails with the bearer token, only from allowlisted hosts.

    Args:
        credentials: google-auth credentials holding the picker scope; each thread gets an
            ``AuthorizedSession`` on them (which refreshes the token when it can).
        session_factory: instead of ``credentials``, makes a ``requests.Session`` that
            attaches the token.
        allowed_hosts: where the token may go: ``*.googleusercontent.com`` over https by
            default; add an origin such as ``http://127.0.0.1:8081`` for the emulator.
        timeout: ``(connect, read)`` seconds per request.

    A URL, or a redirect, to any other host raises
    :class:`~picker_discovery.errors.UntrustedMediaHost` before anything is sent there (the
    allowlist is :class:`picker_discovery._media.hosts.HostAllowlist`, the downloader's). Redirects
    are followed by hand so that each hop is checked. Only images
    (PNG, JPEG, GIF, WebP) of at most 4 MiB are accepted.
    """

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        session_factory: Callable[[], requests.Session] | None = None,
        allowed_hosts: HostAllowlist | Iterable[str] = DEFAULT_ALLOWED_HOSTS,
        timeout: tuple[float, float] = (10.0, 30.0),
    ) -> None:
        self._session_factory = authorized_sessions(credentials, session_factory)
        self.allowlist = HostAllowlist.of(allowed_hosts)
        self.timeout = timeout
        self._local = threading.local()

    @classmethod
    def for_client(
        cls, client: PickerClient, *, media_hosts: Iterable[str] = ()
    ) -> ThumbnailFetcher:
        """A fetcher sending ``client``'s credentials to Google's content hosts and
        ``media_hosts`` (origins such as an emulator's ``media_url``), like
        :meth:`PickerClient.downloader` (an ``http://`` origin off this machine only if the
        client was made with ``allow_insecure_http``).

        Raises:
            NoCredentials: the client has no credentials (it was built over a bare transport).
            ValueError: a media host would receive the token over plain http off this machine.
        """
        credentials = client.credentials
        if credentials is None:
            raise NoCredentials(
                "this client has no credentials to fetch thumbnails with: build it with "
                "credentials=..., or pass ThumbnailFetcher(credentials) yourself"
            )
        allowlist = HostAllowlist(
            [*DEFAULT_ALLOWED_HOSTS, *media_hosts], allow_insecure_http=client.allow_insecure_http
        )
        return cls(credentials, allowed_hosts=allowlist)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._session_factory()
            self._local.session = session
        return session

    def __call__(self, url: str) -> Thumbnail:
        """Fetch ``url``.

        Raises the downloader's classes for what a thumbnail shares with a download:
        :class:`~picker_discovery.errors.UntrustedMediaHost`,
        :class:`~picker_discovery.errors.MediaUrlExpired` (HTTP 401 or 403: the baseUrl
        expired or the token is not the session's),
        :class:`~picker_discovery.errors.MediaHttpError` (another error status, or too many
        redirects); :class:`ThumbnailError` for an answer that is no image to show.
        """
        response = open_allowed(self._session(), url, self.allowlist, timeout=self.timeout)
        with response:
            status = response.status_code
            if status in (401, 403):
                raise MediaUrlExpired(
                    f"the media host answered HTTP {status}: the baseUrl has probably expired "
                    "(or the token is not the session owner's, or lacks the photospicker "
                    "scope); list the session again for fresh baseUrls"
                )
            if status != 200:
                raise MediaHttpError(f"the media host answered HTTP {status}", code=status)
            kind = _content_type(response.headers.get("Content-Type"))
            if kind not in _IMAGE_TYPES:
                raise ThumbnailError(f"not an image: Content-Type {kind or 'missing'}")
            data = bytearray()
            for chunk in response.iter_content(1 << 16):
                data += chunk
                if len(data) > _MAX_THUMBNAIL_BYTES:
                    raise ThumbnailError("the thumbnail is larger than 4 MiB")
            return Thumbnail(bytes(data), kind)


def _short(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.netloc else "an unusable URL"


def thumbnail_url(item: PickedMediaItem, size: int = THUMBNAIL_SIZE) -> str | None:
    """``baseUrl=wS-hS-c`` (cropped to a square), or ``None`` without a baseUrl.

    Photos and videos alike: image parameters on a video give a still of it.
    """
    media = item.media_file
    if media is None or not media.base_url:
        return None
    return f"{media.base_url}={Size(size, size, crop=True).variant}"


def _check_image(thumbnail: Thumbnail) -> Thumbnail:
    kind = _content_type(thumbnail.content_type)
    if kind not in _IMAGE_TYPES:
        raise ThumbnailError(f"not an image: Content-Type {kind or 'missing'}")
    return Thumbnail(thumbnail.data, kind)


# --------------------------------------------------------------------------------------------
# The grid


@dataclass
class _Cell:
    item: PickedMediaItem
    thumbnail: Thumbnail | None = None
    error: str | None = None


class ItemGrid:
    """Picked items as a grid of thumbnails, each embedded as a ``data:`` URI.

    Args:
        items: the picked items (as :meth:`PickerClient.list_media_items` returns them).
        fetch: fetches one thumbnail URL with the token, e.g. a :class:`ThumbnailFetcher`;
            without it the grid shows names only.
        size: the thumbnail's side in pixels (``=wS-hS-c``).

    Thumbnails are fetched once, by :meth:`load` or on first display; a baseUrl lasts about
    an hour and ends when the session is deleted, so load before deleting the session.
    """

    def __init__(
        self,
        items: Iterable[PickedMediaItem],
        fetch: Fetch | None = None,
        *,
        size: int = THUMBNAIL_SIZE,
    ) -> None:
        self.items: list[PickedMediaItem] = list(items)
        self.fetch = fetch
        self.size = size
        self._cells: list[_Cell] | None = None

    def __len__(self) -> int:
        return len(self.items)

    def load(
        self, progress: Callable[[int, int], None] | None = None, *, workers: int = 4
    ) -> ItemGrid:
        """Fetch every thumbnail now (once), ``workers`` at a time, keeping the items' order.

        ``progress(done, total)`` is called on this thread after each thumbnail. ``fetch``
        must be safe to call from several threads when ``workers`` > 1 (a
        :class:`ThumbnailFetcher` is: each thread gets its own HTTP session).
        """
        if self._cells is not None:
            return self
        total = len(self.items)
        cells: list[_Cell | None] = [None] * total
        if workers <= 1 or total <= 1:
            for index, item in enumerate(self.items):
                cells[index] = self._cell(item)
                if progress is not None:
                    progress(index + 1, total)
        else:
            with ThreadPoolExecutor(min(workers, total), "picker-thumbnails") as pool:
                futures = {pool.submit(self._cell, item): i for i, item in enumerate(self.items)}
                try:
                    for done, future in enumerate(as_completed(futures), 1):
                        cells[futures[future]] = future.result()
                        if progress is not None:
                            progress(done, total)
                except BaseException:  # KeyboardInterrupt too: start no more fetches
                    for future in futures:
                        future.cancel()
                    raise
        self._cells = [cell for cell in cells if cell is not None]
        return self

    def _cell(self, item: PickedMediaItem) -> _Cell:
        if self.fetch is None:
            return _Cell(item, error="no thumbnail: no fetch function with the token")
        url = thumbnail_url(item, self.size)
        if url is None:
            return _Cell(item, error="no thumbnail: the item has no baseUrl")
        try:
            return _Cell(item, thumbnail=_check_image(self.fetch(url)))
        except UntrustedMediaHost as exc:
            return _Cell(
                item,
                error="not fetched: the host is not on the allowlist, so the access token was "
                f"not sent to it ({_short(exc.url)})",
            )
        except MediaError as exc:
            return _Cell(item, error=str(exc))
        except Exception as exc:  # one broken thumbnail must not hide the others
            logger.warning("thumbnail of item %s failed: %s", item.id, type(exc).__name__)
            return _Cell(item, error=f"no thumbnail: {type(exc).__name__}")

    @property
    def failures(self) -> list[tuple[PickedMediaItem, str]]:
        """Items whose thumbnail could not be shown, with why (after :meth:`load`)."""
        return [(c.item, c.error) for c in self.load()._cells or () if c.error is not None]

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for item in self.items:
            kind = item.type.value if item.type is not None else "unknown"
            counts[kind] = counts.get(kind, 0) + 1
        kinds = ", ".join(f"{n} {k.lower()}" for k, n in sorted(counts.items()))
        loaded = ""
        if self._cells is not None:
            shown = sum(1 for c in self._cells if c.thumbnail is not None)
            loaded = f", {shown} thumbnails"
        count = f"{len(self.items)} item{'' if len(self.items) == 1 else 's'}"
        return f"<ItemGrid of {count} ({kinds or 'none'}){loaded}>"

    def _repr_html_(self) -> str:
        cells = self.load()._cells or []
        side = 160
        parts = []
        for cell in cells:
            name = _filename(cell.item)
            if cell.thumbnail is not None:
                picture = (
                    f'<img src="{_e(cell.thumbnail.data_uri())}" alt="{_e(name)}" '
                    f'width="{side}" height="{side}" '
                    f'style="display:block;width:{side}px;height:{side}px;object-fit:cover;'
                    'border-radius:4px;background:#eee">'
                )
            else:
                picture = (
                    f'<div style="width:{side}px;height:{side}px;border-radius:4px;'
                    "background:#f0f0f0;color:#57606a;font-size:12px;display:flex;"
                    "align-items:center;justify-content:center;text-align:center;padding:8px;"
                    f'box-sizing:border-box">{_e(cell.error or "")}</div>'
                )
            badge = ""
            if cell.item.type == MediaType.VIDEO:
                badge = (
                    '<span style="position:absolute;top:6px;left:6px;background:rgba(0,0,0,.6);'
                    'color:#fff;font-size:11px;padding:1px 6px;border-radius:8px">▶ video</span>'
                )
            parts.append(
                f'<figure style="margin:0;width:{side}px;position:relative" title="{_e(name)}">'
                f"{picture}{badge}"
                '<figcaption style="font-size:12px;white-space:nowrap;overflow:hidden;'
                f'text-overflow:ellipsis">{_e(name)}</figcaption>'
                f'<div style="font-size:11px;color:#57606a">{_e(_item_facts(cell.item))}</div>'
                "</figure>"
            )
        if not parts:
            parts.append("<p>No items were picked.</p>")
        return (
            '<div class="picker-items" style="font-family:system-ui,-apple-system,\'Segoe UI\','
            "sans-serif;display:grid;grid-template-columns:repeat(auto-fill,minmax("
            f'{side}px,1fr));gap:12px;max-width:900px">{"".join(parts)}</div>'
        )


# --------------------------------------------------------------------------------------------
# The whole flow


@dataclass
class Picked:
    """What :func:`pick` returns: the session as last seen, the items and their grid."""

    session: PickingSession
    items: list[PickedMediaItem]
    grid: ItemGrid
    downloads: DownloadResult | None = None
    """What was downloaded, when :func:`pick` was given a ``folder``."""

    def _repr_html_(self) -> str:
        # pick() has shown the grid already; this is the summary, ``.grid`` shows it again.
        downloaded = ""
        if self.downloads is not None:
            downloaded = f", {len(self.downloads.downloaded)} downloaded"
        return (
            '<div style="font-family:system-ui,sans-serif">'
            f"{len(self.items)} item{'' if len(self.items) == 1 else 's'} picked{downloaded} "
            f"in session <code>{_e(self.session.id or '')}</code>; "
            "<code>.items</code> has them, <code>.grid</code> shows them.</div>"
        )

    def __repr__(self) -> str:
        return f"<Picked {len(self.items)} items from session {self.session.id!r}>"


class _Display:
    """An updatable IPython display, or nothing outside IPython."""

    def __init__(self, enabled: bool) -> None:
        self._handle: Any = None
        self._display: Any = None
        if not enabled:
            return
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        self._display = display

    @property
    def active(self) -> bool:
        return self._display is not None

    def show(self, obj: object) -> None:
        if self._display is None:
            return
        if self._handle is None:
            self._handle = self._display(obj, display_id=True)
        else:
            self._handle.update(obj)

    def add(self, obj: object) -> None:
        if self._display is not None:
            self._display(obj)


class _Progress:
    """Counts items done: a tqdm bar, or (in a notebook without ipywidgets, where tqdm's
    notebook bar cannot draw) a note in the live session display; nothing when disabled."""

    def __init__(self, enabled: bool, total: int, desc: str, note: Callable[[str], None]) -> None:
        self._bar: Any = None
        self._note: Callable[[str], None] | None = None
        self._desc, self._total, self.done = desc, total, 0
        if not enabled or total == 0:
            return
        if note is not _ignore and importlib.util.find_spec("ipywidgets") is None:
            self._note = note
            note(f"{desc}: 0 of {total}")
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self._bar = tqdm(total=total, desc=desc, unit="item")

    def update(self, done: int) -> None:
        if done <= self.done:
            return
        if self._bar is not None:
            self._bar.update(done - self.done)
        if self._note is not None:
            self._note(f"{self._desc}: {done} of {self._total}")
        self.done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _ignore(text: str) -> None:
    del text


def pick(
    client: PickerClient,
    *,
    max_items: int | None = None,
    timeout: float | timedelta | None = 600,
    folder: str | os.PathLike[str] | None = None,
    fetch: Fetch | None = None,
    credentials: Credentials | None = None,
    media_hosts: Iterable[str] = (),
    display: bool = True,
    progress: bool = True,
    on_poll: Callable[[PickingSession], None] | None = None,
    cancel: threading.Event | None = None,
) -> Picked:
    """Create a session, show it, wait for the user, list and show the picked items.

    Runs inside :meth:`PickerClient.picking_session`, so the session is deleted however this
    ends: picked, timed out, failed, or stopped with the notebook's stop button
    (``KeyboardInterrupt``). Thumbnails are fetched before the session is deleted (its baseUrls
    stop working then).

    Args:
        max_items: the most items the user may pick (1 to 2000).
        timeout: give up waiting after this long (``PickingTimeout``); None waits as long as
            the service allows.
        folder: also download the picked items there with
            :meth:`PickerClient.download_session` (originals; videos still processing are
            skipped), before the session is deleted. See ``Picked.downloads``.
        fetch: fetches thumbnails; by default a :class:`ThumbnailFetcher` on the
            credentials, sending the token only to ``*.googleusercontent.com`` (https) and
            ``media_hosts``.
        credentials: for thumbnails; by default those the client was built with. A client
            over a bare ``http=`` transport has none: then the grid shows names only.
        media_hosts: origins besides Google's content hosts that may receive the token, for
            thumbnails and downloads: an emulator's ``media_url``, say. An ``http://`` origin
            must be a loopback address unless the client allows insecure http.
        display: show the session (with a live status) and the grid, when running in IPython.
        progress: show progress while thumbnails load and items download: a tqdm bar
            (``tqdm.auto``), or in a notebook without ipywidgets a count in the live
            session display.
        on_poll, cancel: passed on to :meth:`PickerClient.wait_for_selection`.

    Raises:
        ValueError, TypeError: an argument cannot work (``max_items`` out of range, a
            ``timeout`` that is not a positive number of seconds, a ``folder`` that cannot be
            written, a bad media host). These are checked before the session is created, so
            a mistake never costs the user a pick.
    """
    if max_items is not None:
        _checks.check_count(max_items, "max_items", 1, _checks.MAX_ITEM_COUNT)
    _checks.check_timeout(timeout)
    if folder is not None:
        _checks.check_folder(folder)
    hosts = list(media_hosts)
    # Checks the entries now, before a session is made.
    allowlist = HostAllowlist(
        [*DEFAULT_ALLOWED_HOSTS, *hosts], allow_insecure_http=client.allow_insecure_http
    )
    shown = _Display(display)
    clock = client.clock
    with client.picking_session(max_item_count=max_items) as session:
        started = clock.monotonic()
        polls = 0
        shown.show(SessionView(session, note="waiting…", now=clock.now()))

        def polled(state: PickingSession) -> None:
            nonlocal polls
            polls += 1
            waited = _span(timedelta(seconds=clock.monotonic() - started))
            note = f"polled {polls} time{'s' if polls != 1 else ''}, {waited} so far"
            shown.show(SessionView(state, note=note, now=clock.now()))
            if on_poll is not None:
                on_poll(state)

        final = client.wait_for_selection(session, timeout=timeout, on_poll=polled, cancel=cancel)
        shown.show(SessionView(final, note="listing the picked items…", now=clock.now()))
        items = client.list_media_items(final)
        if credentials is None:
            credentials = client.credentials
        if fetch is None and credentials is not None:
            fetch = ThumbnailFetcher(credentials, allowed_hosts=allowlist)
        grid = ItemGrid(items, fetch)
        count = f"{len(items)} item{'s' if len(items) != 1 else ''}"

        def note(text: str) -> None:
            shown.show(SessionView(final, note=f"{count} picked; {text}", now=clock.now()))

        live = note if shown.active else _ignore
        bar = _Progress(progress, len(items), "thumbnails", live)
        try:
            grid.load(lambda done, total: bar.update(done))
        finally:
            bar.close()
        downloads = None
        if folder is not None:
            bar = _Progress(progress, len(items), "downloads", live)
            try:
                downloads = client.download_session(
                    final,
                    folder,
                    media_hosts=hosts,
                    progress=lambda update: bar.update(update.items_done),
                )
            finally:
                bar.close()
        done = f"{count} picked"
        if downloads is not None:
            done += f", {len(downloads.downloaded)} downloaded"
        shown.show(SessionView(final, note=done, now=clock.now()))
    result = Picked(final, items, grid, downloads)
    shown.add(grid)
    return result
