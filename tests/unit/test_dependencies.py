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
}


def _imported() -> set[str]:
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
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
                if parts[0] not in sys.stdlib_module_names and parts[0] != "picker_discovery":
                    names.add(top)
    return names


def _declared() -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    lines = config["options"]["install_requires"].splitlines()
    for extra in config["options.extras_require"].values():
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
