"""The records the fake service keeps: one per user (their library), one per session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from picker_discovery.testing.library import MediaItem

__all__ = ["Session", "User"]


@dataclass
class User:
    """A fake Google account, made the first time its token is seen."""

    token: str
    library: list[MediaItem]
    has_photos_account: bool = True
    has_picker_scope: bool = True
    _index: dict[str, MediaItem] = field(default_factory=dict, repr=False, compare=False)
    _indexed: tuple[int, int] = field(default=(0, -1), repr=False, compare=False)

    def item(self, item_id: str) -> MediaItem | None:
        """The library's item with this id (indexed; rebuilt when the library is replaced)."""
        key = (id(self.library), len(self.library))
        if key != self._indexed:
            self._index = {item.id: item for item in reversed(self.library)}
            self._indexed = key
        return self._index.get(item_id)


@dataclass
class Session:
    """A picking session and what was picked in it."""

    id: str
    owner: str
    create_time: datetime
    expire_time: datetime
    max_item_count: int
    picking_config: dict[str, Any]
    request_id: str | None = None
    picked: list[str] | None = None
    base_urls_issued: datetime | None = None
    media_keys: dict[str, str] = field(default_factory=dict)

    @property
    def media_items_set(self) -> bool:
        return self.picked is not None

    def expired(self, now: datetime) -> bool:
        return now >= self.expire_time
