"""The value classes on a client's start-up path (``RetryPolicy``, ``ErrorInfo``,
``JournalEntry``, ``DocumentSource``) are :class:`~picker_discovery._frozen.FrozenValue`s, which
cost a plain class to define: each must still be the frozen dataclass it was. Each is compared
with that ``@dataclass(frozen=True)``, declared here as it was."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
import random
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest

from picker_discovery import ErrorInfo, RetryPolicy
from picker_discovery._discovery import DocumentSource, SourceKind
from picker_discovery._errors_http import _parse_body
from picker_discovery._frozen import FrozenValue, set_field
from picker_discovery._journal import JournalEntry
from picker_discovery.errors import BadArgument


@dataclass(frozen=True)
class OldRetryPolicy:
    max_attempts: int = 5
    initial_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 32.0
    jitter: float = 0.1
    rate_limit_delay: float = 30.0
    max_retry_after: float = 300.0
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)


@dataclass(frozen=True)
class OldErrorInfo:
    reason: str
    domain: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OldJournalEntry:
    session_id: str
    endpoint: str
    created: datetime
    expires: datetime | None = None
    account: str | None = None


@dataclass(frozen=True)
class OldDocumentSource:
    kind: SourceKind
    location: str


CREATED = datetime(2030, 1, 1, tzinfo=timezone.utc)
ENTRY = {"session_id": "s1", "endpoint": "https://photospicker.googleapis.com", "created": CREATED}
CASES: list[tuple[type[Any], type[Any], list[dict[str, Any]]]] = [
    (
        RetryPolicy,
        OldRetryPolicy,
        [
            {},
            {"max_attempts": 1},
            {"initial_delay": 0.5, "multiplier": 3, "retry_statuses": frozenset({503})},
            {"random": lambda: 0.25, "jitter": 0},
        ],
    ),
    (
        ErrorInfo,
        OldErrorInfo,
        [
            {"reason": "SERVICE_DISABLED"},
            {"reason": "RATE_LIMIT", "domain": "googleapis.com", "metadata": {"a": "b"}},
            {"reason": "X", "metadata": None},  # kept as given, as the dataclass did
        ],
    ),
    (
        JournalEntry,
        OldJournalEntry,
        [ENTRY, {**ENTRY, "expires": CREATED, "account": "me"}],
    ),
    (DocumentSource, OldDocumentSource, [{"kind": "bundled", "location": "/x.json"}]),
]
PAIRS = [(cls, old) for cls, old, _ in CASES]
INSTANCES = [(cls, old, case) for cls, old, cases in CASES for case in cases]


def _shape(cls: Any) -> list[tuple[Any, ...]]:
    return [
        (f.name, f.type, f.default, f.default_factory, f.init, f.repr, f.compare, f.hash)
        for f in dataclasses.fields(cls)
    ]


def _hash(value: Any) -> int | str:
    try:
        return hash(value)
    except TypeError:  # a field that cannot be hashed (a dict)
        return "unhashable"


@pytest.mark.parametrize(("cls", "old"), PAIRS)
def test_each_is_the_dataclass_it_was(cls: Any, old: Any) -> None:
    assert dataclasses.is_dataclass(cls) is True
    assert _shape(cls) == _shape(old)
    assert cls.__match_args__ == old.__match_args__
    assert cls.__dataclass_params__.frozen and cls.__dataclass_params__.eq
    ours, theirs = inspect.signature(cls).parameters, inspect.signature(old).parameters
    assert list(ours) == list(theirs)
    for name, param in ours.items():
        assert param.kind is theirs[name].kind
        assert repr(param.default) == repr(theirs[name].default)  # a factory shows as one


@pytest.mark.parametrize(("cls", "old", "case"), INSTANCES)
def test_each_value_behaves_as_its_dataclass(cls: Any, old: Any, case: dict[str, Any]) -> None:
    ours: Any = cls(**case)
    theirs: Any = old(**case)
    assert repr(ours) == repr(theirs).replace("Old", "", 1)
    assert _hash(ours) == _hash(theirs)
    assert ours == cls(**case) and (ours != cls(**case)) is False
    assert ours.__eq__(theirs) is NotImplemented and ours != theirs
    assert dataclasses.is_dataclass(type(ours)) and not dataclasses.is_dataclass(int)
    assert dataclasses.asdict(ours) == dataclasses.asdict(theirs)
    assert dataclasses.astuple(ours) == dataclasses.astuple(theirs)
    assert dataclasses.replace(ours) == ours
    assert vars(ours) == vars(theirs)
    assert copy.copy(ours) == ours and copy.deepcopy(ours) == ours
    assert weakref.ref(ours)() is ours
    first = dataclasses.fields(cls)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError, match=f"cannot assign to field '{first}'"):
        setattr(ours, first, None)
    with pytest.raises(dataclasses.FrozenInstanceError, match=f"cannot delete field '{first}'"):
        delattr(ours, first)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(ours, "not_a_field", 1)  # noqa: B010 (any name is refused, not only fields)
    try:
        pickled = pickle.dumps(theirs)
    except pickle.PicklingError:  # a lambda in a field: neither pickles
        with pytest.raises(pickle.PicklingError):
            pickle.dumps(ours)
    else:
        assert pickle.loads(pickle.dumps(ours)) == ours
        assert pickle.loads(pickled) == theirs
    match ours:
        case cls(value):  # the first field, by position
            assert value == getattr(ours, first)


@pytest.mark.parametrize(("cls", "_old", "cases"), CASES)
def test_values_are_equal_exactly_when_their_compared_fields_are(
    cls: Any, _old: Any, cases: list[dict[str, Any]]
) -> None:
    values = [cls(**case) for case in cases]
    for i, a in enumerate(values):
        for j, b in enumerate(values):
            assert (a == b) is (i == j)


def test_hash_and_pickle_of_the_public_value_classes() -> None:
    policy = RetryPolicy(max_attempts=3, jitter=0.5)
    assert pickle.loads(pickle.dumps(policy)) == policy
    assert len({policy, RetryPolicy(max_attempts=3, jitter=0.5), RetryPolicy()}) == 2
    assert RetryPolicy(random=lambda: 0.5) == RetryPolicy()  # random is not compared
    info = ErrorInfo("QUOTA", "googleapis.com", {"service": "photospicker"})
    assert pickle.loads(pickle.dumps(info)) == info
    with pytest.raises(TypeError):
        hash(info)  # as the dataclass: its metadata is a dict, which cannot be hashed
    assert ErrorInfo("x").metadata == {} and ErrorInfo("x").metadata is not ErrorInfo("x").metadata


def test_replace_checks_a_retry_policy_as_building_one_does() -> None:
    policy = dataclasses.replace(RetryPolicy(), max_attempts=2, initial_delay=0)
    assert (policy.max_attempts, policy.initial_delay, policy.max_delay) == (2, 0, 32.0)
    with pytest.raises(BadArgument, match="max_attempts must be at least 1"):
        dataclasses.replace(policy, max_attempts=0)
    with pytest.raises(BadArgument, match="multiplier must be at least 1"):
        RetryPolicy(multiplier=0.5)


def test_a_subclass_is_a_value_of_its_own_fields() -> None:
    class Point(FrozenValue):
        x: int
        y: int
        tag: str
        _HIDDEN = frozenset({"tag"})

        def __init__(self, x: int, y: int = 0, tag: str = "") -> None:
            set_field(self, "x", x)
            set_field(self, "y", y)
            set_field(self, "tag", tag)

    class Point3(Point):
        z: int

        def __init__(self, x: int, y: int = 0, tag: str = "", z: int = 0) -> None:
            super().__init__(x, y, tag)
            set_field(self, "z", z)

    assert Point(1, 2, "a") == Point(1, 2, "b") and repr(Point(1, 2, "a")).endswith(
        ".Point(x=1, y=2)"
    )
    assert Point(1) != Point3(1)  # another class, as dataclasses compare
    assert [f.name for f in dataclasses.fields(Point3)] == ["x", "y", "tag", "z"]
    assert [f.name for f in dataclasses.fields(Point)] == ["x", "y", "tag"]
    assert dataclasses.replace(Point3(1, z=3), y=2) == Point3(1, 2, z=3)
    assert dataclasses.fields(Point)[2].compare is False


def test_a_document_source_reads_as_its_place_and_kind() -> None:
    assert str(DocumentSource("bundled", "/x.json")) == "/x.json (bundled)"


def test_each_error_body_has_its_own_details_list() -> None:
    first, second = _parse_body(b"not json"), _parse_body(b"<html></html>")
    assert first.details == [] and first.text == "not json" and first.status is None
    assert first.details is not second.details
    body = _parse_body(b'{"error": {"status": "NOT_FOUND", "message": " gone ", "details": [1]}}')
    assert (body.status, body.message, body.details) == ("NOT_FOUND", "gone", [1])
