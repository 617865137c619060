"""Reading and writing the JSON values of the API's schemas, for the generated models.

Google APIs encode values as proto3 JSON: RFC 3339 timestamps (``google-datetime``), durations
as decimal seconds with an ``s`` suffix (``google-duration``: ``"3.5s"``, ``"0.033333335s"``),
64-bit integers as decimal strings, 32-bit integers as JSON numbers (sometimes as strings),
floats as numbers or ``"NaN"``/``"Infinity"``. Timestamps and durations are parsed with
protobuf's well-known types, so fractional seconds and offsets are handled by well-kept code.

Values are read leniently where proto3 JSON allows several spellings and strictly otherwise: a
value of the wrong kind raises :class:`~picker_discovery.errors.MalformedResponse` (a
``ValueError``) naming the schema and field; no other exception escapes for any JSON value.

Private: the generated :mod:`picker_discovery.models` is the public face.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, ItemsView, Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

from google.protobuf import duration_pb2, timestamp_pb2

from picker_discovery._errorbase import BadArgument, BadArgumentType, MalformedResponse

__all__ = ["FrozenMap", "Reader", "UnknownEnum", "Writer", "freeze", "thaw"]

_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")
_EMPTY: Mapping[str, Any] = MappingProxyType({})  # shared by every empty extra and raw


E = TypeVar("E", bound="UnknownEnum")


class UnknownEnum(str, enum.Enum):
    """Base of the models' enums: every one has ``UNKNOWN`` for values it does not know."""

    @classmethod
    def parse(cls: type[E], value: str) -> E:
        """The member for ``value``, or ``UNKNOWN`` when this version does not know it."""
        try:
            return cls(value)
        except ValueError:
            return cls["UNKNOWN"]


class _Model(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


M = TypeVar("M")


class FrozenMap(Mapping[str, Any]):
    """A read-only JSON object: its objects are FrozenMaps and its arrays tuples, all the way.

    Made once per answer by :func:`freeze`; the models nested in it share its parts instead of
    copying them again. :func:`thaw` turns it back into plain ``dict``/``list`` JSON.
    """

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def items(self) -> ItemsView[str, Any]:
        return self._data.items()

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)


