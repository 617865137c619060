"""How the generated models read and write their JSON: read-only views, fields read on first
access, and the writer.

A model parsed from an answer keeps the JSON object as it came (in a private slot: no copy)
and nothing else but its well-formed plain strings (an item's ``id``), which cost one look-up
each. Any other field is read from the object the first time it is asked for, by
:meth:`LazyModel.__getattr__` (a dataclass slot left unset), and kept in its slot; ``raw``, a
read-only :class:`FrozenMap` view, is made the same way, and so are nested models, over their
part of the object. So a page of 100 items costs 100 small objects, and reading ``item.id``
reads a slot.

``Model.from_dict`` reads every field at once, by straight-line code generated per model
(``_read_all``), and so raises :class:`~picker_discovery.errors.MalformedResponse` at once for
any malformed one;
``Model.from_answer`` leaves them to first access, for answers just parsed from JSON, which
nothing else holds: a malformed field then raises ``MalformedResponse`` when it is read.

Private: the generated :mod:`picker_discovery.models` is the public face; values are read and
written in :mod:`picker_discovery._wire`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from operator import attrgetter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from picker_discovery import _wire
from picker_discovery._errorbase import BadArgumentType, MalformedResponse
from picker_discovery._frozen import FrozenMethods

__all__ = [
    "DICTS_ONLY",
    "EMPTY",
    "FrozenMap",
    "LazyModel",
    "UnknownEnum",
    "Writer",
    "enum_of",
    "extra_of",
    "freeze",
    "message_of",
    "messages_of",
    "read_enum",
    "read_message",
    "read_messages",
    "readers",
    "set_data",
    "thaw",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})  # shared by every empty extra and raw
EMPTY = _EMPTY
"""The read-only empty mapping: the default ``extra`` and ``raw`` of a model built in code."""

E = TypeVar("E", bound="UnknownEnum")
L = TypeVar("L", bound="LazyModel")
ValueReader = Callable[[str, str, Any], Any]
FieldReader = Callable[[dict[str, Any]], Any]
View = Callable[[dict[str, Any]], Any]
DICTS_ONLY = frozenset({dict})
"""The set of the types of a JSON array's items when every one is an object."""


class UnknownEnum(str, enum.Enum):
    """Base of the models' enums: every one has ``UNKNOWN`` for values it does not know."""

    @classmethod
    def parse(cls: type[E], value: str) -> E:
        """The member for ``value``, or ``UNKNOWN`` when this version does not know it."""
        member = cls._value2member_map_.get(value)
        return member if member is not None else cls["UNKNOWN"]  # type: ignore[return-value]


