"""The cheap ways of reading answers give what the careful way gives.

``create_session`` checks a whole answer at once without making its values
(``Model._checked``); items are made over a page with their plain strings read on the way
(``Model._VIEW``); timestamps in the usual shape go through the standard library's parser;
durations read before are remembered. Each must refuse exactly what the general path refuses,
with the same message, and give the same values.
"""

from __future__ import annotations

import copy
import string
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, strategies as st

from picker_discovery import models
from picker_discovery._wire import (
    MAX_DURATION_SECONDS,
    _parse_rfc3339,
    parse_duration,
    parse_timestamp,
)
from picker_discovery.errors import MalformedResponse
from picker_discovery.models import ListMediaItemsResponse, PickedMediaItem, PickingSession
from tests.unit.test_fuzz_models import MODELS, hostile, well_formed


@pytest.mark.fuzz
@given(st.sampled_from(MODELS).flatmap(lambda name: st.tuples(st.just(name), hostile(name))))
def test_a_check_refuses_what_from_dict_refuses(case: tuple[str, dict[str, Any]]) -> None:
    schema, data = case
    cls = getattr(models, schema)
    try:
        eager = cls.from_dict(copy.deepcopy(data))
    except MalformedResponse as refused:
        with pytest.raises(MalformedResponse) as caught:
            cls._checked(data)
        assert str(caught.value) == str(refused)
    else:
        checked = cls._checked(data)
        assert checked.to_dict() == eager.to_dict()  # every field read: none fails now
        assert checked == eager


@pytest.mark.fuzz
@given(st.sampled_from(MODELS).flatmap(lambda name: st.tuples(st.just(name), well_formed(name))))
def test_a_checked_answer_reads_as_the_answer_read_at_once(case: tuple[str, Any]) -> None:
    schema, data = case
    cls = getattr(models, schema)
    checked, eager = cls._checked(copy.deepcopy(data)), cls.from_dict(data)
    assert checked == eager
    assert repr(checked) == repr(eager)
    assert checked.raw == eager.raw


def test_a_check_keeps_the_values_it_read() -> None:
    # The poll step reads a session's timing fields on every poll: a check keeps what it
    # parsed instead of parsing it again on first access.
    answer: dict[str, Any] = {
        "id": "S1",
        "expireTime": "2030-01-01T00:00:00Z",
        "pollingConfig": {"pollInterval": "5s", "timeoutIn": "1800s"},
        "pickingConfig": {"maxItemCount": "20"},
    }
    session = PickingSession._checked(answer)
    answer["expireTime"] = "then"
    answer["pollingConfig"]["timeoutIn"] = "later"
    answer["pickingConfig"]["maxItemCount"] = "many"
    assert session.expire_time == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert session.polling_config is not None and session.picking_config is not None
    assert session.polling_config.timeout_in == timedelta(seconds=1800)
    assert session.picking_config.max_item_count == 20
    with pytest.raises(MalformedResponse, match=r"PollingConfig\.pollInterval must be"):
        PickingSession._checked({"id": "S1", "pollingConfig": {"pollInterval": "5"}})


def test_a_check_leaves_the_items_of_a_page_to_be_made_when_read() -> None:
    # A page's items are checked, not made: a caller who reads only ids pays for no more.
    page = {"mediaItems": [{"id": "M1", "createTime": "2030-01-01T00:00:00Z"}]}
    checked = ListMediaItemsResponse._checked(page)
    page["mediaItems"][0]["createTime"] = "then"  # only an item not yet made can see this
    with pytest.raises(MalformedResponse, match=r"PickedMediaItem\.createTime"):
        checked.media_items[0].create_time  # noqa: B018
    with pytest.raises(MalformedResponse, match=r"PickedMediaItem\.createTime"):
        ListMediaItemsResponse._checked({"mediaItems": [{"id": "M1", "createTime": "soon"}]})
    # Items held some other way than a list of dicts are made now, the page read as well.
    other = ListMediaItemsResponse._checked({"mediaItems": ({"id": "M1"},), "nextPageToken": "n"})
    assert [item.id for item in other.media_items] == ["M1"]
    assert other.next_page_token == "n"


