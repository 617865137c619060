"""The one-call flow: :func:`pick` creates a session, shows it, waits for the user, lists and
shows the picked items (and downloads them), and deletes the session however it ends.

It imports tqdm and IPython only when they are needed. Nothing is printed: displays go through
IPython's display machinery, and only when IPython is running.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from picker_discovery import _checks
from picker_discovery._media.hosts import DEFAULT_ALLOWED_HOSTS, HostAllowlist
from picker_discovery._media.results import DownloadResult
from picker_discovery.models import PickedMediaItem, PickingSession
from picker_discovery.notebook._grid import ItemGrid
from picker_discovery.notebook._render import SessionView, _e, _span
from picker_discovery.notebook._thumbnails import (
    _MAX_THUMBNAIL_BYTES as _MAX_THUMBNAIL_BYTES,  # re-exported: tests read the cap here
    Fetch,
    ThumbnailFetcher,
)

if TYPE_CHECKING:
    import os

    from google.auth.credentials import Credentials

    from picker_discovery._client import PickerClient


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
