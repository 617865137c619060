"""A non-editable install carries the discovery document and works from anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path


def test_the_wheel_carries_the_document_and_the_type_marker(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "picker_discovery/discovery_cache/photospicker.v1.json" in names
    assert "picker_discovery/py.typed" in names
    assert not any(name.startswith(("tests/", "discovery_cache/")) for name in names)


def test_the_installed_wheel_builds_the_service(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    program = (
        "import picker_discovery, picker_discovery._discovery as d\n"
        "from picker_discovery.testing import canned\n"
        "service = picker_discovery.build(http=canned.mock('sessions.delete'))\n"
        "print(picker_discovery.__file__)\n"
        "print(d.load_document()[1].location)\n"
        "print(service.sessions().delete(sessionId='s').execute())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("PICKER_DISCOVERY_DOCUMENT", None)
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    module, document, answer = result.stdout.splitlines()
    assert Path(module).is_relative_to(site)
    assert Path(document) == site / "picker_discovery/discovery_cache/photospicker.v1.json"
    assert answer == "{}"


def test_the_wheel_has_every_package_of_the_source_tree(wheel: Path) -> None:
    package = Path(__file__).resolve().parents[2] / "picker_discovery"
    in_source = {
        str(init.parent.relative_to(package.parent))
        for init in package.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    in_wheel = {
        name.rsplit("/", 1)[0]
        for name in zipfile.ZipFile(wheel).namelist()
        if name.endswith("/__init__.py")
    }
    assert in_source - in_wheel == set(), "add them to packages in setup.cfg"