def _freeze_value(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is dict:
        return FrozenMap({str(k): _freeze_value(v) for k, v in value.items()})
    if kind is list:
        return tuple(_freeze_value(v) for v in value)
    if isinstance(value, FrozenMap):
        return value
    if isinstance(value, Mapping):
        return FrozenMap({str(k): _freeze_value(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze_value(v) for v in value)
    return value


def freeze(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """A deeply read-only copy of ``data``; one that is already frozen is returned as it is."""
    if not data:
        return _EMPTY
    frozen: Mapping[str, Any] = _freeze_value(data)
    return frozen


def thaw(value: Any) -> Any:
    """Plain JSON values (``dict``, ``list``) from frozen ones, e.g. for ``json.dumps``."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


class Reader:
    """Reads the fields of one JSON object as a schema's typed values."""

    def __init__(self, schema: str, data: Mapping[str, Any], known: Iterable[str]) -> None:
        if not isinstance(data, Mapping):
            raise BadArgumentType(f"{schema} must be a JSON object (a mapping), not {_kind(data)}")
        self.schema = schema
        # Frozen once at the outermost model; nested models get parts of it, already frozen.
        try:
            self.data = freeze(data)
        except RecursionError:
            raise MalformedResponse(f"{schema} is nested too deeply to read") from None
        self.known = frozenset(known)

    def _fail(self, name: str, expected: str) -> MalformedResponse:
        value = self.data[name]
        return MalformedResponse(
            f"{self.schema}.{name} must be {expected}, not {_kind(value)} {_short(value)}"
        )

    def _get(self, name: str) -> Any:
        return self.data.get(name)

    def string(self, name: str) -> str | None:
        value = self._get(name)
        if value is None or isinstance(value, str):
            return value
        raise self._fail(name, "a string")

    def boolean(self, name: str) -> bool | None:
        value = self._get(name)
        if value is None or isinstance(value, bool):
            return value
        raise self._fail(name, "true or false")

    def integer(self, name: str) -> int | None:
        """A 32- or 64-bit integer: a JSON number with no fraction, or a decimal string."""
        value = self._get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            raise self._fail(name, "an integer")
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
        raise self._fail(name, "an integer")

    def number(self, name: str) -> float | None:
        """A number: a JSON number (``2`` or ``2.8``) or ``"NaN"``, ``"Infinity"``, a string."""
        value = self._get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            raise self._fail(name, "a number")
        if isinstance(value, (int, float)):
            try:
                return float(value)
            except OverflowError:  # an integer beyond any float
                pass
            raise self._fail(name, "a number a float can hold")
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                pass
            else:
                if math.isfinite(number) or value in ("NaN", "Infinity", "-Infinity"):
                    return number
        raise self._fail(name, "a number")

    def timestamp(self, name: str) -> datetime | None:
        """An RFC 3339 timestamp as an aware UTC ``datetime`` (nanoseconds cut to micro)."""
        value = self.string(name)
        if value is None:
            return None
        if _RFC3339.fullmatch(value):
            try:  # the standard library's parser: fast, and on Python 3.11+ it reads "Z"
                return datetime.fromisoformat(value).astimezone(timezone.utc)
            except (ValueError, OverflowError):
                pass  # Python 3.10, or a value out of range: protobuf says what is wrong
        stamp = timestamp_pb2.Timestamp()
        try:
            stamp.FromJsonString(value)
            parsed: datetime = stamp.ToDatetime(tzinfo=timezone.utc)
        except (ValueError, OverflowError) as exc:
            raise MalformedResponse(
                f"{self.schema}.{name} must be an RFC 3339 timestamp, not {value!r}: {exc}"
            ) from exc
        return parsed

    def duration(self, name: str) -> timedelta | None:
        """A ``google-duration`` string (``"3.5s"``) as a ``timedelta`` (nanoseconds cut)."""
        value = self.string(name)
        if value is None:
            return None
        duration = duration_pb2.Duration()
        try:
            duration.FromJsonString(value)
            parsed: timedelta = duration.ToTimedelta()
        except (ValueError, OverflowError) as exc:
            raise MalformedResponse(
                f"{self.schema}.{name} must be a duration like '3.5s', not {value!r}: {exc}"
            ) from exc
        return parsed

    def enum(self, name: str, cls: type[E]) -> E | None:
        """An enum value; one this version does not know becomes ``UNKNOWN``."""
        value = self.string(name)
        if value is None:
            return None
        return cls.parse(value)

    def message(self, name: str, cls: Callable[[Mapping[str, Any]], M]) -> M | None:
        value = self._get(name)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self._fail(name, "a JSON object")
        return cls(value)

    def messages(self, name: str, cls: Callable[[Mapping[str, Any]], M]) -> tuple[M, ...]:
        value = self._get(name)
        if value is None:
            return ()
        if not isinstance(value, tuple):  # a JSON array, frozen
            raise self._fail(name, "a JSON array")
        out = []
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise MalformedResponse(
                    f"{self.schema}.{name}[{index}] must be a JSON object, not {_kind(item)}"
                )
            out.append(cls(item))
        return tuple(out)

    def extra(self) -> Mapping[str, Any]:
        """The fields the schema does not describe, kept as they came."""
        unknown = {k: v for k, v in self.data.items() if k not in self.known}
        return FrozenMap(unknown) if unknown else _EMPTY

    def raw(self) -> Mapping[str, Any]:
        return self.data


class Writer:
    """Writes typed values back as the JSON object of a schema, leaving out unset fields."""

    def __init__(self, extra: Mapping[str, Any], raw: Mapping[str, Any]) -> None:
        self.data: dict[str, Any] = thaw(extra)
        self.raw = raw

    def value(self, name: str, value: str | bool | float | None) -> None:
        if value is not None:
            self.data[name] = value

    def number(self, name: str, value: float | None) -> None:
        if value is not None:
            self.data[name] = value if math.isfinite(value) else _NON_FINITE[repr(value)]

    def int64(self, name: str, value: int | None) -> None:
        if value is not None:
            self.data[name] = str(value)

    def timestamp(self, name: str, value: datetime | None) -> None:
        if value is None:
            return
        if value.tzinfo is None or value.utcoffset() is None:
            raise BadArgument(f"{name} must be an aware datetime (with a time zone), not naive")
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(value)
        self.data[name] = stamp.ToJsonString()

    def duration(self, name: str, value: timedelta | None) -> None:
        if value is None:
            return
        duration = duration_pb2.Duration()
        duration.FromTimedelta(value)
        self.data[name] = duration.ToJsonString()

    def enum(self, name: str, value: UnknownEnum | None) -> None:
        if value is None:
            return
        if value.name == "UNKNOWN":
            # Write back what the service sent, which this version did not know.
            original = self.raw.get(name)
            if isinstance(original, str):
                self.data[name] = original
            return
        self.data[name] = value.value

    def message(self, name: str, value: _Model | None) -> None:
        if value is not None:
            self.data[name] = value.to_dict()

    def messages(self, name: str, values: Iterable[_Model]) -> None:
        items = [v.to_dict() for v in values]
        if items:
            self.data[name] = items


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    for cls, label in names.items():
        if isinstance(value, cls):
            return label
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__


def _short(value: object, limit: int = 60) -> str:
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an int of too many digits, or nesting too deep
        return f"({type(value).__name__})"
    return text if len(text) <= limit else text[: limit - 1] + "…"
