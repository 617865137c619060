"""Listing a session's picked items, and downloading them, for asyncio.

Listing is asynchronous, page by page, with the synchronous client's guards (a repeated page
token, too many pages). Downloading runs on the event loop (:mod:`._downloads`,
:mod:`._transfer`): the bytes stream over the client's httpx client, while file names, the
folder and its manifest, each item's plan, resuming and its decisions, the media host
allowlist and the results are the :class:`~picker_discovery.Downloader`'s own pieces, so a
download keeps the same guarantees over either client. Cancelling the awaiting task stops
every transfer at once: no part file is left, no final name holds a partial file.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from picker_discovery import _checks
from picker_discovery._aio._downloads import download_all
from picker_discovery._arguments import _check_int, _session_id_of
from picker_discovery._clock import Clock
from picker_discovery._items import MAX_PAGE_SIZE, make_downloader
from picker_discovery._media.listing import Unparsed, page_entries
from picker_discovery._paging import PageTokens
from picker_discovery.errors import BadArgument, PickerError
from picker_discovery.models import PickedMediaItem, PickingSession

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

    from picker_discovery._aio._send import Sender
    from picker_discovery._media.items import ListedItem, Size
    from picker_discovery._media.pool import Downloader
    from picker_discovery._media.results import Downloaded, DownloadResult, Skipped
    from picker_discovery._service_types import MediaItemsResource


class _AsyncItems:
    """Listing and downloading the items of a session (a base of ``AsyncPickerClient``)."""

    _credentials: Credentials | None
    _clock: Clock
    _allow_insecure_http: bool
    _media_items: MediaItemsResource
    _sender: Sender

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
        """A synchronous :class:`~picker_discovery.Downloader` sending this client's
        credentials (``requests`` on worker threads), for code outside the event loop; see
        :meth:`PickerClient.downloader`. This client's own :meth:`download_session` and
        :meth:`download` send with httpx on the event loop instead."""
        return make_downloader(
            self._credentials, self._clock, self._allow_insecure_http, media_hosts, options
        )

    def _download_settings(self, media_hosts: Iterable[str], options: dict[str, Any]) -> Downloader:
        """The downloader's options, checked as :class:`~picker_discovery.Downloader` checks
        them; it only holds them (it never sends: this client's httpx client does)."""
        from picker_discovery._media.hosts import DEFAULT_ALLOWED_HOSTS, HostAllowlist
        from picker_discovery._media.pool import Downloader

        refused = sorted({"session_factory", "clock", "sleep"} & set(options))
        if refused:
            raise BadArgument(
                f"{', '.join(refused)}: not an option of AsyncPickerClient downloads, which send "
                "with the client's httpx client on the client's clock; give the client "
                "transport=, http_client= or clock= instead"
            )
        allowed = HostAllowlist(
            [*DEFAULT_ALLOWED_HOSTS, *media_hosts], allow_insecure_http=self._allow_insecure_http
        )
        return Downloader(session_factory=_sent_with_httpx, allowed_hosts=allowed, **options)

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
        :meth:`PickerClient.download_session` (the same names, manifest, resuming, allowlist
        and results). The session is listed through this client page by page as downloads
        proceed, and the bytes stream over its httpx client, ``workers`` items at once.

        ``options``: the :class:`~picker_discovery.Downloader`'s ``workers``, ``retry``,
        ``progress``, ``url_lifetime``, ``wait_interval``, ``wait_timeout``, ``chunk_size``
        and ``timeout``. The token goes to ``*.googleusercontent.com`` over https and the
        origins in ``media_hosts`` only. Cancelling the awaiting task stops every transfer at
        once; no part file is left and no final name holds a partial file.
        """
        sid = _session_id_of(session)
        _checks.check_folder(folder)
        settings = self._download_settings(media_hosts, options)

        async def relist() -> list[ListedItem | Unparsed]:
            return [entry async for entry in self._entries(sid)]

        return await download_all(
            settings,
            self._sender,
            self._clock,
            self._entries(sid),
            folder,
            relist=relist,
            size=size,
            not_ready=not_ready,
            fail_fast=fail_fast,
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
        baseUrl is renewed by listing the session again. See :meth:`PickerClient.download`
        and :meth:`download_session`.

        Raises:
            MediaError: the item could not be downloaded (see :mod:`picker_discovery.errors`).
        """
        settings = self._download_settings(media_hosts, options)
        relist = None
        if session is not None:
            sid = _session_id_of(session)

            async def relist() -> list[ListedItem | Unparsed]:
                return [entry async for entry in self._entries(sid)]

        async def one() -> AsyncIterator[PickedMediaItem]:
            yield item

        result = await download_all(
            settings,
            self._sender,
            self._clock,
            one(),
            folder,
            relist=relist,
            size=size,
            not_ready=not_ready,
            fail_fast=True,
            items_total=1,
        )
        result.raise_for_failures()
        return result.downloaded[0] if result.downloaded else result.skipped[0]

    async def _entries(self, sid: str) -> AsyncIterator[ListedItem | Unparsed]:
        """The session's items page by page (with the listing's guards), each stamped with
        the client's clock before its page was asked for."""
        tokens = PageTokens(sid)
        token: str | None = None
        while True:
            stamp = self._clock.monotonic()
            page = await self._list_page(sid, token)
            for entry in page_entries(sid, page, stamp):
                yield entry
            token = tokens.after(page)
            if token is None:
                return


def _sent_with_httpx() -> Any:
    raise PickerError("AsyncPickerClient downloads send with httpx, never with requests")
