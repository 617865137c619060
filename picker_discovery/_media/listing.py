"""Listing a session page by page, and re-listing it to renew expired baseUrls."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from picker_discovery._media.items import ItemLike, ListedItem, _id_of, _listed, _url
from picker_discovery._paging import iter_pages
from picker_discovery.errors import MalformedResponse, MediaUrlExpired
from picker_discovery.models import PickedMediaItem

_log = logging.getLogger(__name__)


class ListPage(Protocol):
    """One ``mediaItems.list`` call: the answer (a dict) for a session and page token."""

    def __call__(self, session_id: str, page_token: str | None, /) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Unparsed:
    """A listed entry that is not a PickedMediaItem: it fails alone, the listing goes on."""

    item_id: str | None
    error: MalformedResponse


def iter_entries(
    session_id: str, list_page: ListPage, *, clock: Callable[[], float] = time.monotonic
) -> Iterator[ListedItem | Unparsed]:
    """Yield a session's items page by page, each stamped with when its page was asked for.

    Each item is parsed once into a :class:`~picker_discovery.models.PickedMediaItem`; one
    that cannot be is yielded as :class:`Unparsed`, so the downloader fails that item alone.
    Pages are fetched lazily, as the items are consumed. A page token seen twice ends the
    listing with :class:`~picker_discovery.errors.RepeatedPageToken` rather than looping; a
    ``mediaItems`` that is not an array raises :class:`~picker_discovery.errors.MalformedResponse`.
    """
    stamp = 0.0

    def fetch(token: str | None) -> Mapping[str, Any]:
        nonlocal stamp
        stamp = clock()
        return list_page(session_id, token)

    for page in iter_pages(session_id, fetch):
        yield from page_entries(session_id, page, stamp)


def page_entries(
    session_id: str, page: Mapping[str, Any], stamp: float
) -> list[ListedItem | Unparsed]:
    """The entries of one ``mediaItems.list`` answer, each parsed once, stamped ``stamp``.

    Raises:
        MalformedResponse: ``mediaItems`` is not a JSON array.
    """
    entries = page.get("mediaItems")
    if entries is None:
        return []
    if not isinstance(entries, list | tuple):
        raise MalformedResponse(
            f"session {session_id}: ListMediaItemsResponse.mediaItems must be a JSON array, "
            f"not {type(entries).__name__}"
        )
    return [_parse(entry, index, stamp) for index, entry in enumerate(entries)]


def _parse(entry: object, index: int, stamp: float) -> ListedItem | Unparsed:
    if not isinstance(entry, Mapping):
        error = MalformedResponse(
            f"ListMediaItemsResponse.mediaItems[{index}] must be a JSON object, "
            f"not {type(entry).__name__}"
        )
        return Unparsed(None, error)
    try:
        return ListedItem(PickedMediaItem.from_dict(entry), stamp)
    except MalformedResponse as exc:
        return Unparsed(_id_of(entry), exc)


def iter_listed(
    session_id: str, list_page: ListPage, *, clock: Callable[[], float] = time.monotonic
) -> Iterator[ListedItem]:
    """:func:`iter_entries`, raising :class:`~picker_discovery.errors.MalformedResponse` at an
    item that is not a PickedMediaItem. ``PickerClient.iter_media_items`` yields its models."""
    for entry in iter_entries(session_id, list_page, clock=clock):
        if isinstance(entry, Unparsed):
            raise entry.error
        yield entry


class _Listings:
    """What renewing baseUrls by re-listing decides, without listing: whether the last
    re-listing serves an item, what a new one holds, and the errors of a failed renewal.
    :class:`_Refresher` lists through a plain callable; the asyncio client through its own."""

    def __init__(self, available: bool) -> None:
        self._available = available
        self._stamp: float | None = None
        self._items: dict[str, ListedItem] = {}
        self.count = 0

    @property
    def available(self) -> bool:
        return self._available

    def cached(
        self, item_id: str, newer_than: float, stale_url: str | None
    ) -> tuple[bool, ListedItem | None]:
        """``(True, item)`` when the last re-listing answers for the item (None: it is gone
        from the session), ``(False, None)`` when the session must be listed again.

        The last re-listing is reused when it is newer than ``newer_than`` or gave the item a
        baseUrl other than ``stale_url`` (the one that just failed); otherwise the session is
        listed again. So one re-listing renews every item whose URL expired at the same time.
        """
        cached = self._items.get(item_id) if self._stamp is not None else None
        if cached is not None and (
            cached.listed_at > newer_than
            or (stale_url is not None and _url(cached.item) != stale_url)
        ):
            return True, cached
        if self._stamp is not None and self._stamp > newer_than and cached is None:
            return True, None  # a listing made after this item's has it no more
        return False, None

    def store(self, entries: Iterable[ItemLike | Unparsed], stamp: float) -> None:
        """Keep a new re-listing, made at ``stamp``, skipping (and warning about) malformed
        items."""
        items: dict[str, ListedItem] = {}
        for entry in entries:
            if isinstance(entry, Unparsed):
                _log.warning("re-listing: skipping an item that is malformed: %s", entry.error)
                continue
            try:
                listed = _listed(entry, stamp)
            except MalformedResponse as exc:  # the others are still renewed
                _log.warning("re-listing: skipping an item that is malformed: %s", exc)
                continue
            if listed.item.id:
                items[listed.item.id] = listed
        self._stamp, self._items = stamp, items
        self.count += 1

    def item(self, item_id: str) -> ListedItem | None:
        """The item as the last re-listing gave it (None: not in it, or none was made)."""
        return self._items.get(item_id)

    def no_relist(self, item_id: str, filename: str | None) -> MediaUrlExpired:
        return MediaUrlExpired(
            f"item {item_id!r} ({filename}): its baseUrl has expired and no relist "
            "callable was given to renew it; list the session again and retry",
            item_id=item_id,
            filename=filename,
        )

    def relist_failed(self, item_id: str, filename: str | None, exc: Exception) -> MediaUrlExpired:
        return MediaUrlExpired(
            f"item {item_id!r} ({filename}): re-listing the session to renew its "
            f"baseUrl failed ({type(exc).__name__}: {exc}); the session may have expired: "
            "check it, or create a new session and pick again",
            item_id=item_id,
            filename=filename,
        )

    def gone(self, item_id: str, filename: str | None) -> MediaUrlExpired:
        return MediaUrlExpired(
            f"item {item_id!r} ({filename}): its baseUrl has expired and the item "
            "is no longer in the session when re-listed; the session may have expired or "
            "been deleted: create a new session and pick it again",
            item_id=item_id,
            filename=filename,
        )


class _Refresher(_Listings):
    """Renews baseUrls by re-listing the session; one re-list serves every item it returns."""

    def __init__(
        self,
        relist: Callable[[], Iterable[ItemLike | Unparsed]] | None,
        lock: threading.Lock,
        clock: Callable[[], float],
    ) -> None:
        super().__init__(relist is not None)
        self._relist = relist
        self._lock = lock
        self._clock = clock

    def lookup(
        self, item_id: str, newer_than: float, stale_url: str | None = None
    ) -> ListedItem | None:
        """The item as the session lists it now; None if it is no longer listed (see
        :meth:`_Listings.cached` for when the session is listed again)."""
        if self._relist is None:
            raise RuntimeError("no relist callable")
        with self._lock:
            hit, cached = self.cached(item_id, newer_than, stale_url)
            if hit:
                return cached
            stamp = self._clock()
            self.store(self._relist(), stamp)
            return self.item(item_id)

    def renew(
        self, item_id: str, filename: str | None, listed: ListedItem, *, expired: bool = False
    ) -> ListedItem:
        """The item from a newer listing (``expired``: its baseUrl was just refused).

        Raises:
            MediaUrlExpired: no relist callable, re-listing failed, or the item is gone.
        """
        if not self.available:
            raise self.no_relist(item_id, filename)
        stale = _url(listed.item) if expired else None
        try:
            fresh = self.lookup(item_id, listed.listed_at, stale)
        except Exception as exc:
            raise self.relist_failed(item_id, filename, exc) from exc
        if fresh is None:
            raise self.gone(item_id, filename)
        return fresh
