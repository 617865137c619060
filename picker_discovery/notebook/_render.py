"""How sessions and picked items show themselves: plain reprs and HTML for Jupyter.

The models call these when shown (``repr()``, ``_repr_html_``), so this module imports only the
standard library (segno for the QR code, when shown) and reads the models through the Protocols
below: showing a model loads no HTTP library, and no import runs back to the models. Everything
shown is escaped: file names, ids and URIs come from the network.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol
from urllib.parse import urlsplit

# The shapes read here, as the models have them (picker_discovery.models): the models import this
# module to show themselves, so it names no model and imports nothing of the package.


class _Named(Protocol):
    @property
    def value(self) -> str: ...


class _PollingConfig(Protocol):
    @property
    def poll_interval(self) -> timedelta | None: ...
    @property
    def timeout_in(self) -> timedelta | None: ...


class _PickingConfig(Protocol):
    @property
    def max_item_count(self) -> int | None: ...


class PickingSession(Protocol):
    """What a session display reads (a :class:`picker_discovery.models.PickingSession`)."""

    @property
    def id(self) -> str | None: ...
    @property
    def expire_time(self) -> datetime | None: ...
    @property
    def media_items_set(self) -> bool: ...
    @property
    def picker_uri(self) -> str | None: ...
    @property
    def picking_config(self) -> _PickingConfig | None: ...
    @property
    def polling_config(self) -> _PollingConfig | None: ...


class _VideoMetadata(Protocol):
    @property
    def processing_status(self) -> _Named | None: ...


class _MediaFileMetadata(Protocol):
    @property
    def width(self) -> int | None: ...
    @property
    def height(self) -> int | None: ...
    @property
    def video_metadata(self) -> _VideoMetadata | None: ...


class _MediaFile(Protocol):
    @property
    def filename(self) -> str | None: ...
    @property
    def mime_type(self) -> str | None: ...
    @property
    def media_file_metadata(self) -> _MediaFileMetadata | None: ...


class PickedMediaItem(Protocol):
    """What an item display reads (a :class:`picker_discovery.models.PickedMediaItem`)."""

    @property
    def id(self) -> str | None: ...
    @property
    def type(self) -> _Named | None: ...
    @property
    def create_time(self) -> datetime | None: ...
    @property
    def media_file(self) -> _MediaFile | None: ...


QR_MISSING_HINT = "pip install 'picker-discovery[notebook]'"
"""What the session display suggests when segno (for the QR code) is not installed."""


def _e(value: object) -> str:
    """Escape any value for HTML text and attribute values (quotes included)."""
    return html.escape(str(value), quote=True)


# --------------------------------------------------------------------------------------------
# Words for times and durations


def _utc(when: datetime) -> datetime:
    return when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _span(delta: timedelta) -> str:
    """``timedelta`` in at most two units: ``6 days 23 hours``, ``4 min 10 s``, ``3.5 s``."""
    seconds = abs(delta.total_seconds())
    if seconds < 60:
        text = f"{seconds:.1f}".rstrip("0").rstrip(".")
        return f"{text} s"
    units = (("day", 86400), ("hour", 3600), ("min", 60), ("s", 1))
    parts: list[str] = []
    rest = int(seconds)
    for name, size in units:
        count, rest = divmod(rest, size)
        if count or parts:
            if count:
                plural = "s" if count != 1 and name in ("day", "hour") else ""
                parts.append(f"{count} {name}{plural}")
            if len(parts) == 2 or (parts and not count):
                break
    return " ".join(parts[:2])


def _stamp(when: datetime) -> str:
    return _utc(when).strftime("%Y-%m-%d %H:%M:%S UTC")


def _expiry(session: PickingSession, now: datetime) -> tuple[str, str]:
    """(relative, absolute) words for the session's expireTime."""
    if session.expire_time is None:
        return "unknown", "the service sent no expireTime"
    left = _utc(session.expire_time) - _utc(now)
    relative = f"in {_span(left)}" if left.total_seconds() > 0 else f"{_span(left)} ago"
    return relative, _stamp(session.expire_time)


