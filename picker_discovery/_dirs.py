"""Per-user directories, and writing files there safely (a leaf: no other project import)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

APP = "picker-discovery"


def _xdg(variable: str, default: str) -> Path:
    value = os.environ.get(variable, "").strip()
    return Path(value) if value and os.path.isabs(value) else Path.home() / default


def user_cache_dir() -> Path:
    """Where data that can be fetched again lives (the refreshed discovery document)."""
    if sys.platform == "win32":
        return _xdg("LOCALAPPDATA", "AppData/Local") / APP / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP
    return _xdg("XDG_CACHE_HOME", ".cache") / APP


def user_config_dir() -> Path:
    """Where the user's settings and secrets live (the OAuth token)."""
    if sys.platform == "win32":
        return _xdg("APPDATA", "AppData/Roaming") / APP
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP
    return _xdg("XDG_CONFIG_HOME", ".config") / APP


def user_state_dir() -> Path:
    """Where state this machine keeps between runs lives (the journal of open sessions)."""
    if sys.platform == "win32":
        return _xdg("LOCALAPPDATA", "AppData/Local") / APP / "State"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP
    return _xdg("XDG_STATE_HOME", ".local/state") / APP


def make_private_dir(path: Path) -> None:
    """Create ``path`` and any missing parents with mode 0700 (owner only), as the XDG base
    directory specification asks. Directories that exist already are left as they are."""
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by another process
            continue
        if os.name == "posix":
            os.chmod(directory, 0o700)  # whatever the umask


def write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file renamed into place.

    A reader sees the old file or the new one, never a half-written one; a failure (or an
    interruption) leaves no temporary file behind. The file is created with mode 0600 (by
    ``mkstemp``), so a secret written this way is never readable by others, not even for a
    moment; missing directories are created 0700. The file is flushed to disk before the
    rename and the directory after it, so a crash cannot leave the rename unrecorded or the
    name pointing at an empty file.
    """
    make_private_dir(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new name in ``directory`` durable (a no-op where directories cannot
    be opened, as on Windows)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
