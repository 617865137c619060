"""Which part of the package may import which: the data flows one way, and nothing reaches up.

document -> service -> client, the downloader (media) under the client; the command line, the
notebook and the package root sit on top of the client; the test kit knows the document, the
service and its own backend, never the client or the downloader; its pytest plugin and its
commands sit on top of both. The models and the errors import nothing above them. Every import
counts, at module level or inside a function, read with ``ast`` from the source files.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import picker_discovery

PACKAGE = Path(picker_discovery.__file__).parent

# Every module of the package, by layer. A new module must be placed here.
LAYERS: dict[str, set[str]] = {
    "leaf": {
        "errors",
        "_errorbase",
        "_frozen",
        "_errors_auth",
        "_errors_http",
        "_errors_media",
        "_errors_session",
        "_service_types",
        "_types",
        "_checks",
        "_cleanup",
        "_clock",
        "_convert",
        "_wire",
        "_dirs",
        "_lazy",
        "_journal",
        "_pacing",
        "_paging",
        "_ratelimit",
        "_retry",
        "_secrets",
        "_terminal",
        "_urls",
        "testing.library",
        "testing.schema",
    },
    # The models and how they show themselves (repr, HTML): they load no HTTP library.
    "models": {"models", "notebook._render"},
    "document": {"_discovery", "_document_urls"},
    "service": {"_service", "_auth", "_auth_remote"},
    "media": {
        "_media",
        "_media.body",
        "_media.folder",
        "_media.durable",
        "_media.hosts",
        "_media.items",
        "_media.jobs",
        "_media.listing",
        "_media.names",
        "_media.finish",
        "_media.pool",
        "_media.results",
        "_media.resume",
        "_media.run",
        "_media.transfer",
        "_media.direct",
    },
    "client": {
        "_aio",
        "_aio._client",
        "_aio._downloads",
        "_aio._items",
        "_aio._many",
        "_aio._poll",
        "_aio._send",
        "_aio._transfer",
        "_aio._waiting",
        "_client",
        "_arguments",
        "_bookkeeping",
        "_execute",
        "_items",
        "_many",
        "_schedule",
        "_step",
        "_waiting",
    },
    "app": {
        "",
        "__main__",
        "_cli",
        "_cli._api",
        "_cli._args",
        "_cli._common",
        "_cli._document",
        "_cli._examples",
        "_cli._items",
        "_cli._login",
        "_cli._main",
        "_cli._pick",
        "_cli._screen",
        "_cli._sessions",
        "notebook",
        "notebook._grid",
        "notebook._pick",
        "notebook._thumbnails",
        "web",
        "web._answers",
        "web._config",
        "web._endpoints",
        "web._credentials",
        "web._signin",
        "web._store",
    },
    "kit": {
        "testing._control",
        "testing._handler",
        "testing._fields",
        "testing._batch",
        "testing._server",
        "testing._http",
        "testing._media_app",
        "testing.app",
        "testing.backend",
        "testing.faults",
        "testing._api_errors",
        "testing._handlers",
        "testing._records",
        "testing._times",
        "testing.canned",
        "testing.emulator",
        "testing.page",
        "testing._params",
        "testing._config",
        "testing._routes",
        "testing._oauth",
        "testing._oauth_clients",
        "testing._oauth_tokens",
        "testing._oauth_pages",
        "testing._oauth_routes",
        "testing._emulator_oauth",
        "testing._cors",
        "testing.transport",
        "testing.async_transport",
    },
    # The stubber hands out a ready PickerClient too, so it sits with the plugin.
    "kit_top": {"testing", "testing.commands", "testing.pytest_plugin", "testing.stubber"},
}

# What each layer may import (itself included).
MAY_IMPORT: dict[str, set[str]] = {
    "leaf": {"leaf"},
    "models": {"leaf", "models"},
    "document": {"leaf", "document"},
    "service": {"leaf", "document", "service"},
    "media": {"leaf", "models", "media"},
    "client": {"leaf", "models", "document", "service", "media", "client"},
    "app": {"leaf", "models", "document", "service", "media", "client", "app"},
    "kit": {"leaf", "models", "document", "service", "kit"},
    "kit_top": {
        "leaf",
        "models",
        "document",
        "service",
        "media",
        "client",
        "app",
        "kit",
        "kit_top",
    },
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, known: set[str], *, at_run_time: bool) -> set[str]:
    """The package modules ``path`` imports (all of them, or only those run, not type-only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    if at_run_time:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and _is_type_checking(node):
                skipped |= {id(inner) for stmt in node.body for inner in ast.walk(stmt)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from a import b`: module a.b if b is one, else a name taken from module a.
            for alias in node.names:
                inner = f"{node.module}.{alias.name}".removeprefix("picker_discovery.")
                names.append(f"picker_discovery.{inner}" if inner in known else node.module)
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError(f"{path}: relative import; write picker_discovery.<module>")
        for name in names:
            if name == "picker_discovery" or name.startswith("picker_discovery."):
                found.add(name.removeprefix("picker_discovery").removeprefix("."))
    return found


def _layer_of() -> dict[str, str]:
    return {module: layer for layer, modules in LAYERS.items() for module in modules}


def test_every_module_has_a_layer() -> None:
    assert set(_modules()) == set(_layer_of()), "place new modules in LAYERS"


@pytest.mark.parametrize("module", sorted(_modules()))
def test_a_module_imports_only_from_the_layers_below_it(module: str) -> None:
    layer_of = _layer_of()
    modules = _modules()
    allowed = MAY_IMPORT[layer_of[module]]
    upward = {
        target
        for target in _imports(modules[module], set(modules), at_run_time=False)
        if layer_of[target] not in allowed
    }
    assert not upward, f"picker_discovery.{module} ({layer_of[module]}) imports {sorted(upward)}"


def test_no_import_cycle_at_run_time() -> None:
    modules = _modules()
    graph = {
        name: _imports(path, set(modules), at_run_time=True) - {name}
        for name, path in modules.items()
    }
    # A package's __init__ runs before its modules: importing a.b imports a.
    for name in modules:
        if "." in name:
            graph[name].add(name.rsplit(".", 1)[0])
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_the_command_line_and_the_models_never_load_the_test_kit() -> None:
    modules = _modules()
    command_line = {name for name in modules if name.split(".")[0] == "_cli"}
    for module in sorted(command_line | {"__main__", "", "models", "errors"}):
        found = _imports(modules[module], set(modules), at_run_time=False)
        assert not {m for m in found if m.split(".")[0] == "testing"}, module
