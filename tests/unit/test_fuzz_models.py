"""Session and item JSON, fuzzed: any JSON value in any field parses or raises MalformedResponse.

Field types come from the bundled discovery document; expected timestamps and durations are
computed here with ``Decimal`` and ``datetime`` arithmetic, not with the parser under test.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, strategies as st

from picker_discovery import models
from picker_discovery.errors import MalformedResponse

DOCUMENT = json.loads(
    (Path(__file__).resolve().parents[2] / "discovery_cache" / "photospicker.v1.json").read_text(
        encoding="utf-8"
    )
)
SCHEMAS: dict[str, Any] = DOCUMENT["schemas"]
MODELS = [name for name, schema in SCHEMAS.items() if schema.get("properties")]
MAX_SECONDS = 315_576_000_000  # the range of google.protobuf.Duration

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(),  # NaN and infinities too: Python's json reads them
    st.text(max_size=30),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e309s", "-5s", "NaNs", "infs", "3.5s"]),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def durations(draw: st.DrawFn) -> tuple[str, timedelta]:
    """A google-duration string and the timedelta it means (nanoseconds cut to micro)."""
    seconds = draw(st.integers(min_value=-MAX_SECONDS + 1, max_value=MAX_SECONDS - 1))
    digits = draw(st.integers(min_value=0, max_value=9))
    fraction = draw(st.integers(min_value=0, max_value=10**digits - 1)) if digits else 0
    sign = "-" if seconds < 0 or (seconds == 0 and fraction and draw(st.booleans())) else ""
    text = f"{sign}{abs(seconds)}" + (f".{fraction:0{digits}d}" if digits else "") + "s"
    value = Decimal(text[:-1])
    micros = int(value * 1_000_000)  # toward zero, as protobuf cuts nanoseconds
    return text, timedelta(microseconds=micros)


@st.composite
def timestamps(draw: st.DrawFn) -> tuple[str, datetime]:
    """An RFC 3339 timestamp (0-9 fractional digits, Z or an offset) and its UTC instant."""
    moment = draw(
        st.datetimes(
            min_value=datetime(1, 1, 2),
            max_value=datetime(9999, 12, 30),
            timezones=st.just(timezone.utc),
        )
    ).replace(microsecond=0)
    digits = draw(st.integers(min_value=0, max_value=9))
    fraction = draw(st.integers(min_value=0, max_value=10**digits - 1)) if digits else 0
    minutes = draw(st.sampled_from([0, 0, 60, -300, 330, 23 * 60 + 59, -(23 * 60 + 59)]))
    local = moment.astimezone(timezone(timedelta(minutes=minutes)))
    sign = "-" if minutes < 0 else "+"
    zone = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    if minutes == 0 and draw(st.booleans()):
        zone = "Z"
    text = (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
        f"T{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
    )
    if digits:
        text += f".{fraction:0{digits}d}"
    micros = fraction * 10**6 // 10**digits if digits else 0
    return text + zone, moment + timedelta(microseconds=micros)


def well_formed(schema: str, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Objects of ``schema`` as the service could send them, with the values they mean."""
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for name, prop in SCHEMAS[schema]["properties"].items():
        kind, fmt = prop.get("type"), prop.get("format")
        if "$ref" in prop:
            fields[name] = well_formed(prop["$ref"], depth + 1)
        elif kind == "array":
            fields[name] = st.lists(well_formed(prop["items"]["$ref"], depth + 1), max_size=2)
        elif fmt == "google-duration":
            fields[name] = durations().map(lambda pair: pair[0])
        elif fmt == "google-datetime":
            fields[name] = timestamps().map(lambda pair: pair[0])
        elif fmt == "int64":
            fields[name] = st.integers(min_value=-(2**63), max_value=2**63 - 1).map(str)
        elif kind == "integer":
            fields[name] = st.integers(min_value=-(2**31), max_value=2**31 - 1)
        elif kind == "number":
            fields[name] = st.floats(allow_nan=False, allow_infinity=False)
        elif kind == "boolean":
            fields[name] = st.booleans()
        elif "enum" in prop:
            fields[name] = st.sampled_from(prop["enum"])
        else:
            fields[name] = st.text(max_size=20)
    return st.fixed_dictionaries({}, optional=fields)


def _field(name: str, data: dict[str, Any]) -> Any:
    return data.get(name)


def hostile(schema: str) -> st.SearchStrategy[dict[str, Any]]:
    """Objects of ``schema`` where any field may hold any JSON value, nested ones included."""
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for name, prop in SCHEMAS[schema]["properties"].items():
        ref = prop.get("$ref") or prop.get("items", {}).get("$ref")
        wrong = json_values
        if ref and "$ref" in prop:
            wrong = st.one_of(json_values, hostile(ref))
        elif ref:
            wrong = st.one_of(json_values, st.lists(hostile(ref), max_size=2))
        fields[name] = st.one_of(wrong, well_formed(schema).map(partial(_field, name)))
    extra = st.dictionaries(st.text(max_size=8), json_values, max_size=2)
    return st.builds(
        lambda known, more: {**more, **known}, st.fixed_dictionaries({}, optional=fields), extra
    )


