"""Picked items as the downloader reads them: accessors, what kind an item is, and its suffix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from picker_discovery import _checks
from picker_discovery.errors import (
    BadArgument,
    BadArgumentType,
    MediaError,
    MediaNotReady,
    MediaProcessingFailed,
)

MAX_DIMENSION = _checks.MAX_DIMENSION  # 16383
"""The largest width or height accepted for ``=wW-hH`` (the JPEG limit)."""


# --------------------------------------------------------------------------------------------
# Items


class _HasRaw(Protocol):
    @property
    def raw(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class ListedItem:
    """A PickedMediaItem JSON object and when it was listed.

    ``listed_at`` is a reading of the downloader's clock (``time.monotonic`` by default) taken
    *before* the ``mediaItems.list`` request that returned the item, so the age of its baseUrl
    is never underestimated. :func:`iter_media_items` yields these.
    """

    item: Mapping[str, Any]
    listed_at: float


ItemLike = Mapping[str, Any] | _HasRaw | ListedItem
"""An item as the API answers it (a dict), a typed model (its ``.raw`` dict, or ``.to_dict()``
when built in code), or a ListedItem."""


def _raw(item: object) -> Mapping[str, Any]:
    if isinstance(item, ListedItem):
        return item.item
    if isinstance(item, Mapping):
        return item
    raw = getattr(item, "raw", None)
    if isinstance(raw, Mapping) and raw:
        return raw
    to_dict = getattr(item, "to_dict", None)  # a typed model built in code has an empty .raw
    data = to_dict() if callable(to_dict) else None
    if isinstance(data, Mapping) and data:
        return data
    raise BadArgumentType(
        "expected a PickedMediaItem as the API returns it (a dict), or an object with a "
        f"non-empty .raw dict, not {type(item).__name__}"
    )


def _listed(item: object, stamp: float) -> ListedItem:
    return item if isinstance(item, ListedItem) else ListedItem(_raw(item), stamp)


def _get(mapping: Mapping[str, Any], *keys: str) -> Any:
    value: Any = mapping
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _id_of(item: object) -> str | None:
    try:
        item_id = _raw(item).get("id")
    except TypeError:
        return None
    return item_id if isinstance(item_id, str) else None


def _item_id(raw: Mapping[str, Any]) -> str:
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not item_id:
        raise MediaError("a picked media item has no id; the listing answer is malformed")
    return item_id


def _filename(raw: Mapping[str, Any]) -> str | None:
    name = _get(raw, "mediaFile", "filename")
    return name if isinstance(name, str) else None


def _base_url(raw: Mapping[str, Any]) -> str:
    url = _get(raw, "mediaFile", "baseUrl")
    if not isinstance(url, str) or not url:
        raise MediaError(
            f"item {raw.get('id')!r} has no mediaFile.baseUrl; list the session again to get one",
            item_id=raw.get("id"),
            filename=_filename(raw),
        )
    return url


@dataclass(frozen=True)
class Size:
    """A bounding box for ``=wW-hH``: the image is scaled to fit, or cropped to it with ``crop``."""

    width: int
    height: int
    crop: bool = False

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise BadArgument(f"Size.{name} must be an int, not {value!r}")
            if not 1 <= value <= MAX_DIMENSION:
                raise BadArgument(f"Size.{name} must be between 1 and {MAX_DIMENSION}, not {value}")

    @property
    def variant(self) -> str:
        """The suffix without its ``=``: ``w256-h256-c``."""
        return f"w{self.width}-h{self.height}" + ("-c" if self.crop else "")


def _kind(raw: Mapping[str, Any]) -> Literal["photo", "video"]:
    kind = raw.get("type")
    if kind == "VIDEO":
        return "video"
    if kind == "PHOTO":
        return "photo"
    # TYPE_UNSPECIFIED, absent, or a type this library does not know: infer, photo by default.
    metadata = _get(raw, "mediaFile", "mediaFileMetadata")
    if isinstance(metadata, Mapping) and "videoMetadata" in metadata:
        return "video"
    if isinstance(metadata, Mapping) and "photoMetadata" in metadata:
        return "photo"
    mime = _get(raw, "mediaFile", "mimeType")
    if isinstance(mime, str) and mime.lower().startswith("video/"):
        return "video"
    return "photo"


def _variant(raw: Mapping[str, Any], size: Size | None) -> str:
    if _kind(raw) == "video":
        return "dv"
    return size.variant if size is not None else "d"


def media_suffix(item: ItemLike, size: Size | None = None) -> str:
    """The suffix to append to the item's baseUrl: ``=d``, ``=dv`` or ``=wW-hH[-c]``.

    ``size`` applies to photos only; a video always gets ``=dv``.

    Raises:
        MediaNotReady: a video whose ``processingStatus`` is not ``READY`` (still processing,
            ``UNSPECIFIED`` or absent); list the session again later.
        MediaProcessingFailed: a video whose processing ``FAILED``; it will never be ready.
    """
    raw = _raw(item)
    if _kind(raw) == "video":
        status = _get(raw, "mediaFile", "mediaFileMetadata", "videoMetadata", "processingStatus")
        item_id, name = raw.get("id"), _filename(raw)
        if status == "FAILED":
            raise MediaProcessingFailed(
                f"video {item_id!r} ({name}): Google Photos failed to process it, so it cannot "
                "be downloaded; re-uploading it to Google Photos is the only fix",
                item_id=item_id,
                filename=name,
            )
        if status != "READY":
            raise MediaNotReady(
                f"video {item_id!r} ({name}) is not ready for download (processingStatus "
                f"{status or 'missing'}); list the session again later, or wait for it",
                item_id=item_id,
                filename=name,
                status=status if isinstance(status, str) else None,
            )
    return "=" + _variant(raw, size)
