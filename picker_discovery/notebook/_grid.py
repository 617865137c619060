"""Picked items as a grid of thumbnails, each embedded as a ``data:`` URI.

Everything shown is escaped: file names, ids and URIs come from the network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from picker_discovery.errors import MediaError, UntrustedMediaHost
from picker_discovery.models import MediaType, PickedMediaItem
from picker_discovery.notebook._render import _e, _filename, _item_facts
from picker_discovery.notebook._thumbnails import (
    THUMBNAIL_SIZE,
    Fetch,
    Thumbnail,
    _check_image,
    _short,
    thumbnail_url,
)

logger = logging.getLogger(__name__)


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
