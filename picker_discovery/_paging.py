"""Following ``nextPageToken`` to the end, safely (a leaf: imports only the error tree)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from picker_discovery.errors import RepeatedPageToken, TooManyPages

MAX_SESSION_ITEMS = 2000
"""The most items a session can hold (``pickingConfig.maxItemCount`` is at most 2000)."""
MAX_PAGES = 2 * MAX_SESSION_ITEMS + 1
"""The most pages one listing follows. Pages may be short, even empty: the worst listing of a
full session a server could honestly send is one item a page with an empty page after each,
then a last page, 4001 pages. A listing that goes past that, every token new, would never end;
at a tenth of a second a request it is stopped within about seven minutes, not never."""


def iter_pages(
    session_id: str,
    fetch: Callable[[str | None], Mapping[str, Any]],
    *,
    max_pages: int = MAX_PAGES,
) -> Iterator[Mapping[str, Any]]:
    """Yield ``fetch(page_token)`` answers from the first page to the last, lazily.

    Empty pages that carry a token are followed. A token the service already sent raises
    :class:`RepeatedPageToken`, and a token after ``max_pages`` pages :class:`TooManyPages`,
    instead of looping forever.
    """
    token: str | None = None
    seen: set[str] = set()
    pages = 0
    while True:
        page = fetch(token)
        pages += 1
        yield page
        next_token = page.get("nextPageToken")
        if not next_token:
            return
        if next_token in seen:
            raise RepeatedPageToken(session_id, next_token, pages=pages)
        if pages >= max_pages:
            raise TooManyPages(session_id, pages=pages)
        seen.add(next_token)
        token = next_token
