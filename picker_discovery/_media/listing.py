"""Listing a session page by page, and re-listing it to renew expired baseUrls."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from picker_discovery._media.items import ItemLike, ListedItem, _listed, _url
from picker_discovery._paging import iter_pages
from picker_discovery.errors import MalformedResponse
from picker_discovery.models import ListMediaItemsResponse

_log = logging.getLogger(__name__)


class ListPage(Protocol):
    """One ``mediaItems.list`` call: the answer (a dict) for a session and page token."""

    def __call__(self, session_id: str, page_token: str | None, /) -> Mapping[str, Any]: ...


def iter_listed(
    session_id: str, list_page: ListPage, *, clock: Callable[[], float] = time.monotonic
) -> Iterator[ListedItem]:
    """Yield a session's items page by page, each stamped with when its page was asked for.

    Each page is parsed once into :class:`~picker_discovery.models.PickedMediaItem` models
    (``PickerClient.iter_media_items`` yields those models, from here). Pages are fetched
    lazily, as the items are consumed. A page token seen twice ends the listing with
    :class:`~picker_discovery.errors.RepeatedPageToken` rather than looping; a page that is
    not a ``mediaItems.list`` answer raises
    :class:`~picker_discovery.errors.MalformedResponse`.
    """
    stamp = 0.0

    def fetch(token: str | None) -> Mapping[str, Any]:
        nonlocal stamp
        stamp = clock()
        return list_page(session_id, token)

    for page in iter_pages(session_id, fetch):
        for item in ListMediaItemsResponse.from_dict(page).media_items:
            yield ListedItem(item, stamp)


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
                or (stale_url is not None and _url(cached.item) != stale_url)
            ):
                return cached
            if self._stamp is not None and self._stamp > newer_than and cached is None:
                return None  # a listing made after this item's has it no more
            stamp = self._clock()
            items: dict[str, ListedItem] = {}
            for entry in self._relist():
                try:
                    listed = _listed(entry, stamp)
                except MalformedResponse as exc:  # the others are still renewed
                    _log.warning("re-listing: skipping an item that is malformed: %s", exc)
                    continue
                if listed.item.id:
                    items[listed.item.id] = listed
            self._stamp, self._items = stamp, items
            self.count += 1
            return self._items.get(item_id)
