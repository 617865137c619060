"""Retry-After and RetryPolicy settings from outside: never a crash, never an endless wait."""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, strategies as st

from picker_discovery._retry import MAX_RETRY_AFTER, RetryPolicy, retry_after_seconds

NOW = datetime(2031, 5, 6, 7, 8, 9, tzinfo=timezone.utc)


def http_date(when: datetime) -> str:
    return when.strftime("%a, %d %b %Y %H:%M:%S GMT")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30", 30.0),
        ("  30\t", 30.0),
        ("0", 0.0),
        ("000042", 42.0),
        ("\u0663", None),  # ARABIC-INDIC DIGIT THREE: not an HTTP digit
        ("\u00b2", None),  # SUPERSCRIPT TWO: isdigit() yet float() refuses it
        ("\uff13\uff10", None),  # FULLWIDTH "30"
        ("-5", None),
        ("+5", None),
        ("1.5", None),
        ("1e3", None),
        ("nan", None),
        ("inf", None),
        ("", None),
        ("   ", None),
        ("soon", None),
        ("Mon, 99 Foo 2031 99:99:99 GMT", None),
        ("Fri, 31 Dec 99999 23:59:59 GMT", None),
        ("9" * 5000, MAX_RETRY_AFTER),  # longer than Python's int() accepts
        ("1" + "0" * 400, MAX_RETRY_AFTER),  # float() of it is inf
        (str(10**9), MAX_RETRY_AFTER),
        (http_date(NOW + timedelta(seconds=45)), 45.0),
        (http_date(NOW - timedelta(days=3)), 0.0),
        (http_date(NOW + timedelta(days=400)), MAX_RETRY_AFTER),
        ("Sun, 06 Nov 1994 08:49:37 GMT", 0.0),
        ("Sunday, 06-Nov-94 08:49:37 GMT", 0.0),
        (b"12", 12.0),
        (12, 12.0),
        (-12, None),
        (True, None),
        (None, None),
    ],
)
def test_retry_after_values(value: Any, expected: float | None) -> None:
    assert retry_after_seconds({"Retry-After": value}, NOW) == expected


def test_a_naive_now_is_taken_as_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    assert retry_after_seconds({"retry-after": http_date(NOW + timedelta(seconds=9))}, naive) == 9


def test_a_huge_retry_after_ends_the_retries() -> None:
    policy = RetryPolicy(random=lambda: 0.0)
    for value in ("9" * 5000, http_date(NOW + timedelta(days=4000))):
        assert policy.retry_delay(1, status=503, headers={"Retry-After": value}, now=NOW) is None


@pytest.mark.fuzz
@given(
    value=st.one_of(
        st.text(),
        st.text(alphabet=st.characters(categories=["Nd", "No", "Zs", "Cc"])),
        st.from_regex(r"\s*[+-]?\d{0,40}(\.\d*)?\s*", fullmatch=True),
        st.datetimes(timezones=st.just(timezone.utc)).map(http_date),
        st.binary(),
    ),
    now=st.one_of(st.none(), st.datetimes(), st.datetimes(timezones=st.just(timezone.utc))),
)
def test_retry_after_never_raises_and_stays_within_the_cap(value: Any, now: Any) -> None:
    wait = retry_after_seconds({"Retry-After": value}, now)
    assert wait is None or (math.isfinite(wait) and 0.0 <= wait <= MAX_RETRY_AFTER)


# -- RetryPolicy settings ----------------------------------------------------------------------

NUMBER_FIELDS = [
    "initial_delay",
    "multiplier",
    "max_delay",
    "jitter",
    "rate_limit_delay",
    "max_retry_after",
]


@pytest.mark.parametrize("name", NUMBER_FIELDS)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -1.0, -1e-9])
def test_a_policy_refuses_nan_infinities_and_negatives(name: str, bad: float) -> None:
    with pytest.raises(ValueError, match=name):
        settings: dict[str, Any] = {name: bad}
        RetryPolicy(**settings)


@pytest.mark.parametrize("bad", [0, -1])
def test_a_policy_needs_an_attempt(bad: int) -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=bad)


def test_the_policy_covers_every_number_it_holds() -> None:
    numeric = {
        f.name for f in dataclasses.fields(RetryPolicy) if f.type in ("int", "float", int, float)
    }
    assert numeric == {*NUMBER_FIELDS, "max_attempts"}


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**6), max_value=10**6),
)


@pytest.mark.fuzz
@given(
    max_attempts=st.integers(min_value=-5, max_value=10**6),
    values=st.fixed_dictionaries({name: numbers for name in NUMBER_FIELDS}),
    attempt=st.integers(min_value=1, max_value=10**6),
    status=st.sampled_from([None, 429, 500, 503, 404]),
    retry_after=st.one_of(st.none(), st.text(max_size=30), st.integers().map(str)),
)
def test_a_policy_is_valid_or_a_value_error_and_its_waits_are_finite(
    max_attempts: int,
    values: dict[str, Any],
    attempt: int,
    status: int | None,
    retry_after: str | None,
) -> None:
    try:
        policy = RetryPolicy(max_attempts=max_attempts, **values)
    except ValueError:
        return
    headers = {"Retry-After": retry_after} if retry_after is not None else None
    delay = policy.retry_delay(attempt, status=status, headers=headers, now=NOW)
    assert delay is None or (math.isfinite(delay) and delay >= 0)
