"""Frozen value classes that cost a plain class to define: :class:`FrozenValue`.

``@dataclass(frozen=True)`` compiles ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``,
``__setattr__`` and ``__delattr__`` with ``exec`` for each class as it is defined: 4-6 M
instructions a class on Python 3.11, paid at start-up for each such class on a client's path.
A value class there is written instead as::

    class Policy(FrozenValue):
        limit: int
        source: Callable[[], float]
        _HIDDEN = frozenset({"source"})  # neither compared nor shown

        def __init__(self, limit: int = 5, source: Callable[[], float] = random.random) -> None:
            set_field(self, "limit", limit)
            set_field(self, "source", source)

Its fields are its ``__init__``'s parameters, in order, their defaults the fields' defaults (in
one place: the signature). It is what ``@dataclass(frozen=True)`` would make of them, with the
methods written here once: equality with an instance of the same class only and a hash, both
over the compared fields; ``Name(field=value, ...)`` over the shown ones; assignment and
deletion refused with ``FrozenInstanceError``; ``__match_args__``; pickling and copying as
before (the instance keeps a ``__dict__``); and ``__dataclass_fields__`` made on first use, so
``dataclasses.fields``, ``replace``, ``asdict`` and ``is_dataclass`` work as before. A field
whose default is :data:`FACTORY` gets a fresh value from ``_FACTORIES`` (``default_factory``).
Type checkers see a frozen dataclass (``dataclass_transform``). A leaf: no project import.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # type checkers see no dataclass before 3.11 (the runtime behaviour is the same)
    _T = TypeVar("_T")

    def dataclass_transform(**_: Any) -> Callable[[_T], _T]:
        return lambda cls: cls


__all__ = ["FACTORY", "FrozenMethods", "FrozenValue", "set_field"]

set_field = object.__setattr__
"""Set a field in ``__init__`` (a frozen value refuses plain assignment)."""


class _Factory:
    """The type of :data:`FACTORY`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<factory>"  # as dataclasses shows a default_factory in a signature


FACTORY: Any = _Factory()
"""The default of a field made fresh for each instance by the class's ``_FACTORIES``."""


class FrozenMethods:
    """What a frozen dataclass's methods do, written once (here and for the models, whose
    ``LazyModel`` sets ``_KEY`` its own way): equality with an instance of the same class only,
    over ``_KEY`` (the compared fields, as a tuple), a hash of the same, and assignment and
    deletion refused with ``FrozenInstanceError``."""

    __slots__ = ()
    _KEY: ClassVar[Callable[[Any], tuple[Any, ...]]]

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        key = type(self)._KEY
        return bool(key(self) == key(other))

    def __hash__(self) -> int:
        return hash(type(self)._KEY(self))

    def __setattr__(self, name: str, value: Any) -> None:
        raise frozen_error("assign to", name)

    def __delattr__(self, name: str) -> None:
        raise frozen_error("delete", name)


@dataclass_transform(frozen_default=True)
class FrozenValue(FrozenMethods):
    """Base of a frozen value class (see the module's documentation)."""

    __slots__ = ()
    _HIDDEN: ClassVar[frozenset[str]] = frozenset()
    """Fields neither compared nor shown (``field(compare=False, repr=False)``)."""
    _FACTORIES: ClassVar[Mapping[str, Callable[[], Any]]] = {}
    """Each field whose default is :data:`FACTORY`, and what makes its value."""
    _FIELDS: ClassVar[tuple[str, ...]]
    if TYPE_CHECKING:  # what type checkers know of a dataclass (made on first use)
        from dataclasses import Field

        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        code = cls.__init__.__code__
        fields = code.co_varnames[1 : code.co_argcount]
        compared = [name for name in fields if name not in cls._HIDDEN]
        cls._FIELDS = fields
        type.__setattr__(cls, "__match_args__", fields)
        cls._KEY = _key(compared)
        for name in ("__dataclass_fields__", "__dataclass_params__"):
            type.__setattr__(cls, name, _AsDataclass(name))

    def __repr__(self) -> str:
        hidden = self._HIDDEN
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in self._FIELDS if name not in hidden
        )
        return f"{type(self).__qualname__}({shown})"


def frozen_error(action: str, name: str) -> Exception:
    """The ``FrozenInstanceError`` a frozen dataclass raises on ``action`` of field ``name``
    (``dataclasses`` is imported then: nothing on a client's start-up path needs it before)."""
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError(f"cannot {action} field {name!r}")


class _AsDataclass:
    """``__dataclass_fields__`` and ``__dataclass_params__`` of a frozen value class, made on
    first use from what ``@dataclass(frozen=True)`` makes of its fields, then kept on it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type[FrozenValue]) -> Any:
        shadow = _dataclass_of(owner)
        for name in ("__dataclass_fields__", "__dataclass_params__"):
            type.__setattr__(owner, name, getattr(shadow, name))
        return getattr(shadow, self.name)


def _dataclass_of(cls: type[FrozenValue]) -> type:
    """The dataclass ``@dataclass(frozen=True)`` makes of ``cls``'s fields, with their types,
    their defaults (or factories), and the hidden ones neither compared nor shown."""
    import dataclasses

    init = cls.__init__
    defaults = init.__defaults__ or ()
    missing = len(cls._FIELDS) - len(defaults)
    annotations = _annotations(cls)
    specs: list[tuple[str, Any, Any]] = []
    for index, name in enumerate(cls._FIELDS):
        visible = name not in cls._HIDDEN
        if index < missing:
            spec = dataclasses.field(compare=visible, repr=visible)
        elif name in cls._FACTORIES:
            spec = dataclasses.field(
                default_factory=cls._FACTORIES[name], compare=visible, repr=visible
            )
        else:
            spec = dataclasses.field(
                default=defaults[index - missing], compare=visible, repr=visible
            )
        specs.append((name, annotations.get(name, Any), spec))
    return dataclasses.make_dataclass(cls.__name__, specs, frozen=True)


def _key(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The compared fields of a value, as a tuple (what ``@dataclass`` compares and hashes)."""
    if len(names) > 1:
        return attrgetter(*names)
    return lambda value: tuple(getattr(value, name) for name in names)


def _annotations(cls: type) -> dict[str, Any]:
    """The field annotations of ``cls`` and its bases (as written: strings)."""
    import inspect

    merged: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        merged.update(inspect.get_annotations(klass))
    return merged
