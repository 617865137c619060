"""The generated models: up to date with the document, and parsing what the service sends."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from picker_discovery import models
from picker_discovery._clock import FakeClock
from picker_discovery._convert import thaw
from picker_discovery.models import (
    ListMediaItemsResponse,
    MediaType,
    PickedMediaItem,
    PickingConfig,
    PickingSession,
    PollingConfig,
    ProcessingStatus,
)
from picker_discovery.testing import canned

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "generate_models", ROOT / "tools" / "generate_models.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


def test_models_module_is_up_to_date_with_the_bundled_document() -> None:
    generator = _generator()
    document = json.loads((ROOT / "discovery_cache" / "photospicker.v1.json").read_text("utf-8"))
    expected = generator.render(document)
    actual = (ROOT / "picker_discovery" / "models.py").read_text("utf-8")
    assert actual == expected, "picker_discovery/models.py is out of date: run `make generate`"
    assert document["revision"] == models.REVISION


def test_generator_notices_a_changed_document() -> None:
    generator = _generator()
    document = json.loads((ROOT / "discovery_cache" / "photospicker.v1.json").read_text("utf-8"))
    document["schemas"]["PollingConfig"]["properties"]["jitter"] = {
        "type": "string",
        "format": "google-duration",
    }
    text = generator.render(document)
    assert "jitter: timedelta | None = None" in text
    assert text != (ROOT / "picker_discovery" / "models.py").read_text("utf-8")


def test_generator_refuses_a_shape_it_does_not_know() -> None:
    generator = _generator()
    document = {"schemas": {"X": {"properties": {"blob": {"type": "any"}}}}}
    with pytest.raises(SystemExit, match=r"X\.blob"):
        generator.render(document)


def test_polling_session_parses_durations_timestamps_and_int64() -> None:
    made = datetime(2031, 5, 4, 10, 0, 0, 123456, tzinfo=timezone.utc)
    clock = FakeClock(start=made)
    session = PickingSession.from_dict(canned.body("sessions.create", clock=clock))
    assert session.id == canned.SESSION_ID
    assert session.picker_uri == canned.PICKER_URI
    assert session.media_items_set is False
    assert session.polling_config == PollingConfig(
        poll_interval=timedelta(seconds=5), timeout_in=timedelta(seconds=1800)
    )
    assert session.expire_time == datetime(2031, 5, 11, 10, 0, 0, 123456, tzinfo=timezone.utc)
    assert session.picking_config is not None
    assert session.picking_config.max_item_count == 2000
    assert session.raw == canned.body("sessions.create", clock=clock)


def test_picked_session_has_no_polling_config() -> None:
    session = PickingSession.from_dict(canned.body("sessions.get.picked"))
    assert session.media_items_set is True
    assert session.polling_config is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5s", timedelta(seconds=5)),
        ("3.5s", timedelta(seconds=3, milliseconds=500)),
        ("0.033333335s", timedelta(microseconds=33333)),
        ("1800s", timedelta(minutes=30)),
        ("0s", timedelta(0)),
        ("0.000000001s", timedelta(0)),
    ],
)
def test_fractional_durations(text: str, expected: timedelta) -> None:
    config = PollingConfig.from_dict({"pollInterval": text, "timeoutIn": text})
    assert config.poll_interval == expected
    assert config.timeout_in == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-02-27T23:34:05.466Z", datetime(2025, 2, 27, 23, 34, 5, 466000, tzinfo=timezone.utc)),
        (
            "2025-02-27T23:34:05.466123456Z",
            datetime(2025, 2, 27, 23, 34, 5, 466123, tzinfo=timezone.utc),
        ),
        ("2025-03-01T08:00:00Z", datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)),
        ("2025-03-01T09:30:00+01:30", datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)),
    ],
)
def test_timestamps_are_aware_utc(text: str, expected: datetime) -> None:
    item = PickedMediaItem.from_dict({"createTime": text})
    assert item.create_time == expected
    assert item.create_time is not None and item.create_time.tzinfo is not None


def test_photo_item_with_numbers_as_json_numbers() -> None:
    page = ListMediaItemsResponse.from_dict(canned.body("mediaItems.list"))
    photo, video = page.media_items
    assert page.next_page_token is None
    assert photo.type is MediaType.PHOTO
    assert photo.media_file is not None
    metadata = photo.media_file.media_file_metadata
    assert metadata is not None
    assert (metadata.width, metadata.height) == (4032, 3024)
    assert metadata.photo_metadata is not None
    assert metadata.photo_metadata.aperture_f_number == 2.0
    assert isinstance(metadata.photo_metadata.aperture_f_number, float)
    assert metadata.photo_metadata.iso_equivalent == 52
    assert metadata.photo_metadata.exposure_time == timedelta(microseconds=33333)
    assert metadata.video_metadata is None
    assert video.type is MediaType.VIDEO
    assert video.media_file is not None and video.media_file.media_file_metadata is not None
    video_metadata = video.media_file.media_file_metadata.video_metadata
    assert video_metadata is not None
    assert video_metadata.processing_status is ProcessingStatus.READY
    assert video_metadata.fps == 30.0


def test_width_as_decimal_string_or_integral_float_is_accepted() -> None:
    metadata = models.MediaFileMetadata.from_dict({"width": "4032", "height": 3024.0})
    assert (metadata.width, metadata.height) == (4032, 3024)


def test_unknown_enum_value_is_kept_raw_and_written_back() -> None:
    item = PickedMediaItem.from_dict({"id": "x", "type": "MOTION_PHOTO"})
    assert item.type is MediaType.UNKNOWN
    assert item.raw["type"] == "MOTION_PHOTO"
    assert item.to_dict() == {"id": "x", "type": "MOTION_PHOTO"}


def test_unknown_fields_are_kept_in_extra_and_written_back() -> None:
    data = canned.body("sessions.create")
    data["pickingConfig"]["showZeroState"] = True
    data["newField"] = {"nested": [1, 2]}
    session = PickingSession.from_dict(data)
    assert thaw(session.extra) == {"newField": {"nested": [1, 2]}}
    assert session.extra["newField"]["nested"] == (1, 2)  # read-only all the way down
    assert session.picking_config is not None
    assert session.picking_config.show_zero_state is True
    again = PickingSession.from_dict(session.to_dict())
    assert again == session
    assert again.to_dict()["newField"] == {"nested": [1, 2]}


def test_to_dict_writes_wire_formats() -> None:
    assert PickingConfig(max_item_count=24).to_dict() == {"maxItemCount": "24"}
    config = PollingConfig(poll_interval=timedelta(seconds=3.5), timeout_in=timedelta(0))
    assert config.to_dict() == {"pollInterval": "3.500s", "timeoutIn": "0s"}
    stamp = datetime(2025, 2, 27, 23, 34, 5, 466000, tzinfo=timezone.utc)
    assert PickedMediaItem(create_time=stamp).to_dict() == {
        "createTime": "2025-02-27T23:34:05.466Z"
    }
    with pytest.raises(ValueError, match="aware"):
        PickedMediaItem(create_time=datetime(2025, 1, 1)).to_dict()


def test_every_canned_success_round_trips() -> None:
    for name, cls in [
        ("sessions.create", PickingSession),
        ("sessions.get.picked", PickingSession),
        ("mediaItems.list", ListMediaItemsResponse),
        ("mediaItems.list.first_page", ListMediaItemsResponse),
        ("mediaItems.list.empty_page", ListMediaItemsResponse),
    ]:
        model = cls.from_dict(canned.body(name))  # type: ignore[attr-defined]
        assert cls.from_dict(model.to_dict()) == model, name  # type: ignore[attr-defined]


def test_models_are_immutable() -> None:
    session = PickingSession.from_dict(canned.body("sessions.create"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        session.id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        session.raw["id"] = "other"  # type: ignore[index]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"pollInterval": "3.5"}, r"PollingConfig\.pollInterval must be a duration"),
        ({"pollInterval": 5}, r"PollingConfig\.pollInterval must be a string, not a number"),
        ({"timeoutIn": "soon"}, r"PollingConfig\.timeoutIn must be a duration"),
    ],
)
def test_malformed_values_name_schema_and_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PollingConfig.from_dict(data)


def test_malformed_nested_values() -> None:
    with pytest.raises(ValueError, match=r"PickingSession\.expireTime must be an RFC 3339"):
        PickingSession.from_dict({"expireTime": "tomorrow"})
    with pytest.raises(ValueError, match=r"MediaFileMetadata\.width must be an integer"):
        models.MediaFileMetadata.from_dict({"width": 1.5})
    with pytest.raises(ValueError, match=r"MediaFileMetadata\.width must be an integer"):
        models.MediaFileMetadata.from_dict({"width": True})
    with pytest.raises(ValueError, match=r"PickingSession\.mediaItemsSet must be true or false"):
        PickingSession.from_dict({"mediaItemsSet": "yes"})
    with pytest.raises(ValueError, match=r"ListMediaItemsResponse\.mediaItems\[1\]"):
        ListMediaItemsResponse.from_dict({"mediaItems": [{}, "x"]})
    with pytest.raises(TypeError, match="PickingSession must be a JSON object"):
        PickingSession.from_dict([])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "stamp",
    [
        "2025-02-27T23:34:05Z",
        "2025-02-27T23:34:05.466Z",
        "2025-02-27T23:34:05.123456789Z",
        "2025-02-27T23:34:05.5+05:30",
        "2025-02-27T23:34:05-08:00",
        "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
    ],
)
def test_timestamps_parse_as_protobuf_parses_them(stamp: str) -> None:
    from google.protobuf import timestamp_pb2

    expected = timestamp_pb2.Timestamp()
    expected.FromJsonString(stamp)
    item = PickedMediaItem.from_dict({"createTime": stamp})
    assert item.create_time == expected.ToDatetime(tzinfo=timezone.utc)
    assert item.create_time is not None and item.create_time.tzinfo is timezone.utc


@pytest.mark.parametrize(
    "stamp", ["2025-02-27", "2025-02-27 23:34:05Z", "20250227T233405Z", "2025-02-30T00:00:00Z"]
)
def test_what_is_not_rfc_3339_is_refused(stamp: str) -> None:
    with pytest.raises(ValueError, match=r"PickedMediaItem\.createTime must be an RFC 3339"):
        PickedMediaItem.from_dict({"createTime": stamp})
