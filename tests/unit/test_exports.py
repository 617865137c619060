"""The package root is the public surface: one list of names, each real, each reading as ours."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import picker_discovery
from picker_discovery import errors, models


def _typing_block_names() -> set[str]:
    """The names the ``if TYPE_CHECKING:`` block of ``__init__`` re-exports (what mypy sees)."""
    tree = ast.parse(Path(picker_discovery.__file__).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom)
                names |= {alias.asname or alias.name for alias in statement.names}
    return names


def test_the_declared_exports_are_the_real_ones() -> None:
    declared = set(picker_discovery.__all__)
    assert len(declared) == len(picker_discovery.__all__)
    for name in declared:
        assert getattr(picker_discovery, name) is not None, name
    # Submodules appear as attributes once imported (testing, notebook): they are not names.
    public = {
        name
        for name in dir(picker_discovery)
        if not name.startswith("_") and not inspect.ismodule(getattr(picker_discovery, name))
    }
    assert public - {"annotations", "TYPE_CHECKING", "Any"} == declared - {"errors", "models"}


def test_what_type_checkers_see_is_what_runs() -> None:
    assert _typing_block_names() == set(picker_discovery.__all__)


def test_every_error_and_every_model_is_exported_from_the_root() -> None:
    for module in (errors, models):
        missing = {
            name
            for name in module.__all__
            if inspect.isclass(getattr(module, name)) or inspect.isfunction(getattr(module, name))
        } - set(picker_discovery.__all__)
        assert not missing, f"{module.__name__} names missing from the root: {sorted(missing)}"


def test_the_root_has_what_the_readme_uses() -> None:
    for name in ("PickerClient", "build", "Downloader", "Size", "RetryPolicy", "FakeClock"):
        assert name in picker_discovery.__all__
    for name in ("SessionJournal", "refresh", "SCOPE", "SessionNotFound", "DownloadResult"):
        assert name in picker_discovery.__all__


def test_classes_of_private_modules_read_as_the_package() -> None:
    assert repr(picker_discovery.PickerClient) == "<class 'picker_discovery.PickerClient'>"
    assert repr(picker_discovery.Downloader) == "<class 'picker_discovery.Downloader'>"
    for name in picker_discovery.__all__:
        value = getattr(picker_discovery, name)
        module = getattr(value, "__module__", None)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert not str(module).startswith("picker_discovery._"), (name, module)


def test_the_private_modules_are_not_public_names() -> None:
    for name in ("client", "service", "discovery", "media", "cli", "auth", "retry", "clock"):
        with pytest.raises(AttributeError, match=name):
            getattr(picker_discovery, name)
