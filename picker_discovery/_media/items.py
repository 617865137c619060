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
from picker_discovery.models import MediaFileMetadata, MediaType, PickedMediaItem, ProcessingStatus

MAX_DIMENSION = _checks.MAX_DIMENSION  # 16383
"""The largest width or height accepted for ``=wW-hH`` (the JPEG limit)."""


# --------------------------------------------------------------------------------------------
# Items


class _HasRaw(Protocol):
    @property
    def raw(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class ListedItem:
    """A picked item (a :class:`~picker_discovery.models.PickedMediaItem`) and when it was listed.

    ``listed_at`` is a reading of the downloader's clock (``time.monotonic`` by default) taken
    *before* the ``mediaItems.list`` request that returned the item, so the age of its baseUrl
    is never underestimated. :func:`~picker_discovery._media.listing.iter_listed` yields these.
    """

    item: PickedMediaItem
    listed_at: float


ItemLike = PickedMediaItem | Mapping[str, Any] | _HasRaw | ListedItem
"""A typed model, an item as the API answers it (a dict, parsed once on the way in), an object
with a ``.raw`` dict (or ``.to_dict()`` when built in code), or a ListedItem."""


def as_model(item: object) -> PickedMediaItem:
    """The item as a :class:`PickedMediaItem`: the one place a dict is turned into the model.

    Raises:
        MalformedResponse: a dict that is not a PickedMediaItem JSON object.
        BadArgumentType: anything else that is not an item.
    """
    if isinstance(item, PickedMediaItem):
        return item
    if isinstance(item, ListedItem):
        return item.item
    if isinstance(item, Mapping):
        return PickedMediaItem.from_dict(item)
    raw = getattr(item, "raw", None)
    if isinstance(raw, Mapping) and raw:
        return PickedMediaItem.from_dict(raw)
    to_dict = getattr(item, "to_dict", None)  # a model built in code has an empty .raw
    data = to_dict() if callable(to_dict) else None
    if isinstance(data, Mapping) and data:
        return PickedMediaItem.from_dict(data)
    raise BadArgumentType(
        "expected a PickedMediaItem, or one as the API returns it (a dict), or an object with "
        f"a non-empty .raw dict, not {type(item).__name__}"
    )


def _listed(item: object, stamp: float) -> ListedItem:
    return item if isinstance(item, ListedItem) else ListedItem(as_model(item), stamp)


def _id_of(item: object) -> str | None:
    """The item's id for a report, even from an item that could not be parsed."""
    if isinstance(item, ListedItem):
        item = item.item
    if isinstance(item, PickedMediaItem):
        return item.id
    item_id = item.get("id") if isinstance(item, Mapping) else None
    return item_id if isinstance(item_id, str) else None


def _item_id(item: PickedMediaItem) -> str:
    if not item.id:
        raise MediaError("a picked media item has no id; the listing answer is malformed")
    return item.id


def _filename(item: PickedMediaItem) -> str | None:
    return item.media_file.filename if item.media_file is not None else None


def _url(item: PickedMediaItem) -> str | None:
    return item.media_file.base_url if item.media_file is not None else None


def _mime_type(item: PickedMediaItem) -> str | None:
    return item.media_file.mime_type if item.media_file is not None else None


def _base_url(item: PickedMediaItem) -> str:
    url = _url(item)
    if not url:
        raise MediaError(
            f"item {item.id!r} has no mediaFile.baseUrl; list the session again to get one",
            item_id=item.id,
            filename=_filename(item),
        )
    return url


def _metadata(item: PickedMediaItem) -> MediaFileMetadata | None:
    return item.media_file.media_file_metadata if item.media_file is not None else None


def _processing_status(item: PickedMediaItem) -> str | None:
    """The video's ``processingStatus`` as sent (a value this version does not know too)."""
    metadata = _metadata(item)
    video = metadata.video_metadata if metadata is not None else None
    status = video.processing_status if video is not None else None
    if status is None:
        return None
    if status is ProcessingStatus.UNKNOWN and video is not None:
        sent = video.raw.get("processingStatus")
        return sent if isinstance(sent, str) else status.value
    return status.value


# --------------------------------------------------------------------------------------------
# Suffixes


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


def _kind(item: PickedMediaItem) -> Literal["photo", "video"]:
    if item.type is MediaType.VIDEO:
        return "video"
    if item.type is MediaType.PHOTO:
        return "photo"
    # TYPE_UNSPECIFIED, absent, or a type this library does not know: infer, photo by default.
    metadata = _metadata(item)
    if metadata is not None and metadata.video_metadata is not None:
        return "video"
    if metadata is not None and metadata.photo_metadata is not None:
        return "photo"
    mime = _mime_type(item)
    if mime is not None and mime.lower().startswith("video/"):
        return "video"
    return "photo"


def _variant(item: PickedMediaItem, size: Size | None) -> str:
    if _kind(item) == "video":
        return "dv"
    return size.variant if size is not None else "d"


def media_suffix(item: ItemLike, size: Size | None = None) -> str:
    """The suffix to append to the item's baseUrl: ``=d``, ``=dv`` or ``=wW-hH[-c]``.

    ``size`` applies to photos only; a video always gets ``=dv``.

    Raises:
        MediaNotReady: a video whose ``processingStatus`` is not ``READY`` (still processing,
            ``UNSPECIFIED`` or absent); list the session again later.
        MediaProcessingFailed: a video whose processing ``FAILED``; it will never be ready.
        MalformedResponse: an item given as a dict that is not a PickedMediaItem JSON object.
    """
    model = as_model(item)
    if _kind(model) == "video":
        status = _processing_status(model)
        item_id, name = model.id, _filename(model)
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
                status=status,
            )
    return "=" + _variant(model, size)
