"""Times and durations as the Picker API writes them (RFC 3339, ``"5s"``)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from picker_discovery._errorbase import BadArgument
from picker_discovery.testing.schema import DURATION_RE

__all__ = ["format_create_time", "format_duration", "format_time", "parse_duration"]

# The longest duration a setting may hold: a century (timedelta itself stops near 2.7 million
# years, and the fake clock at the year 9999).
MAX_DURATION = 100 * 366 * 86400.0


def _fraction(micros: int) -> str:
    """Fractional seconds as proto3 JSON writes them: none, 3 or 6 digits (9 for nanoseconds,
    which Python's times do not hold)."""
    if not micros:
        return ""
    if micros % 1000 == 0:
        return f".{micros // 1000:03d}"
    return f".{micros:06d}"


def format_time(when: datetime) -> str:
    """RFC 3339 in UTC as Google's JSON encoder (proto3 JSON) writes a Timestamp:
    ``2026-01-02T10:00:00Z``, ``...T10:00:00.500Z``, ``...T10:00:00.123456Z``."""
    utc = when.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + _fraction(utc.microsecond) + "Z"


def format_create_time(when: datetime) -> str:
    """RFC 3339 in UTC, with milliseconds only when there are any (as Google's bodies show)."""
    utc = when.astimezone(timezone.utc)
    if utc.microsecond:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration(value: str | float | timedelta) -> timedelta:
    """``"3.5s"``, 3.5 or a timedelta as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        if not DURATION_RE.match(value):
            raise BadArgument(f"{value!r} is not a duration like '5s' or '0.5s'")
        value = float(value[:-1])
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadArgument(f"a duration is '5s' or a number of seconds, not {value!r}")
    if not math.isfinite(value) or abs(value) > MAX_DURATION:
        raise BadArgument(f"a duration must be finite and at most {MAX_DURATION:.0f} s: {value!r}")
    return timedelta(seconds=value)


def format_duration(value: timedelta) -> str:
    """A Duration string as proto3 JSON writes it: ``"5s"``, ``"1.500s"``, ``"1799.250001s"``
    (0, 3, 6 or 9 fractional digits; never negative here)."""
    micros = max(0, (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds)
    whole, frac = divmod(micros, 1_000_000)
    return f"{whole}{_fraction(frac)}s"
