"""Following ``nextPageToken`` to the end, safely (a leaf: imports only the error tree)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from picker_discovery._errors_session import RepeatedPageToken, TooManyPages

MAX_SESSION_ITEMS = 2000
"""The most items a session can hold (``pickingConfig.maxItemCount`` is at most 2000)."""
MAX_PAGES = 2 * MAX_SESSION_ITEMS + 1
"""The most pages one listing follows. Pages may be short, even empty: the worst listing of a
full session a server could honestly send is one item a page with an empty page after each,
then a last page, 4001 pages. A listing that goes past that, every token new, would never end;
at a tenth of a second a request it is stopped within about seven minutes, not never."""


class PageTokens:
    """The page tokens of one listing, checked: :meth:`after` gives the token of the next page
    (None after the last) or raises :class:`RepeatedPageToken` for a token the service already
    sent and :class:`TooManyPages` after ``max_pages`` pages. No I/O: the synchronous and the
    asyncio client fetch the pages their own way."""

    def __init__(self, session_id: str, *, max_pages: int = MAX_PAGES) -> None:
        self.session_id = session_id
        self.max_pages = max_pages
        self.pages = 0
        self._seen: set[str] = set()

    def after(self, page: Mapping[str, Any]) -> str | None:
        """The token to ask for the page after ``page`` with, or None when it was the last."""
        self.pages += 1
        next_token = page.get("nextPageToken")
        if not next_token:
            return None
        if next_token in self._seen:
            raise RepeatedPageToken(self.session_id, next_token, pages=self.pages)
        if self.pages >= self.max_pages:
            raise TooManyPages(self.session_id, pages=self.pages)
        self._seen.add(next_token)
        return str(next_token)


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
    tokens = PageTokens(session_id, max_pages=max_pages)
    token: str | None = None
    while True:
        page = fetch(token)
        yield page
        token = tokens.after(page)
        if token is None:
            return
