"""User code reading the typed models; `make test` runs mypy --strict over this file.

Every annotation below is checked by mypy: if a generated attribute lost or changed its type,
mypy (and so `make test`) would fail here, before any user did.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from typing_extensions import assert_type

from picker_discovery.models import (
    ListMediaItemsResponse,
    MediaFile,
    MediaFileMetadata,
    MediaType,
    PhotoMetadata,
    PickedMediaItem,
    PickingConfig,
    PickingSession,
    PollingConfig,
    ProcessingStatus,
    VideoMetadata,
)
from picker_discovery.testing import canned


def describe(item: PickedMediaItem) -> str:
    """What a user writes: walk the optional parts with narrowing, use the parsed values."""
    parts: list[str] = [item.id or "?"]
    if item.type is MediaType.VIDEO:
        parts.append("video")
    created: datetime | None = item.create_time
    if created is not None:
        parts.append(created.date().isoformat())
    file: MediaFile | None = item.media_file
    if file is not None and file.media_file_metadata is not None:
        metadata: MediaFileMetadata = file.media_file_metadata
        if metadata.width is not None and metadata.height is not None:
            parts.append(f"{metadata.width * metadata.height / 1e6:.1f} MP")
        photo: PhotoMetadata | None = metadata.photo_metadata
        if photo is not None and photo.exposure_time is not None:
            parts.append(f"1/{round(1 / photo.exposure_time.total_seconds())} s")
        video: VideoMetadata | None = metadata.video_metadata
        if video is not None and video.processing_status is ProcessingStatus.READY:
            parts.append("ready")
    return " ".join(parts)


def seconds_until_next_poll(session: PickingSession) -> float:
    config: PollingConfig | None = session.polling_config
    if config is None or config.poll_interval is None:
        return 0.0
    interval: timedelta = config.poll_interval
    return interval.total_seconds()


def test_typed_user_code_reads_parsed_values() -> None:
    page = ListMediaItemsResponse.from_dict(canned.body("mediaItems.list"))
    assert_type(page.media_items, tuple[PickedMediaItem, ...])
    assert_type(page.next_page_token, str | None)
    photo, video = page.media_items
    assert describe(photo).endswith("2025-02-27 12.2 MP 1/30 s")
    assert describe(video).endswith("video 2025-03-01 2.1 MP ready")


def test_typed_session_fields() -> None:
    session = PickingSession.from_dict(canned.body("sessions.create"))
    assert_type(session.media_items_set, bool)
    assert_type(session.expire_time, datetime | None)
    assert_type(session.picking_config, PickingConfig | None)
    assert seconds_until_next_poll(session) == 5.0
    assert session.picking_config is not None
    count: int | None = session.picking_config.max_item_count
    assert count == 2000
