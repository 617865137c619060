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


def write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file renamed into place.

    A reader sees the old file or the new one, never a half-written one; a failure (or an
    interruption) leaves no temporary file behind. The file is created with mode 0600 (by
    ``mkstemp``), so a secret written this way is never readable by others.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
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
