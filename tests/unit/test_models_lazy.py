"""Answers read lazily: ``from_answer`` costs no copy and reads each field on first access,
giving the same models as ``from_dict``; a malformed field fails when read, naming itself."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from googleapiclient.http import HttpMockSequence
from hypothesis import given, strategies as st

from picker_discovery import PickerClient, models
from picker_discovery._wire import parse_duration, parse_timestamp
from picker_discovery.errors import MalformedResponse
from picker_discovery.models import ListMediaItemsResponse, PickedMediaItem, PickingSession
from picker_discovery.testing import canned
from tests.unit.test_fuzz_models import MODELS, hostile, well_formed


@pytest.mark.fuzz
@given(st.sampled_from(MODELS).flatmap(lambda name: st.tuples(st.just(name), well_formed(name))))
def test_an_answer_read_lazily_is_the_model_read_at_once(case: tuple[str, dict[str, Any]]) -> None:
    schema, data = case
    cls = getattr(models, schema)
    lazy, eager = cls.from_answer(copy.deepcopy(data)), cls.from_dict(data)
    assert lazy == eager
    assert lazy.to_dict() == eager.to_dict()
    assert repr(lazy) == repr(eager)


@pytest.mark.fuzz
@given(st.sampled_from(MODELS).flatmap(lambda name: st.tuples(st.just(name), hostile(name))))
def test_what_from_dict_refuses_fails_when_read_lazily(case: tuple[str, dict[str, Any]]) -> None:
    schema, data = case
    cls = getattr(models, schema)
    try:
        cls.from_dict(data)
    except MalformedResponse as refused:
        lazy = cls.from_answer(data)  # nothing is read yet, so nothing fails yet
        with pytest.raises(MalformedResponse) as caught:
            lazy.to_dict()  # reads every field
        assert str(caught.value).split(" ")[0] == str(refused).split(" ")[0]
    else:
        assert cls.from_answer(data).to_dict() == cls.from_dict(data).to_dict()


def test_a_malformed_field_fails_alone_when_it_is_read() -> None:
    item = PickedMediaItem.from_answer(
        {"id": "P1", "createTime": "yesterday", "mediaFile": {"baseUrl": 5}}
    )
    assert item.id == "P1"
    with pytest.raises(MalformedResponse, match=r"PickedMediaItem\.createTime"):
        item.create_time  # noqa: B018
    assert item.media_file is not None
    with pytest.raises(MalformedResponse, match=r"MediaFile\.baseUrl must be a string"):
        item.media_file.base_url  # noqa: B018


def test_a_lazy_model_stays_frozen_and_a_dataclass() -> None:
    session = PickingSession.from_answer(canned.body("sessions.create"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        session.id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        session.raw["id"] = "other"  # type: ignore[index]
    with pytest.raises(TypeError):
        session.raw["pollingConfig"]["pollInterval"] = "1s"
    changed = dataclasses.replace(session, id="other")
    assert changed.id == "other" and changed.polling_config == session.polling_config
    with pytest.raises(AttributeError, match="no_such_field"):
        session.no_such_field  # noqa: B018


def test_a_field_is_read_once_and_kept() -> None:
    data = canned.body("sessions.create")
    session = PickingSession.from_answer(data)
    first = session.polling_config
    assert first is not None and session.polling_config is first
    assert session.expire_time is session.expire_time


def test_a_page_with_entries_that_are_not_objects_fails_when_its_items_are_read() -> None:
    page = ListMediaItemsResponse.from_answer({"mediaItems": [{"id": "a"}, 5]})
    with pytest.raises(MalformedResponse, match=r"mediaItems\[1\] must be a JSON object"):
        page.media_items  # noqa: B018


def test_the_client_reads_a_page_lazily_and_a_bad_item_fails_alone() -> None:
    body = {
        "mediaItems": [
            {"id": "A", "createTime": "2025-02-27T23:34:05Z", "type": "PHOTO"},
            {"id": "B", "createTime": "not a time", "type": "PHOTO"},
        ]
    }
    http = HttpMockSequence([({"status": "200"}, json.dumps(body).encode())])
    client = PickerClient(http=http, journal=False)
    first, second = client.list_media_items("s1")
    assert [first.id, second.id] == ["A", "B"]
    assert first.create_time == datetime(2025, 2, 27, 23, 34, 5, tzinfo=timezone.utc)
    with pytest.raises(MalformedResponse, match=r"PickedMediaItem\.createTime"):
        second.create_time  # noqa: B018


def test_get_session_reads_lazily() -> None:
    body = dict(canned.body("sessions.get.picked"), expireTime="garbage")
    http = HttpMockSequence([({"status": "200"}, json.dumps(body).encode())])
    session = PickerClient(http=http, journal=False).get_session("s1")
    assert session.media_items_set is True
    with pytest.raises(MalformedResponse, match=r"PickingSession\.expireTime"):
        session.expire_time  # noqa: B018


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-02-27T23:34:05.466123456Z", datetime(2025, 2, 27, 23, 34, 5, 466123)),
        ("2025-03-01T00:30:00+01:00", datetime(2025, 2, 28, 23, 30)),
        ("2024-02-29T23:59:59.5-00:30", datetime(2024, 3, 1, 0, 29, 59, 500000)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1)),
    ],
)
def test_timestamps_are_read_with_the_standard_library(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected.replace(tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "text",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-00:01", "2025-02-29T00:00:00Z", "x"],
)
def test_timestamps_outside_the_calendar_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-0.5s", timedelta(milliseconds=-500)),
        ("-1.000001999s", timedelta(seconds=-1, microseconds=-1)),
        ("315576000000s", timedelta(seconds=315_576_000_000)),
        ("00000000000000001s", timedelta(seconds=1)),
    ],
)
def test_durations_are_read_with_the_standard_library(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["315576000000.000000001s", "1e3s", "+5s", " 5s", "5", "5.s"])
def test_durations_out_of_range_or_shape_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_a_repr_never_raises_and_shows_what_cannot_be_read() -> None:
    session = PickingSession.from_answer({"id": 5, "mediaItemsSet": True})
    assert repr(session) == (
        "PickingSession(expire_time=None, id=<malformed>, media_items_set=True, "
        "picker_uri=None, picking_config=None, polling_config=None, extra=mappingproxy({}))"
    )
    assert "&lt;malformed&gt;" in session._repr_html_()
    item = PickedMediaItem.from_answer({"id": "P1", "mediaFile": {"mimeType": 7}})
    assert "media_file=MediaFile(" in repr(item) and "mime_type=<malformed>" in repr(item)
    config = models.PollingConfig.from_answer({"pollInterval": "soon"})
    assert repr(config).startswith("PollingConfig(poll_interval=<malformed>, timeout_in=None")
