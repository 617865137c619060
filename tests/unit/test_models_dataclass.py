"""The models are the frozen dataclasses they were, with their methods written out instead of
compiled by ``@dataclass`` at import: each is compared with the dataclass that decorator makes
of the same fields."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import json
from pathlib import Path
from typing import Any

import pytest

from picker_discovery import models
from picker_discovery._convert import EMPTY, LazyModel
from picker_discovery.testing import canned
from tests.unit.test_fuzz_models import MODELS
from tests.unit.test_models import _generator

ROOT = Path(__file__).resolve().parents[2]


def _reference(name: str) -> Any:
    """What ``@dataclass(frozen=True, slots=True)`` makes of the schema's fields (the models
    show some in short, and others in the dataclass form)."""
    generator = _generator()
    document = json.loads((ROOT / "discovery_cache" / "photospicker.v1.json").read_text("utf-8"))
    properties = document["schemas"][name]["properties"]
    specs: list[tuple[str, Any, Any]] = []
    for prop in sorted(properties):
        spec, _ = generator.field_for(name, prop, properties[prop])
        specs.append((spec.attr, spec.annotation, dataclasses.field(default=eval(spec.default))))
    specs.append(("extra", "Mapping[str, Any]", dataclasses.field(default_factory=lambda: EMPTY)))
    raw = dataclasses.field(default_factory=lambda: EMPTY, compare=False, repr=False)
    specs.append(("raw", "Mapping[str, Any]", raw))
    return dataclasses.make_dataclass(name, specs, frozen=True, slots=True)


def _shape(cls: Any) -> list[tuple[Any, ...]]:
    return [
        (f.name, f.type, f.default, f.init, f.repr, f.compare, f.hash, f.kw_only)
        for f in dataclasses.fields(cls)
    ]


@pytest.mark.parametrize("name", MODELS)
def test_a_model_has_the_fields_and_signature_of_its_dataclass(name: str) -> None:
    cls, reference = getattr(models, name), _reference(name)
    assert dataclasses.is_dataclass(getattr(models, name))
    assert _shape(cls) == _shape(reference)
    for spec in dataclasses.fields(cls):
        if spec.default_factory is not dataclasses.MISSING:
            assert spec.default_factory() is EMPTY
    assert cls.__match_args__ == reference.__match_args__
    ours, theirs = inspect.signature(cls).parameters, inspect.signature(reference).parameters
    assert list(ours) == list(theirs)
    for param in ours.values():
        expected = theirs[param.name].default
        default = EMPTY if expected is dataclasses.MISSING or callable(expected) else expected
        assert param.default == (EMPTY if param.name in ("extra", "raw") else default)
        assert param.kind is theirs[param.name].kind


@pytest.mark.parametrize("name", MODELS)
def test_a_model_built_in_code_behaves_as_its_dataclass(name: str) -> None:
    cls, reference = getattr(models, name), _reference(name)
    ours, theirs = cls(), reference()
    for spec in dataclasses.fields(reference):
        assert getattr(ours, spec.name) == getattr(theirs, spec.name)
    assert ours == cls() and ours == cls(raw={"anything": 1})  # raw is not compared
    assert ours != cls(extra={"x": 1}) and ours != theirs  # another class is never equal
    assert (ours == theirs) is False and ours.__eq__(theirs) is NotImplemented
    first = dataclasses.fields(reference)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(ours, first, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(ours, first)
    assert copy.copy(ours) == ours
    assert LazyModel.__repr__(ours) == repr(theirs)


def test_replace_and_hash_of_a_model_read_from_an_answer() -> None:
    session = models.PickingSession.from_answer(canned.body("sessions.create"))
    other = dataclasses.replace(session, id="other")
    assert other.id == "other" and other.picker_uri == session.picker_uri
    assert other != session and dataclasses.replace(session) == session
    config = models.PollingConfig(extra={})  # a plain dict: hashable parts but for it
    with pytest.raises(TypeError):
        hash(config)  # as the dataclass: extra is a mapping, which cannot be hashed
    assert session.__getstate__() == [getattr(session, f) for f in session.__match_args__]
    copied = copy.copy(session)
    assert copied == session and copied.raw == session.raw


def test_the_base_class_is_not_a_dataclass() -> None:
    assert not dataclasses.is_dataclass(LazyModel)