def _polling(session: PickingSession) -> str:
    config = session.polling_config
    if config is None:
        return "none (the service stops sending it once items are picked)"
    every = f"every {_span(config.poll_interval)}" if config.poll_interval is not None else ""
    if config.timeout_in is None:
        limit = ""
    elif config.timeout_in.total_seconds() <= 0:
        limit = "stop polling now (timeoutIn is 0)"
    else:
        limit = f"for up to {_span(config.timeout_in)}"
    return ", ".join(p for p in (every, limit) if p) or "not given"


def _status(session: PickingSession, now: datetime) -> tuple[str, str]:
    """(word, colour) for the session's state."""
    if session.expire_time is not None and _utc(session.expire_time) <= _utc(now):
        return "expired", "#b3261e"
    if session.media_items_set:
        return "picked", "#1e7f34"
    return "waiting for the user to pick", "#8a5a00"


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(timezone.utc)


def _is_web_link(uri: str) -> bool:
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# --------------------------------------------------------------------------------------------
# QR code


def _qr_image(uri: str, side: int = 164) -> tuple[str, int] | str:
    """(PNG data URI, its width in pixels) of a QR code of ``uri``, or why there is none."""
    try:
        import segno
    except ImportError:
        return f"No QR code: {QR_MISSING_HINT} to scan the link with a phone."
    try:
        code = segno.make(uri, micro=False)
    except segno.DataOverflowError:
        return f"No QR code: the link is too long for one ({len(uri)} characters)."
    modules = int(code.symbol_size(scale=1, border=4)[0])
    scale = max(2, side // modules)  # whole pixels per module keep the edges sharp
    return str(code.png_data_uri(scale=scale, border=4)), modules * scale


def qr_png_data_uri(uri: str) -> str | None:
    """A ``data:image/png;base64,...`` QR code of ``uri``; ``None`` without segno, or when
    ``uri`` is too long for a QR code."""
    image = _qr_image(uri)
    return None if isinstance(image, str) else image[0]


# --------------------------------------------------------------------------------------------
# Sessions


def session_repr(session: PickingSession) -> str:
    """A short, plain ``repr`` for a session: what identifies it and where it stands."""
    expires = (
        _utc(session.expire_time).isoformat().replace("+00:00", "Z")
        if session.expire_time is not None
        else None
    )
    return (
        f"PickingSession(id={session.id!r}, media_items_set={session.media_items_set!r}, "
        f"expire_time={expires!r}, picker_uri={session.picker_uri!r})"
    )


_BOX = (
    "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:14px;color:#1f1f1f;"
    "background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px 16px;"
    "display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start;max-width:720px"
)
_TH = "text-align:left;padding:2px 12px 2px 0;color:#57606a;font-weight:normal;vertical-align:top"
_TD = "text-align:left;padding:2px 0;vertical-align:top"


def session_html(
    session: PickingSession,
    *,
    now: datetime | None = None,
    qr: bool = True,
    note: str | None = None,
) -> str:
    """The notebook display of a session, as an HTML fragment; every value is escaped.

    Args:
        now: the time to count the expiry from (the client's clock); the wall clock by default.
        qr: include a QR code of the ``pickerUri`` (needs segno) while the user can still pick.
        note: one more line of status text (say, how long the wait has run).
    """
    when = _now(now)
    word, colour = _status(session, when)
    relative, absolute = _expiry(session, when)
    rows = [
        (
            "status",
            f'<span style="color:{colour};font-weight:600">{_e(word)}</span>'
            + (f' <span style="color:#57606a">· {_e(note)}</span>' if note else ""),
        ),
        ("expires", f"{_e(relative)} <span style='color:#57606a'>({_e(absolute)})</span>"),
        ("polling", _e(_polling(session))),
    ]
    config = session.picking_config
    if config is not None and config.max_item_count is not None:
        rows.append(("at most", f"{_e(config.max_item_count)} items"))
    rows.append(("session id", f"<code>{_e(session.id or '(none)')}</code>"))
    table = "".join(
        f'<tr><th style="{_TH}">{_e(name)}</th><td style="{_TD}">{value}</td></tr>'
        for name, value in rows
    )
    uri = session.picker_uri or ""
    can_pick = bool(uri) and not session.media_items_set and word != "expired"
    if not uri:
        link = "<p>The service sent no pickerUri.</p>"
    elif not can_pick:
        link = (
            "<p style='color:#57606a'>The picker link has stopped working (the user tapped Done "
            f"or the session expired): <code>{_e(uri)}</code></p>"
        )
    elif _is_web_link(uri):
        link = (
            f'<p><a href="{_e(uri)}" target="_blank" rel="noopener noreferrer" '
            'style="font-weight:600">Open Google Photos to pick</a> '
            '<span style="color:#57606a">(opens a new tab: Google Photos cannot be shown '
            "inside the notebook)</span></p>"
            f'<p style="font-size:12px;word-break:break-all;color:#57606a">{_e(uri)}</p>'
        )
    else:  # not http(s): never make it a link
        link = f"<p>pickerUri (not a web link, not linked): <code>{_e(uri)}</code></p>"
    figure = ""
    if qr and can_pick:
        image = _qr_image(uri)
        if isinstance(image, str):
            figure = f'<div style="max-width:180px;color:#57606a;font-size:12px">{_e(image)}</div>'
        else:
            data_uri, side = image
            figure = (
                '<figure style="margin:0;text-align:center">'
                f'<img class="picker-qr" src="{_e(data_uri)}" width="{side}" height="{side}" '
                f'alt="QR code of the picker link" title="{_e(uri)}" '
                'style="image-rendering:pixelated;display:block">'
                '<figcaption style="font-size:12px;color:#57606a">scan with a phone</figcaption>'
                "</figure>"
            )
    return (
        f'<div class="picker-session" style="{_BOX}">'
        '<div style="flex:1 1 360px;min-width:0">'
        '<div style="font-weight:600;font-size:15px;margin-bottom:6px">'
        "Google Photos picking session</div>"
        f'<table style="border-collapse:collapse">{table}</table>{link}</div>{figure}</div>'
    )


@dataclass(frozen=True)
class SessionView:
    """A session with a line of live status, as :func:`pick` shows it while waiting."""

    session: PickingSession
    note: str | None = None
    now: datetime | None = None

    def _repr_html_(self) -> str:
        return session_html(self.session, now=self.now, note=self.note)

    def __repr__(self) -> str:
        note = f" {self.note}" if self.note else ""
        return session_repr(self.session) + note


# --------------------------------------------------------------------------------------------
# Items


def _filename(item: PickedMediaItem) -> str:
    media = item.media_file
    return (media.filename if media is not None else None) or "(no file name)"


def item_repr(item: PickedMediaItem) -> str:
    """A short, plain ``repr`` for a picked item."""
    media = item.media_file
    kind = item.type.value if item.type is not None else None
    return (
        f"PickedMediaItem(id={item.id!r}, type={kind!r}, "
        f"filename={media.filename if media else None!r}, "
        f"mime_type={media.mime_type if media else None!r})"
    )


def _item_facts(item: PickedMediaItem) -> str:
    media = item.media_file
    bits = [item.type.value if item.type is not None else "?"]
    if media is not None and media.mime_type:
        bits.append(media.mime_type)
    meta = media.media_file_metadata if media is not None else None
    if meta is not None and meta.width and meta.height:
        bits.append(f"{meta.width} x {meta.height}")
    if meta is not None and meta.video_metadata is not None:
        status = meta.video_metadata.processing_status
        if status is not None:
            bits.append(status.value.lower())
    return " · ".join(bits)


def item_html(item: PickedMediaItem) -> str:
    """One picked item as HTML (no thumbnail: that needs the token; see :class:`ItemGrid`)."""
    created = _stamp(item.create_time) if item.create_time else "unknown"
    return (
        f'<div class="picker-item" style="{_BOX}"><div>'
        f'<div style="font-weight:600;word-break:break-all">{_e(_filename(item))}</div>'
        f'<div style="color:#57606a">{_e(_item_facts(item))} · created {_e(created)}</div>'
        f'<div style="font-size:12px;color:#57606a">id <code>{_e(item.id or "")}</code></div>'
        "<div style='font-size:12px;color:#57606a'>Thumbnails need the access token: show "
        "<code>picker_discovery.notebook.ItemGrid(items, fetch=...)</code>.</div>"
        "</div></div>"
    )