class FrozenMap(Mapping[str, Any]):
    """A read-only view of a JSON object: what it gives is read-only too (objects as
    FrozenMaps, arrays as tuples), made as it is read, so wrapping costs no copy.

    :func:`thaw` turns it back into plain ``dict``/``list`` JSON.
    """

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return _view(self._data[key])

    def get(self, key: str, default: Any = None) -> Any:
        value = self._data.get(key, _MISSING)
        return default if value is _MISSING else _view(value)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return bool(thaw(self) == thaw(other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._data)


_MISSING: Any = object()
_set = object.__setattr__


def _view(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return FrozenMap(value)
    if kind is list or kind is tuple:
        return tuple(_view(v) for v in value)
    return value


def _source(data: Mapping[str, Any]) -> dict[str, Any]:
    """The plain dict behind ``data``: itself, a FrozenMap's own, or a shallow copy."""
    if type(data) is dict:
        return data
    if type(data) is FrozenMap:
        return data._data
    return {str(k): v for k, v in data.items()}


def _freeze_value(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is FrozenMap:
        return FrozenMap({k: _freeze_value(v) for k, v in value._data.items()})
    if isinstance(value, Mapping):
        return FrozenMap({str(k): _freeze_value(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze_value(v) for v in value)
    return value


def freeze(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """A deeply read-only copy of ``data`` (raises ``RecursionError`` when nested too deep)."""
    if not data:
        return _EMPTY
    frozen: Mapping[str, Any] = _freeze_value(data)
    return frozen


def thaw(value: Any) -> Any:
    """Plain JSON values (``dict``, ``list``) from frozen ones, e.g. for ``json.dumps``."""
    if type(value) is FrozenMap:
        value = value._data
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


class LazyModel(FrozenMethods):
    """Base of the generated models: a field whose slot is unset is read from the JSON object
    behind the model (``_data``) when first asked for, then kept. ``_READERS`` maps each field
    (``extra`` and ``raw`` too) to its reader; ``_VIEW`` makes a model over a JSON object; the
    generated ``_read_all`` reads every field at once.

    A model is what ``@dataclass(frozen=True, slots=True, repr=False)`` would make of its
    fields (its ``__slots__``: the schema's, then ``extra`` and ``raw``, which is neither
    compared nor shown), with the methods written once instead of compiled per class at
    import: equality and hash over every field but ``raw`` and assignment refused with
    ``FrozenInstanceError`` (``FrozenMethods``), the pickling state of every field, and
    ``__dataclass_fields__`` made on first use, so ``dataclasses.fields``, ``replace`` and
    ``asdict`` work as before.
    """

    __slots__ = ("_data",)
    _READERS: ClassVar[Mapping[str, FieldReader]] = {}
    _VIEW: ClassVar[View]
    _FILL: ClassVar[Callable[[Any], Any]]  # check every field, keep what it read
    _NAMES: ClassVar[tuple[str, ...]]  # the fields, in order: the schema's, extra, raw
    _KEY: ClassVar[Callable[[Any], tuple[Any, ...]]]  # every field but raw, as a tuple
    _data: dict[str, Any]
    if TYPE_CHECKING:  # what type checkers know of a dataclass (made on first use)
        from dataclasses import Field

        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        names: tuple[str, ...] = cls.__dict__["__slots__"]
        cls._NAMES = names
        cls._KEY = attrgetter(names[0], *names[1:-1])

    def __getstate__(self) -> list[Any]:
        return [getattr(self, name) for name in self._NAMES]

    def __setstate__(self, state: list[Any]) -> None:
        for name, value in zip(self._NAMES, state, strict=True):
            _set(self, name, value)

    def __getattr__(self, name: str) -> Any:
        read = type(self)._READERS.get(name)
        if read is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        value = read(self._data)
        _set(self, name, value)
        return value

    def __repr__(self) -> str:
        """The dataclass form, ``Name(field=value, ...)``; a field the service sent malformed
        shows as ``<malformed>`` instead of raising (a repr never raises)."""
        parts = []
        for name in self._NAMES[:-1]:  # raw is not shown
            try:
                value = repr(getattr(self, name))
            except MalformedResponse:
                value = "<malformed>"
            parts.append(f"{name}={value}")
        return f"{type(self).__qualname__}({', '.join(parts)})"

    @classmethod
    def from_answer(cls: type[L], data: Mapping[str, Any]) -> L:
        """A view of a JSON object just parsed from an answer, which nothing else holds: no
        copy, each field read on first access (a malformed one raises ``MalformedResponse``
        then, naming the schema and field)."""
        if type(data) is not dict and not isinstance(data, Mapping):
            raise BadArgumentType(
                f"{cls.__name__} must be a JSON object (a mapping), not {_wire._kind(data)}"
            )
        model: L = cls._VIEW(_source(data))
        return model

    @classmethod
    def _parsed(cls: type[L], data: Mapping[str, Any]) -> L:
        """:meth:`from_answer` with every field read now, nested models' too."""
        model = cls.from_answer(data)
        try:
            model._read_all()
        except RecursionError:
            raise MalformedResponse(f"{cls.__name__} is nested too deeply to read") from None
        return model

    @classmethod
    def _checked(cls: type[L], data: Mapping[str, Any]) -> L:
        """:meth:`from_answer` with every field checked now: ``MalformedResponse`` now for any
        field :meth:`from_dict` refuses, and each value read kept, but the items of an array
        of objects, made on first read (and then never failing). For an answer that must be
        usable whole before it is kept."""
        model = cls._VIEW(data) if type(data) is dict else cls.from_answer(data)
        try:
            cls._FILL(model)
        except RecursionError:
            raise MalformedResponse(f"{cls.__name__} is nested too deeply to read") from None
        return model

    def _read_all(self) -> None:
        """Read every field now (generated per model: straight-line code, no loop)."""
        raise NotImplementedError


class _AsDataclass:
    """``__dataclass_fields__`` and ``__dataclass_params__`` of a model, made on first use
    (by ``dataclasses.fields``, ``replace``, ``asdict``, ``is_dataclass``) from what
    ``@dataclass`` would have made of it, then kept on the class."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type) -> Any:
        if owner is LazyModel or not issubclass(owner, LazyModel):
            raise AttributeError(self.name)
        shadow = _dataclass_of(owner)
        for name in ("__dataclass_fields__", "__dataclass_params__"):
            type.__setattr__(owner, name, getattr(shadow, name))
        return getattr(shadow, self.name)


def _dataclass_of(cls: type[LazyModel]) -> type:
    """The dataclass ``@dataclass(frozen=True, repr=False)`` makes of a model's fields, their
    defaults its ``__init__``'s (``extra`` and ``raw`` from a factory, ``raw`` not compared)."""
    import dataclasses

    names = cls._NAMES
    defaults = cls.__init__.__defaults__ or ()
    annotations = cls.__init__.__annotations__
    specs: list[tuple[str, Any, Any]] = []
    for name, default in zip(names, defaults, strict=True):
        if name == "extra":
            spec = dataclasses.field(default_factory=_empty)
        elif name == "raw":
            spec = dataclasses.field(default_factory=_empty, compare=False, repr=False)
        else:
            spec = dataclasses.field(default=default)
        specs.append((name, annotations[name], spec))
    return dataclasses.make_dataclass(cls.__name__, specs, frozen=True, repr=False)


def _empty() -> Mapping[str, Any]:
    return _EMPTY


for _name in ("__dataclass_fields__", "__dataclass_params__"):
    type.__setattr__(LazyModel, _name, _AsDataclass(_name))


set_data: Callable[[LazyModel, dict[str, Any]], None] = LazyModel.__dict__["_data"].__set__
"""Put the JSON object behind a model (the generated views' first step)."""


def read_enum(cls: type[E], schema: str, name: str, value: Any) -> E:
    """An enum value (not None); one this version does not know becomes ``UNKNOWN``."""
    member = cls._value2member_map_.get(value) if type(value) is str else None
    if member is not None:
        return member  # type: ignore[return-value]
    return cls.parse(_wire.read_string(schema, name, value) or "")


def read_message(cls: type[L], schema: str, name: str, value: Any) -> L:
    """A nested object (not None) as a model ``cls`` over it, nothing read yet."""
    if type(value) is dict:
        model: L = cls._VIEW(value)
        return model
    if not isinstance(value, Mapping):
        raise _wire._fail(schema, name, value, "a JSON object")
    return cls.from_answer(value)


def read_messages(cls: type[L], schema: str, name: str, value: Any) -> tuple[L, ...]:
    """An array of objects as a tuple of models ``cls`` over them, nothing read yet."""
    if value is None:
        return ()
    if type(value) is list and set(map(type, value)) <= DICTS_ONLY:
        return tuple(map(cls._VIEW, value))
    if not isinstance(value, (list, tuple)):
        raise _wire._fail(schema, name, value, "a JSON array")
    out = []
    for index, item in enumerate(value):
        if isinstance(item, Mapping):
            out.append(read_message(cls, schema, name, item))
        else:
            raise MalformedResponse(
                f"{schema}.{name}[{index}] must be a JSON object, not {_wire._kind(item)}"
            )
    return tuple(out)


def extra_of(data: dict[str, Any], known: frozenset[str]) -> Mapping[str, Any]:
    """The fields of ``data`` a schema does not describe, read-only (often none)."""
    if data.keys() <= known:
        return _EMPTY
    unknown = {k: v for k, v in data.items() if k not in known}
    return freeze(unknown) if unknown else _EMPTY


def readers(
    schema: str, known: Iterable[str], fields: Mapping[str, tuple[str, ValueReader]]
) -> dict[str, FieldReader]:
    """The ``_READERS`` of a model: each attribute's reader, ``extra`` (the fields the schema
    does not describe, kept read-only as they came) and ``raw`` (a read-only view)."""
    out: dict[str, FieldReader] = {}
    for attr, (name, read) in fields.items():
        out[attr] = _field_reader(schema, name, read)
    known_names = frozenset(known)
    out["extra"] = lambda data: extra_of(data, known_names)
    out["raw"] = FrozenMap
    return out


def _field_reader(schema: str, name: str, read: ValueReader) -> FieldReader:
    if read is _wire.read_string:  # the commonest field, read without a second call

        def read_text(data: dict[str, Any]) -> str | None:
            value = data.get(name)
            if value is None or type(value) is str:
                return value
            return _wire.read_string(schema, name, value)

        return read_text
    return lambda data: read(schema, name, data.get(name))


def enum_of(cls: type[E]) -> ValueReader:
    """A reader of an enum value; one this version does not know becomes ``UNKNOWN``."""

    def read(schema: str, name: str, value: Any) -> E | None:
        return None if value is None else read_enum(cls, schema, name, value)

    return read


def message_of(cls: type[LazyModel]) -> ValueReader:
    """A reader of a nested object as the model ``cls``."""

    def read(schema: str, name: str, value: Any) -> LazyModel | None:
        return None if value is None else read_message(cls, schema, name, value)

    return read


def messages_of(cls: type[LazyModel]) -> ValueReader:
    """A reader of an array of objects as a tuple of models ``cls``."""

    def read(schema: str, name: str, value: Any) -> tuple[LazyModel, ...]:
        return read_messages(cls, schema, name, value)

    return read


class _Model(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


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
            self.data[name] = _wire.write_number(value)

    def int64(self, name: str, value: int | None) -> None:
        if value is not None:
            self.data[name] = str(value)

    def timestamp(self, name: str, value: datetime | None) -> None:
        if value is not None:
            self.data[name] = _wire.write_timestamp(name, value)

    def duration(self, name: str, value: timedelta | None) -> None:
        if value is not None:
            self.data[name] = _wire.write_duration(name, value)

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
