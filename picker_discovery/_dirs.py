"""Per-user directories on each platform (a leaf: no other project import)."""

from __future__ import annotations

import os
import sys
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
