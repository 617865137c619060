"""The JSON values of the API's schemas, read and written with the standard library.

Google APIs encode values as proto3 JSON: RFC 3339 timestamps (``google-datetime``), durations
as decimal seconds with an ``s`` suffix (``google-duration``: ``"3.5s"``, ``"0.033333335s"``),
64-bit integers as decimal strings, 32-bit integers as JSON numbers (sometimes as strings),
floats as numbers or ``"NaN"``/``"Infinity"``. Timestamps and durations are read as protobuf's
well-known types read them (the same ranges; nanoseconds cut to microseconds), with no protobuf
import: a regular expression and ``datetime``/``timedelta`` arithmetic.

Each ``read_*`` takes the schema's and field's names (for the message) and the value as sent
(None when absent), and returns the typed value or raises
:class:`~picker_discovery.errors.MalformedResponse` (a ``ValueError``) naming the schema and
field; no other exception escapes for any JSON value. Each ``write_*`` does the reverse.

Private: the generated :mod:`picker_discovery.models` is the public face.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from picker_discovery._errorbase import BadArgument, MalformedResponse

__all__ = [
    "DURATIONS",
    "MAX_DURATION_SECONDS",
    "is_digits",
    "parse_duration",
    "parse_timestamp",
    "read_boolean",
    "read_duration",
    "read_flag",
    "read_integer",
    "read_number",
    "read_string",
    "read_timestamp",
    "write_duration",
    "write_number",
    "write_timestamp",
]

MAX_DURATION_SECONDS = 315_576_000_000
"""The range of ``google.protobuf.Duration``: about 10,000 years either way."""


# The general forms, compiled on first use: the common ones never need them.
@functools.cache
def _timestamp() -> re.Pattern[str]:
    return re.compile(
        r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:Z|([+-])(\d\d):(\d\d))"
    )


@functools.cache
def _duration() -> re.Pattern[str]:
    return re.compile(r"(-?)(\d+)(?:\.(\d{1,9}))?s")


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
# The characters at 4, 7, 10, 13, 16 and 19 of a timestamp in UTC with 0, 3 or 6 fractional
# digits ("2025-02-27T23:34:05.466Z"), by its length.
_PLAIN_UTC = {20: "--T::Z", 24: "--T::.", 27: "--T::."}
_fromisoformat = datetime.fromisoformat
DURATIONS: dict[str, timedelta] = {}
"""Durations read before, by their text: an API sends the same few ("5s", "1800s") over and
over. A text found here is a duration that reads well."""
_DURATIONS_KEPT = 256


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 timestamp as an aware UTC ``datetime`` (nanoseconds cut to micro).

    Raises:
        ValueError: not an RFC 3339 timestamp, a date or time that does not exist, or an
            instant outside years 1 to 9999 in UTC.
    """
    shape = _PLAIN_UTC.get(len(text))
    if (
        shape is not None
        and text[4:20:3] == shape
        and text[-1] == "Z"
        and text[11:13] < "24"
        and text.isascii()
    ):
        # The usual shape: the standard library's parser (in C) reads it as the expression
        # below does, in every Python this supports; what it refuses, the expression reads
        # again, for the same error.
        try:
            return _fromisoformat(text[:-1] + "+00:00")
        except ValueError:
            pass
    return _parse_rfc3339(text)


def _parse_rfc3339(text: str) -> datetime:
    """:func:`parse_timestamp` for any RFC 3339 timestamp (the regular expression's way)."""
    match = _timestamp().fullmatch(text)
    if match is None:
        raise ValueError("not of the form 2025-02-27T23:34:05.466Z")
    year, month, day, hour, minute, second, fraction, sign, hours, minutes = match.groups()
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    moment = datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second),
        micro,
        tzinfo=timezone.utc,
    )
    if sign:
        offset = timedelta(hours=int(hours), minutes=int(minutes))
        try:
            moment = moment - offset if sign == "+" else moment + offset
        except OverflowError:
            raise ValueError("the instant is outside years 1 to 9999") from None
    return moment


def parse_duration(text: str) -> timedelta:
    """A ``google-duration`` string (``"3.5s"``) as a ``timedelta`` (nanoseconds cut to
    micro, toward zero).

    Raises:
        ValueError: not a duration, or longer than about 10,000 years either way.
    """
    known = DURATIONS.get(text)
    if known is not None:
        return known
    whole = text[:-1]
    if text[-1:] == "s" and len(whole) <= 12 and whole.isascii() and whole.isdigit():
        seconds = int(whole)  # the usual shape: "5s", "1800s"
        if seconds > MAX_DURATION_SECONDS:
            raise ValueError(f"longer than {MAX_DURATION_SECONDS} seconds")
        value = timedelta(0, seconds)
        if len(DURATIONS) < _DURATIONS_KEPT:
            DURATIONS[text] = value
        return value
    match = _duration().fullmatch(text)
    if match is None:
        raise ValueError("not decimal seconds with an 's' suffix")
    sign, whole, fraction = match.groups()
    if len(whole.lstrip("0")) > len(str(MAX_DURATION_SECONDS)):
        raise ValueError(f"longer than {MAX_DURATION_SECONDS} seconds")
    nanos = int(whole) * 1_000_000_000 + (int(fraction.ljust(9, "0")) if fraction else 0)
    if nanos > MAX_DURATION_SECONDS * 1_000_000_000:
        raise ValueError(f"longer than {MAX_DURATION_SECONDS} seconds")
    micros = nanos // 1000
    return timedelta(microseconds=-micros if sign else micros)


