"""Following ``nextPageToken`` to the end, safely (a leaf: imports only the error tree)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from picker_discovery.errors import RepeatedPageToken


def iter_pages(
    session_id: str, fetch: Callable[[str | None], Mapping[str, Any]]
) -> Iterator[Mapping[str, Any]]:
    """Yield ``fetch(page_token)`` answers from the first page to the last, lazily.

    Empty pages that carry a token are followed. A token the service already sent raises
    :class:`RepeatedPageToken` instead of looping forever.
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
        seen.add(next_token)
        token = next_token
