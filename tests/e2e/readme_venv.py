"""A fresh virtual environment with only what the README's install lines bring.

The project's dependencies are taken from this test environment rather than downloaded: a
folder of links to exactly the distributions ``picker-discovery[EXTRAS]`` requires (worked
out from their metadata, so an undeclared dependency is missing there too) is put on the new
environment's path with a ``.pth`` file. pip sees them as installed; ``picker-discovery``
itself is not there, so ``pip install 'picker-discovery[...]'`` installs the wheel given in
``PIP_FIND_LINKS``, with no index.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import Distribution, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = "picker-discovery"


def requirement_closure(extras: tuple[str, ...], *also: str) -> list[Distribution]:
    """The installed distributions ``picker-discovery[extras]`` needs, and ``also``."""
    found: dict[str, Distribution] = {}
    todo: list[tuple[str, tuple[str, ...]]] = [(PROJECT, extras), *((name, ()) for name in also)]
    while todo:
        name, wanted = todo.pop()
        dist = distribution(name)
        key = canonicalize_name(name)
        if key != canonicalize_name(PROJECT):
            found[key] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is not None and not any(
                marker.evaluate({"extra": extra}) for extra in (*wanted, "")
            ):
                continue
            if canonicalize_name(requirement.name) not in found:
                todo.append((requirement.name, tuple(requirement.extras)))
    return list(found.values())


def link_farm(folder: Path, dists: list[Distribution]) -> Path:
    """A folder of links to the top-level files and packages of ``dists``."""
    folder.mkdir(parents=True, exist_ok=True)
    for dist in dists:
        for file in dist.files or []:
            top = file.parts[0]
            if top == ".." or (folder / top).exists():
                continue
            source = Path(str(dist.locate_file(top)))
            if source.exists():
                (folder / top).symlink_to(source)
    return folder


def make_venv(where: Path, farm: Path) -> Path:
    """A new virtual environment at ``where`` (with pip) that also sees ``farm``."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "_project_dependencies.pth").write_text(f"{farm}\n")
    return where


def venv_environment(venv: Path, home: Path, wheel_dir: Path) -> dict[str, str]:
    """An environment for commands in ``venv``: its bin first, a home and XDG folders of its
    own, pip offline with the wheel's folder to install from."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PICKER_DISCOVERY_", "PIP_", "VIRTUAL_ENV", "PYTHON"))
    }
    for name in ("config", "state", "cache"):
        (home / name).mkdir(parents=True, exist_ok=True)
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(wheel_dir),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_BUILD_ISOLATION="0",  # sic: pip reads this as "no build isolation"
    )
    return env
