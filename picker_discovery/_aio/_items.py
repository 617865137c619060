"""Listing a session's picked items, and downloading them, for asyncio.

Listing is asynchronous, page by page, with the synchronous client's guards (a repeated page
token, too many pages). Downloading reuses the :class:`~picker_discovery.Downloader` whole
(file names, the folder, its manifest, resuming, the media host allowlist, retries), run in a
worker thread so the event loop stays free; its listings go through this client's event loop.
Cancelling the awaiting task stops the run as Ctrl-C would: transfers are cut off, no part
file is left under a final name, and the cancellation goes on once the run has stopped.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from picker_discovery import _checks
from picker_discovery._arguments import _check_int, _session_id_of
from picker_discovery._clock import Clock
from picker_discovery._items import MAX_PAGE_SIZE, make_downloader
from picker_discovery._media.listing import Unparsed, page_entries
from picker_discovery._paging import PageTokens
from picker_discovery.models import PickedMediaItem, PickingSession

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

    from picker_discovery._media.items import Size
    from picker_discovery._media.pool import Downloader
    from picker_discovery._media.results import Downloaded, DownloadResult, Skipped
    from picker_discovery._service_types import MediaItemsResource

T = TypeVar("T")


class _AsyncItems:
    """Listing and downloading the items of a session (a base of ``AsyncPickerClient``)."""

    _credentials: Credentials | None
    _clock: Clock
    _allow_insecure_http: bool
    _media_items: MediaItemsResource

    async def _execute(self, method: str, request: Any, *, session_id: str | None) -> Any:
        raise NotImplementedError

    # -- listing ---------------------------------------------------------------------------

    def iter_media_items(
        self, session_id: PickingSession | str, page_size: int = MAX_PAGE_SIZE
    ) -> AsyncIterator[PickedMediaItem]:
        """Yield every picked item of a session (``async for``), page by page as consumed;
        see :meth:`PickerClient.iter_media_items`. Arguments are checked at once."""
        sid = _session_id_of(session_id)
        size = _check_int("page_size", page_size, 1, MAX_PAGE_SIZE)
        return self._pages(sid, size)

    async def _pages(self, sid: str, size: int) -> AsyncIterator[PickedMediaItem]:
        tokens = PageTokens(sid)
        token: str | None = None
        while True:
            page = await self._list_page(sid, token, size)
            for entry in page_entries(sid, page, 0.0):
                if isinstance(entry, Unparsed):
                    raise entry.error
                yield entry.item
            token = tokens.after(page)
            if token is None:
                return

    async def _list_page(
        self, sid: str, token: str | None, size: int = MAX_PAGE_SIZE
    ) -> Mapping[str, Any]:
        """One ``mediaItems.list`` call, retried as the policy says; the answer as a dict."""
        params: dict[str, Any] = {"sessionId": sid, "pageSize": size}
        if token:
            params["pageToken"] = token
        request = self._media_items.list(**params)
        data: Mapping[str, Any] = await self._execute("mediaItems.list", request, session_id=sid)
        return data

    async def list_media_items(
        self, session_id: PickingSession | str, page_size: int = MAX_PAGE_SIZE
    ) -> list[PickedMediaItem]:
        """Every picked item of a session, from all pages."""
        return [item async for item in self.iter_media_items(session_id, page_size)]

    # -- bytes -----------------------------------------------------------------------------

    def downloader(self, *, media_hosts: Iterable[str] = (), **options: Any) -> Downloader:
        """The :class:`~picker_discovery.Downloader` this client's downloads run on; see
        :meth:`PickerClient.downloader`."""
        return make_downloader(
            self._credentials, self._clock, self._allow_insecure_http, media_hosts, options
        )

    async def download_session(
        self,
        session: PickingSession | str,
        folder: str | os.PathLike[str],
        *,
        size: Size | None = None,
        not_ready: Literal["skip", "wait", "fail"] = "skip",
        fail_fast: bool = False,
        media_hosts: Iterable[str] = (),
        **options: Any,
    ) -> DownloadResult:
        """Download every picked item of a session into ``folder``; see
        :meth:`PickerClient.download_session`. The session is listed through this client."""
        sid = _session_id_of(session)
        _checks.check_folder(folder)
        downloader = self.downloader(media_hosts=media_hosts, **options)
        list_page = self._threaded_list_page(asyncio.get_running_loop())
        return await self._in_thread(
            functools.partial(
                downloader.download_session,
                sid,
                folder,
                list_page,
                size=size,
                not_ready=not_ready,
                fail_fast=fail_fast,
            )
        )

    async def download(
        self,
        item: PickedMediaItem,
        folder: str | os.PathLike[str],
        *,
        session: PickingSession | str | None = None,
        size: Size | None = None,
        not_ready: Literal["skip", "wait", "fail"] = "fail",
        media_hosts: Iterable[str] = (),
        **options: Any,
    ) -> Downloaded | Skipped:
        """Download one picked item into ``folder``; given its ``session``, an expired
        baseUrl is renewed by listing the session again. See :meth:`PickerClient.download`."""
        relist = None
        if session is not None:
            sid = _session_id_of(session)
            list_page = self._threaded_list_page(asyncio.get_running_loop())

            def relist() -> Iterator[PickedMediaItem]:
                return _listed_items(sid, list_page)

        downloader = self.downloader(media_hosts=media_hosts, **options)
        return await self._in_thread(
            functools.partial(
                downloader.download, item, folder, relist=relist, size=size, not_ready=not_ready
            )
        )

    def _threaded_list_page(
        self, loop: asyncio.AbstractEventLoop
    ) -> Callable[[str, str | None], Mapping[str, Any]]:
        """A ``list_page`` for the downloader's thread: each call runs on ``loop``."""

        def list_page(session_id: str, token: str | None) -> Mapping[str, Any]:
            return asyncio.run_coroutine_threadsafe(
                self._list_page(session_id, token), loop
            ).result()

        return list_page

    @staticmethod
    async def _in_thread(run: Callable[..., T]) -> T:
        """``run(stop=event)`` in a worker thread; a cancellation sets ``stop`` and waits
        for the run to wind down before it goes on."""
        stop = threading.Event()
        future = asyncio.get_running_loop().run_in_executor(None, functools.partial(run, stop=stop))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            stop.set()
            await asyncio.wait([future])
            raise


def _listed_items(
    sid: str, list_page: Callable[[str, str | None], Mapping[str, Any]]
) -> Iterator[PickedMediaItem]:
    """Every item of the session, through ``list_page`` (from the downloader's thread)."""
    tokens = PageTokens(sid)
    token: str | None = None
    while True:
        page = list_page(sid, token)
        for entry in page_entries(sid, page, 0.0):
            if isinstance(entry, Unparsed):
                raise entry.error
            yield entry.item
        token = tokens.after(page)
        if token is None:
            return
