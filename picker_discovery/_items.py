"""Listing a session's picked items, and downloading them through the downloader."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Literal

from picker_discovery import _checks
from picker_discovery._arguments import _check_int, _session_id_of
from picker_discovery._clock import Clock, SystemClock
from picker_discovery._errors_auth import NoCredentials
from picker_discovery._execute import _Executing
from picker_discovery._paging import iter_pages
from picker_discovery.models import ListMediaItemsResponse, PickedMediaItem, PickingSession

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

    from picker_discovery._media.items import Size
    from picker_discovery._media.pool import Downloader
    from picker_discovery._media.results import Downloaded, DownloadResult, Skipped

MAX_PAGE_SIZE = 100


def make_downloader(
    credentials: Credentials | None,
    clock: Clock,
    allow_insecure_http: bool,
    media_hosts: Iterable[str],
    options: dict[str, Any],
) -> Downloader:
    """A client's :class:`~picker_discovery.Downloader`: see :meth:`_Items.downloader`."""
    from picker_discovery._media.hosts import DEFAULT_ALLOWED_HOSTS, HostAllowlist
    from picker_discovery._media.pool import Downloader

    if credentials is None:
        raise NoCredentials(
            "this client has no credentials to fetch media bytes with: build it with "
            "credentials=..., or make a picker_discovery.Downloader yourself"
        )
    if not isinstance(clock, SystemClock):
        options.setdefault("clock", clock.monotonic)
        options.setdefault("sleep", clock.sleep)
    allowed = HostAllowlist(
        [*DEFAULT_ALLOWED_HOSTS, *media_hosts], allow_insecure_http=allow_insecure_http
    )
    return Downloader(credentials, allowed_hosts=allowed, **options)


class _Items(_Executing):
    """Listing and downloading the items of a session (a base of :class:`PickerClient`)."""

    # -- listing ---------------------------------------------------------------------------

    def iter_media_items(
        self, session_id: PickingSession | str, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[PickedMediaItem]:
        """Yield every picked item of a session, following ``nextPageToken`` to the end.

        ``session_id`` may be a :class:`PickingSession`.

        Arguments are checked at once; requests are sent as the items are consumed. Empty
        pages that carry a token are followed. Items are read lazily: each field is parsed
        when first read, and one the service sent malformed raises ``MalformedResponse`` then.

        Raises:
            TypeError, ValueError: an argument is invalid; nothing was sent.
            MalformedResponse: a page's ``mediaItems`` is not an array of objects.
            FailedPrecondition: the user has not finished picking yet.
            RepeatedPageToken: the service sent a page token it had sent before.
            TooManyPages: the service sent more pages than a session of 2000 items can need
                (see :data:`picker_discovery._paging.MAX_PAGES`).
        """
        sid = _session_id_of(session_id)
        size = _check_int("page_size", page_size, 1, MAX_PAGE_SIZE)
        return self._lazy_pages(sid, size)

    def _lazy_pages(self, sid: str, size: int) -> Iterator[PickedMediaItem]:
        """The items of every page, as views over the answers (fields read on first access)."""
        for page in iter_pages(sid, lambda token: self._list_page(sid, token, size)):
            yield from ListMediaItemsResponse.from_answer(page).media_items

    def _pages(self, sid: str, size: int) -> Iterator[PickedMediaItem]:
        """The items of every page, each parsed whole (for the downloader's re-listing)."""
        from picker_discovery._media.listing import iter_listed  # only downloads need it

        for listed in iter_listed(sid, lambda _, token: self._list_page(sid, token, size)):
            yield listed.item

    def _list_page(self, sid: str, token: str | None, size: int = MAX_PAGE_SIZE) -> Any:
        """One ``mediaItems.list`` call, retried as the policy says; the answer as a dict."""
        params: dict[str, Any] = {"sessionId": sid, "pageSize": size}
        if token:
            params["pageToken"] = token
        request = self._media_items.list(**params)
        return self._execute("mediaItems.list", request, session_id=sid)

    def list_media_items(
        self, session_id: PickingSession | str, page_size: int = MAX_PAGE_SIZE
    ) -> list[PickedMediaItem]:
        """Every picked item of a session, from all pages. See :meth:`iter_media_items`."""
        return list(self.iter_media_items(session_id, page_size))

    # -- bytes -----------------------------------------------------------------------------

    def downloader(self, *, media_hosts: Iterable[str] = (), **options: Any) -> Downloader:
        """A :class:`~picker_discovery.Downloader` sending this client's credentials.

        The token goes only to Google's content hosts (``*.googleusercontent.com``) and the
        origins in ``media_hosts`` (an emulator's media origin, say). An ``http://`` origin
        must be a loopback address unless the client was made with ``allow_insecure_http``.
        ``options`` are the downloader's (``workers``, ``retry``, ``progress``,
        ``url_lifetime``, ...).

        Raises:
            NoCredentials: the client has no credentials to fetch bytes with (it was given a
                bare ``http`` or a service without credentials).
            ValueError: a media host is not a valid allowlist entry, or would receive the token
                over plain http off this machine.
        """
        return make_downloader(
            self._credentials, self._clock, self._allow_insecure_http, media_hosts, options
        )

    def download_session(
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
        """Download every picked item of a session into ``folder``; see :mod:`~.media`.

        The session is listed page by page as downloads proceed (and again when baseUrls
        expire), through this client, so listing is retried as its policy says.
        ``options`` go to :meth:`downloader`.
        """
        sid = _session_id_of(session)
        # Checked before anything is listed: a folder that cannot be written fails now, with
        # the session still there to download from again.
        _checks.check_folder(folder)
        downloader = self.downloader(media_hosts=media_hosts, **options)
        return downloader.download_session(
            sid,
            folder,
            lambda session_id, token: self._list_page(session_id, token),
            size=size,
            not_ready=not_ready,
            fail_fast=fail_fast,
        )

    def download(
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
        """Download one picked item into ``folder``.

        Given its ``session``, an expired baseUrl is renewed by listing the session again.

        Raises:
            MediaError: the item could not be downloaded (see :mod:`picker_discovery.errors`).
        """
        relist = None
        if session is not None:
            sid = _session_id_of(session)

            def relist() -> Iterator[PickedMediaItem]:
                return self._pages(sid, MAX_PAGE_SIZE)

        downloader = self.downloader(media_hosts=media_hosts, **options)
        return downloader.download(item, folder, relist=relist, size=size, not_ready=not_ready)
