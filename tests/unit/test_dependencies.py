"""Every package the code imports directly is declared in setup.cfg, not borrowed from another's."""

from __future__ import annotations

import ast
import configparser
import re
import sys
from pathlib import Path

import picker_discovery

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(picker_discovery.__file__).parent
WEBAPP = ROOT / "examples" / "webapp"
FIRST_PARTY = ("picker_discovery", "examples")

# The distribution each imported name comes from (google.* is a namespace of several).
DISTRIBUTION = {
    "google.auth": "google-auth",
    "google.oauth2": "google-auth",
    "google.protobuf": "protobuf",
    "google_auth_httplib2": "google-auth-httplib2",
    "google_auth_oauthlib": "google-auth-oauthlib",
    "oauthlib": "oauthlib",
    "googleapiclient": "google-api-python-client",
    "httplib2": "httplib2",
    "httpx": "httpx",
    "anyio": "anyio",
    "uritemplate": "uritemplate",
    "requests": "requests",
    "urllib3": "urllib3",
    "segno": "segno",
    "tqdm": "tqdm",
    "PIL": "Pillow",
    "IPython": "ipython",
    "pytest": "pytest",
    "flask": "flask",
    "werkzeug": "werkzeug",
}


def _imported(folder: Path = PACKAGE) -> set[str]:
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                top = ".".join(parts[:2]) if parts[0] == "google" else parts[0]
                if parts[0] not in sys.stdlib_module_names and parts[0] not in FIRST_PARTY:
                    names.add(top)
    return names


def _declared(*extras: str) -> set[str]:
    """The distributions the core and ``extras`` (all of them when none is named) require."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    lines = config["options"]["install_requires"].splitlines()
    for name, extra in config["options.extras_require"].items():
        if not extras or name in extras:
            lines += extra.splitlines()
    found = set()
    for line in lines:
        match = re.match(r"\s*([A-Za-z0-9._-]+)", line)
        if match and not line.lstrip().startswith("#"):
            found.add(match.group(1).lower())
    return found


def test_every_imported_package_is_known() -> None:
    assert _imported() - set(DISTRIBUTION) == set(), "add the new import to DISTRIBUTION"


def test_every_imported_package_is_declared() -> None:
    needed = {DISTRIBUTION[name].lower() for name in _imported()}
    assert needed - _declared() == set()


def test_the_core_imports_are_core_requirements() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    core = config["options"]["install_requires"]
    for name in ("requests", "urllib3", "protobuf", "httplib2", "uritemplate"):
        assert re.search(rf"^\s*{name}\b", core, re.M), name


def test_the_example_web_app_needs_only_the_webapp_extra() -> None:
    # `pip install 'picker-discovery[webapp]'` is all the README asks of someone running it.
    imported = _imported(WEBAPP)
    assert "flask" in imported and imported - set(DISTRIBUTION) == set()
    needed = {DISTRIBUTION[name].lower() for name in imported}
    assert needed - _declared("webapp") == set()


def test_the_test_extra_brings_what_the_web_apps_tests_need() -> None:
    assert {"flask", "werkzeug"} <= _declared("test")
