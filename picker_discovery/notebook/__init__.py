"""Picker sessions and picked items in Jupyter: rich displays, thumbnails and a one-call flow.

::

    from picker_discovery.notebook import pick

    result = pick(client, max_items=10, timeout=600)  # shows the link and a QR code, waits
    result.items                                        # the picked PickedMediaItem list
    result.grid                                         # a grid of their thumbnails

A :class:`~picker_discovery.models.PickingSession` shows itself in a notebook (its
``_repr_html_`` calls :func:`session_html`): status, expiry, polling, the ``pickerUri`` as a
link that opens a new tab (Google Photos refuses to be shown in an iframe) and a QR code to
scan with a phone. The QR code needs `segno <https://pypi.org/project/segno/>`_
(``pip install 'picker-discovery[notebook]'``); without it the display says so.

Thumbnails: a ``baseUrl`` answers only with the bearer token, which an ``<img src=...>`` in the
browser cannot send. :class:`ItemGrid` fetches each ``baseUrl=w256-h256-c`` with a ``fetch``
function (by default a :class:`ThumbnailFetcher`, which sends the token only to allowlisted
hosts) and embeds the bytes as ``data:`` URIs.

Four rooms: ``_render`` (reprs and HTML; imports only the models, so showing a model loads no
HTTP library), ``_thumbnails`` (fetching thumbnails, on the downloader's host allowlist),
``_grid`` (:class:`ItemGrid`) and ``_pick`` (the :func:`pick` flow, on top of the client). The
names below are imported on first use (PEP 562), so the models reach the rendering without
loading the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from picker_discovery import _lazy

if TYPE_CHECKING:
    from picker_discovery._media.hosts import DEFAULT_ALLOWED_HOSTS as DEFAULT_ALLOWED_HOSTS
    from picker_discovery.errors import ThumbnailError as ThumbnailError
    from picker_discovery.notebook._grid import ItemGrid as ItemGrid
    from picker_discovery.notebook._pick import Picked as Picked, pick as pick
    from picker_discovery.notebook._render import (
        QR_MISSING_HINT as QR_MISSING_HINT,
        SessionView as SessionView,
        item_html as item_html,
        item_repr as item_repr,
        qr_png_data_uri as qr_png_data_uri,
        session_html as session_html,
        session_repr as session_repr,
    )
    from picker_discovery.notebook._thumbnails import (
        Fetch as Fetch,
        Thumbnail as Thumbnail,
        ThumbnailFetcher as ThumbnailFetcher,
        thumbnail_url as thumbnail_url,
    )

_RENDER = "picker_discovery.notebook._render"
_THUMBNAILS = "picker_discovery.notebook._thumbnails"
_GRID = "picker_discovery.notebook._grid"
_PICK = "picker_discovery.notebook._pick"

# Every public name and the module it lives in: __all__ is derived from this one table.
_WHERE: dict[str, str] = {
    "DEFAULT_ALLOWED_HOSTS": "picker_discovery._media.hosts",
    "Fetch": _THUMBNAILS,
    "ItemGrid": _GRID,
    "Picked": _PICK,
    "QR_MISSING_HINT": _RENDER,
    "SessionView": _RENDER,
    "Thumbnail": _THUMBNAILS,
    "ThumbnailError": "picker_discovery.errors",
    "ThumbnailFetcher": _THUMBNAILS,
    "item_html": _RENDER,
    "item_repr": _RENDER,
    "pick": _PICK,
    "qr_png_data_uri": _RENDER,
    "session_html": _RENDER,
    "session_repr": _RENDER,
    "thumbnail_url": _THUMBNAILS,
}

__all__ = sorted(_WHERE)

__getattr__, __dir__ = _lazy.exports(__name__, _WHERE, globals())