def parse(schema: str, data: Any) -> Any:
    cls = getattr(models, schema)
    return cls.from_dict(data)


def strict_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


def writes_back(model: Any, data: Any = None) -> None:
    """to_dict gives JSON that parses to a model writing exactly the same JSON.

    Given strict JSON (no bare NaN or Infinity, which Python's reader accepts), it writes
    strict JSON: non-finite numbers of known fields become the strings proto3 JSON uses.
    Unknown fields are written back as they came.
    """
    written = model.to_dict()
    if data is None or strict_json(data):
        assert strict_json(written), written
    again = type(model).from_dict(written)
    assert again.to_dict() == written


@pytest.mark.fuzz
@given(st.sampled_from(MODELS).flatmap(lambda name: st.tuples(st.just(name), hostile(name))))
def test_any_json_in_any_field_parses_or_is_malformed(case: tuple[str, dict[str, Any]]) -> None:
    schema, data = case
    try:
        model = parse(schema, data)
    except MalformedResponse as exc:
        assert str(exc).startswith(tuple(SCHEMAS)), str(exc)  # names the schema and field
        return
    writes_back(model, data)


@pytest.mark.fuzz
@given(st.sampled_from(MODELS).flatmap(lambda name: st.tuples(st.just(name), well_formed(name))))
def test_well_formed_objects_parse_and_write_back(case: tuple[str, dict[str, Any]]) -> None:
    schema, data = case
    writes_back(parse(schema, data))


@pytest.mark.fuzz
@given(durations())
def test_durations_mean_what_they_say(case: tuple[str, timedelta]) -> None:
    text, expected = case
    config = models.PollingConfig.from_dict({"pollInterval": text, "timeoutIn": text})
    assert config.poll_interval == expected == config.timeout_in
    assert models.PollingConfig.from_dict(config.to_dict()) == config


@pytest.mark.fuzz
@given(timestamps())
def test_timestamps_mean_what_they_say(case: tuple[str, datetime]) -> None:
    text, expected = case
    session = models.PickingSession.from_dict({"expireTime": text})
    assert session.expire_time == expected
    assert session.expire_time is not None and session.expire_time.utcoffset() == timedelta(0)
    assert models.PickingSession.from_dict(session.to_dict()) == session


@pytest.mark.fuzz
@given(
    st.one_of(
        st.sampled_from(["1e309s", "-1e309s", "NaNs", "nans", "infs", "-infs", "Infinitys"]),
        st.integers(min_value=-(10**30), max_value=10**30).map(lambda n: f"{n}s"),
        st.text(max_size=12).map(lambda t: t + "s"),
        st.text(max_size=12),
    )
)
def test_pathological_durations_are_finite_or_malformed(text: str) -> None:
    try:
        config = models.PollingConfig.from_dict({"pollInterval": text})
    except MalformedResponse:
        return
    assert config.poll_interval is not None
    assert math.isfinite(config.poll_interval.total_seconds())
    assert abs(config.poll_interval.total_seconds()) <= MAX_SECONDS


# Regressions: each of these raised OverflowError, or a ValueError that named no field.


@pytest.mark.parametrize(
    ("schema", "data", "field"),
    [
        ("PhotoMetadata", {"focalLength": 10**400}, "PhotoMetadata.focalLength"),
        ("PickingSession", {"expireTime": "0001-01-01T00:00:00+01:00"}, "expireTime"),
        ("PickingSession", {"expireTime": "9999-12-31T23:59:59-01:00"}, "expireTime"),
        ("PickingConfig", {"maxItemCount": "9" * 5000}, "PickingConfig.maxItemCount"),
        ("MediaFileMetadata", {"width": "1" * 4301}, "MediaFileMetadata.width"),
    ],
    ids=["huge-number", "before-year-1", "after-year-9999", "int64-digits", "int32-digits"],
)
def test_out_of_range_values_are_malformed_and_named(
    schema: str, data: dict[str, Any], field: str
) -> None:
    with pytest.raises(MalformedResponse, match=field):
        parse(schema, data)


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("schema", "data", "message"),
    [
        ("PhotoMetadata", {"focalLength": 10**5000}, r"PhotoMetadata\.focalLength .*\(int\)"),
        ("PickingSession", {"unknown": nested(100_000)}, "PickingSession is nested too deeply"),
    ],
    ids=["number-too-long-to-print", "nested-too-deep"],
)
def test_values_python_cannot_print_or_copy_are_malformed(
    schema: str, data: dict[str, Any], message: str
) -> None:
    with pytest.raises(MalformedResponse, match=message):
        parse(schema, data)


def test_a_malformed_field_is_still_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"PickingSession\.mediaItemsSet"):
        models.PickingSession.from_dict({"mediaItemsSet": "yes"})
