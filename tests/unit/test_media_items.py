"""The downloader reads items through the typed model: what it needs, from the model's fields."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from typing import Any

import pytest

from picker_discovery import errors
from picker_discovery._media.items import (
    ListedItem,
    Size,
    _base_url,
    _item_id,
    _kind,
    _processing_status,
    as_model,
    media_suffix,
)
from picker_discovery._media.listing import _Refresher, iter_listed
from picker_discovery.models import (
    MediaFile,
    MediaFileMetadata,
    MediaType,
    PhotoMetadata,
    PickedMediaItem,
    ProcessingStatus,
    VideoMetadata,
)

URL = "https://lh3.googleusercontent.com/x"


def photo(**fields: Any) -> PickedMediaItem:
    media = MediaFile(
        base_url=URL,
        filename="a.jpg",
        mime_type="image/jpeg",
        media_file_metadata=MediaFileMetadata(photo_metadata=PhotoMetadata()),
    )
    return dataclasses.replace(
        PickedMediaItem(id="P1", type=MediaType.PHOTO, media_file=media), **fields
    )


def video(status: ProcessingStatus | None, **fields: Any) -> PickedMediaItem:
    media = MediaFile(
        base_url=URL,
        filename="v.mp4",
        mime_type="video/mp4",
        media_file_metadata=MediaFileMetadata(
            video_metadata=VideoMetadata(processing_status=status)
        ),
    )
    return dataclasses.replace(
        PickedMediaItem(id="V1", type=MediaType.VIDEO, media_file=media), **fields
    )


def test_a_photo_built_in_code() -> None:
    item = photo()
    assert (_kind(item), _item_id(item), _base_url(item)) == ("photo", "P1", URL)
    assert media_suffix(item) == "=d"
    assert media_suffix(item, Size(64, 32, crop=True)) == "=w64-h32-c"


def test_a_ready_video_gets_its_bytes_whatever_the_size() -> None:
    assert media_suffix(video(ProcessingStatus.READY)) == "=dv"
    assert media_suffix(video(ProcessingStatus.READY), Size(10, 10)) == "=dv"


@pytest.mark.parametrize(
    ("status", "reported"),
    [
        (ProcessingStatus.PROCESSING, "PROCESSING"),
        (ProcessingStatus.UNSPECIFIED, "UNSPECIFIED"),
        (None, None),
    ],
)
def test_a_video_not_ready(status: ProcessingStatus | None, reported: str | None) -> None:
    with pytest.raises(errors.MediaNotReady) as caught:
        media_suffix(video(status))
    assert (caught.value.status, caught.value.item_id, caught.value.filename) == (
        reported,
        "V1",
        "v.mp4",
    )


def test_a_video_that_failed_processing() -> None:
    with pytest.raises(errors.MediaProcessingFailed) as caught:
        media_suffix(video(ProcessingStatus.FAILED))
    assert caught.value.item_id == "V1"


def test_a_status_this_version_does_not_know_is_reported_as_sent() -> None:
    item = PickedMediaItem.from_dict(
        {
            "id": "V2",
            "type": "VIDEO",
            "mediaFile": {
                "baseUrl": URL,
                "mediaFileMetadata": {"videoMetadata": {"processingStatus": "QUEUED"}},
            },
        }
    )
    assert _processing_status(item) == "QUEUED"
    with pytest.raises(errors.MediaNotReady) as caught:
        media_suffix(item)
    assert caught.value.status == "QUEUED"


@pytest.mark.parametrize("kind", [MediaType.TYPE_UNSPECIFIED, MediaType.UNKNOWN, None])
def test_an_unspecified_type_is_inferred(kind: MediaType | None) -> None:
    # from the metadata first...
    assert _kind(video(ProcessingStatus.READY, type=kind)) == "video"
    assert _kind(photo(type=kind)) == "photo"
    # ...then from the MIME type, else a photo
    bare = MediaFile(base_url=URL, mime_type="video/quicktime")
    assert _kind(PickedMediaItem(id="X", type=kind, media_file=bare)) == "video"
    bare = dataclasses.replace(bare, mime_type="image/png")
    assert _kind(PickedMediaItem(id="X", type=kind, media_file=bare)) == "photo"
    assert _kind(PickedMediaItem(id="X", type=kind)) == "photo"


def test_missing_fields_fail_the_item_with_what_to_do() -> None:
    with pytest.raises(errors.MediaError, match="no id"):
        _item_id(photo(id=None))
    with pytest.raises(errors.MediaError, match=r"no mediaFile\.baseUrl") as caught:
        _base_url(photo(media_file=None))
    assert caught.value.item_id == "P1"
    with pytest.raises(errors.MediaError, match="list the session again"):
        _base_url(photo(media_file=MediaFile(filename="a.jpg")))


def test_the_model_s_fields_count_not_the_json_it_was_parsed_from() -> None:
    listed = PickedMediaItem.from_dict(
        {"id": "P1", "type": "PHOTO", "mediaFile": {"baseUrl": URL, "mimeType": "image/jpeg"}}
    )
    ready = VideoMetadata(processing_status=ProcessingStatus.READY)
    assert listed.media_file is not None
    changed = dataclasses.replace(
        listed,
        type=MediaType.VIDEO,
        media_file=dataclasses.replace(
            listed.media_file,
            base_url=URL + "2",
            media_file_metadata=MediaFileMetadata(video_metadata=ready),
        ),
    )
    assert media_suffix(changed) == "=dv"
    assert _base_url(as_model(changed)) == URL + "2"


def test_dicts_are_parsed_once_at_the_edge() -> None:
    item = as_model({"id": "P1", "type": "PHOTO", "mediaFile": {"baseUrl": URL}})
    assert isinstance(item, PickedMediaItem) and as_model(item) is item
    assert as_model(ListedItem(item, 1.0)) is item
    with pytest.raises(errors.MalformedResponse, match="mediaFile"):
        as_model({"id": "P1", "mediaFile": "not an object"})
    with pytest.raises(errors.BadArgumentType):
        as_model(3)


def test_listing_yields_models_and_the_refresher_renews_from_them() -> None:
    pages: dict[str | None, Mapping[str, Any]] = {
        None: {"mediaItems": [photo().to_dict()], "nextPageToken": "t"},
        "t": {"mediaItems": [video(ProcessingStatus.READY).to_dict()]},
    }
    listed = list(iter_listed("S", lambda _, token: pages[token], clock=lambda: 5.0))
    assert [entry.item for entry in listed] == [photo(), video(ProcessingStatus.READY)]

    fresh = photo(media_file=MediaFile(base_url=URL + "/new"))
    refresher = _Refresher(lambda: [fresh, {"id": 7}], threading.Lock(), lambda: 9.0)
    found = refresher.lookup("P1", newer_than=5.0, stale_url=URL)
    assert found is not None and found.item is fresh and found.listed_at == 9.0