def test_a_check_refuses_a_session_nested_too_deeply() -> None:
    deep: dict[str, Any] = {}
    for _ in range(100_000):
        deep = {"x": deep}
    with pytest.raises(MalformedResponse, match="nested too deeply"):
        PickingSession._checked({"id": "S1", "unknown": deep})


def test_items_over_a_page_read_their_ids_and_fail_on_a_malformed_one_when_read() -> None:
    page = ListMediaItemsResponse.from_answer(
        {"mediaItems": [{"id": "P1", "type": "PHOTO"}, {"id": 7}, {"id": None}, {}]}
    )
    good, bad, null, empty = page.media_items
    assert (good.id, good.type, null.id, empty.id) == ("P1", models.MediaType.PHOTO, None, None)
    with pytest.raises(MalformedResponse, match=r"PickedMediaItem\.id must be a string"):
        bad.id  # noqa: B018
    assert good == PickedMediaItem.from_dict({"id": "P1", "type": "PHOTO"})
    assert dict(good.raw) == {"id": "P1", "type": "PHOTO"}


def test_a_page_of_objects_that_are_not_dicts_is_still_read() -> None:
    from picker_discovery._convert import freeze

    frozen = freeze({"mediaItems": [{"id": "P1"}], "nextPageToken": "T"})
    page = ListMediaItemsResponse.from_dict(frozen)
    assert [item.id for item in page.media_items] == ["P1"]
    with pytest.raises(MalformedResponse, match=r"mediaItems\[1\] must be a JSON object"):
        ListMediaItemsResponse.from_dict({"mediaItems": [{"id": "P1"}, "P2"]})


# Timestamps of the usual shape, with anything at any place: the fast path and the
# regular expression agree on every one, refusing with the same message.
_PLACES = st.sampled_from(string.digits + "-:TtZz.+ x٣")


@given(
    st.sampled_from([20, 24, 27]).flatmap(
        lambda length: st.lists(_PLACES, min_size=length, max_size=length).map("".join)
    )
)
def test_any_text_of_the_usual_length_reads_as_the_general_parser_reads_it(text: str) -> None:
    _same_as_general(text)


@given(st.datetimes(timezones=st.just(timezone.utc)), st.sampled_from([0, 3, 6]))
def test_every_instant_in_the_usual_shape_reads_as_the_general_parser_reads_it(
    moment: Any, digits: int
) -> None:
    text = f"{moment.year:04d}-" + moment.strftime("%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    _same_as_general(text + "Z")
    assert parse_timestamp(text + "Z").tzinfo is timezone.utc


@pytest.mark.parametrize(
    "text",
    [
        "2025-02-27T24:00:00Z",
        "2025-02-30T00:00:00Z",
        "2025-02-27T23:34:60Z",
        "0000-01-01T00:00:00Z",
        "2025-02-27T23:34:05.4a6Z",
        "2025-02-27T23:34:05,466Z",
        "2025-02-27T23:34:05.466z",
        "2025-02-27t23:34:05.466Z",
        "+025-02-27T23:34:05Z",
    ],
)
def test_near_misses_of_the_usual_shape_are_refused_as_before(text: str) -> None:
    _same_as_general(text)
    with pytest.raises(ValueError):
        parse_timestamp(text)


def _same_as_general(text: str) -> None:
    try:
        expected = _parse_rfc3339(text)
    except ValueError as refused:
        with pytest.raises(ValueError) as caught:
            parse_timestamp(text)
        assert str(caught.value) == str(refused)
    else:
        assert parse_timestamp(text) == expected


def test_durations_read_before_are_the_same_values_and_the_bound_holds() -> None:
    assert parse_duration("5s") == parse_duration("5s") == timedelta(seconds=5)
    assert parse_duration(f"{MAX_DURATION_SECONDS}s") == timedelta(seconds=MAX_DURATION_SECONDS)
    for _ in range(2):  # a refused text is never remembered
        with pytest.raises(ValueError, match="longer than"):
            parse_duration(f"{MAX_DURATION_SECONDS + 1}s")
