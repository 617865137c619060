"""A non-editable install carries the discovery document and works from anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(ROOT)],
        check=True,
        cwd=out,
    )  # fmt: skip
    [built] = out.glob("picker_discovery-*.whl")
    return built


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