def _fail(schema: str, name: str, value: object, expected: str) -> MalformedResponse:
    return MalformedResponse(
        f"{schema}.{name} must be {expected}, not {_kind(value)} {_short(value)}"
    )


def read_string(schema: str, name: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _fail(schema, name, value, "a string")


def read_boolean(schema: str, name: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise _fail(schema, name, value, "true or false")


def read_flag(schema: str, name: str, value: Any) -> bool:
    """An output-only flag the service leaves out when false (proto3 JSON omits defaults)."""
    return bool(read_boolean(schema, name, value))


def is_digits(value: object) -> bool:
    """Whether ``value`` is a decimal string :func:`read_integer` reads (short enough for
    ``int()`` under any limit of digits), as int64 values are sent: ``"2000"``."""
    return type(value) is str and len(value) <= 18 and value.isdigit() and value.isascii()


def read_integer(schema: str, name: str, value: Any) -> int | None:
    """A 32- or 64-bit integer: a JSON number with no fraction, or a decimal string."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _fail(schema, name, value, "an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in "+-" else text
        if digits.isascii() and digits.isdigit():
            try:
                return int(text)
            except ValueError:  # more digits than Python converts
                pass
    raise _fail(schema, name, value, "an integer")


def read_number(schema: str, name: str, value: Any) -> float | None:
    """A number: a JSON number (``2`` or ``2.8``) or ``"NaN"``, ``"Infinity"``, a string."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _fail(schema, name, value, "a number")
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an integer beyond any float
            pass
        raise _fail(schema, name, value, "a number a float can hold")
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if math.isfinite(number) or value in ("NaN", "Infinity", "-Infinity"):
                return number
    raise _fail(schema, name, value, "a number")


def read_timestamp(schema: str, name: str, value: Any) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC ``datetime`` (see :func:`parse_timestamp`)."""
    text = value if type(value) is str else read_string(schema, name, value)
    if text is None:
        return None
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise MalformedResponse(
            f"{schema}.{name} must be an RFC 3339 timestamp, not {text!r}: {exc}"
        ) from None


def read_duration(schema: str, name: str, value: Any) -> timedelta | None:
    """A ``google-duration`` string as a ``timedelta`` (see :func:`parse_duration`)."""
    text = read_string(schema, name, value)
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise MalformedResponse(
            f"{schema}.{name} must be a duration like '3.5s', not {text!r}: {exc}"
        ) from None


def write_number(value: float) -> float | str:
    return value if math.isfinite(value) else _NON_FINITE[repr(value)]


def write_timestamp(name: str, value: datetime) -> str:
    """``value`` as proto3 JSON writes a Timestamp: UTC, ``Z``, 0, 3 or 6 fractional digits."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise BadArgument(f"{name} must be an aware datetime (with a time zone), not naive")
    try:
        utc = value.astimezone(timezone.utc)
    except OverflowError:
        raise BadArgument(f"{name} is outside years 1 to 9999 in UTC: {value!r}") from None
    text = (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    )
    return text + _fraction(utc.microsecond) + "Z"


def write_duration(name: str, value: timedelta) -> str:
    """``value`` as proto3 JSON writes a Duration: ``"3.500s"``, ``"-0.000001s"``, ``"0s"``."""
    micros = value // timedelta(microseconds=1)
    seconds, fraction = divmod(abs(micros), 1_000_000)
    if seconds > MAX_DURATION_SECONDS or (seconds == MAX_DURATION_SECONDS and fraction):
        raise BadArgument(f"{name} is longer than {MAX_DURATION_SECONDS} seconds: {value!r}")
    return f"{'-' if micros < 0 else ''}{seconds}{_fraction(fraction)}s"


def _fraction(micros: int) -> str:
    if not micros:
        return ""
    if micros % 1000 == 0:
        return f".{micros // 1000:03d}"
    return f".{micros:06d}"


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    for cls, label in names.items():
        if isinstance(value, cls):
            return label
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, tuple):
        return "an array"
    return type(value).__name__


def _short(value: object, limit: int = 60) -> str:
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an int of too many digits, or nesting too deep
        return f"({type(value).__name__})"
    return text if len(text) <= limit else text[: limit - 1] + "…"
