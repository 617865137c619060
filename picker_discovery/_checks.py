"""Checks of the arguments of a pick, made before a session is created.

A person's picking is the expensive part of the flow: an argument that cannot work (a folder
that cannot be written, a size or worker count out of range, a timeout that is not a number)
must fail before ``sessions.create`` is sent, not after the user has picked. The command line,
``notebook.pick`` and ``PickerClient.download_session`` share these checks, so they agree on
what is valid and say so in the same words.

Every check raises ``BadArgument``, a ``ValueError`` (or ``BadArgumentType``, also a
``TypeError``, for a value of the wrong type) with a message that names the argument, the value
and what would be valid. A leaf: it imports only the error base.
"""

from __future__ import annotations

import functools
import math
import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path

from picker_discovery._errorbase import BadArgument, BadArgumentType

MAX_WORKERS = 64
"""The most downloads at once: far above what one connection benefits from, low enough that a
typo (``--workers 4000``) cannot start thousands of threads."""

DEFAULT_WORKERS = 16
"""The downloads at once unless told otherwise (the library's ``Downloader`` and the command
line's ``--workers`` alike): chosen for latency, as an item's time on a real network is mostly
waiting for its first byte (see ``Downloader``)."""

MAX_TIMEOUT = 7 * 24 * 3600.0
"""The longest wait accepted, in seconds: a week, the longest a session is reported to live."""

MAX_ITEM_COUNT = 2000
"""The most items a user may pick in one session (``pickingConfig.maxItemCount``)."""

MAX_DIMENSION = 16383
"""The largest width or height of a ``=wW-hH`` suffix (``picker_discovery.Size``)."""


# The forms of text arguments, compiled on first use: building a client needs none of them.
@functools.cache
def _ascii_int() -> re.Pattern[str]:
    return re.compile(r"[+-]?[0-9]+")


@functools.cache
def _ascii_size() -> re.Pattern[str]:
    return re.compile(r"([0-9]+)[xX]([0-9]+)")


@functools.cache
def _ascii_number() -> re.Pattern[str]:
    return re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_int(text: str, name: str) -> int:
    """``text`` as an int, written with ASCII digits only (Python's ``int()`` also takes
    Arabic-Indic and fullwidth digits, and refuses a superscript two with a message about
    base 10)."""
    stripped = text.strip()
    if not _ascii_int().fullmatch(stripped) or len(stripped) > 20:
        raise BadArgument(
            f"{name} must be a whole number written with the digits 0-9, not {text!r}"
        )
    return int(stripped)


def parse_seconds(text: str, name: str) -> float:
    """``text`` as a number of seconds in plain ASCII decimal notation (no ``nan``, ``inf``)."""
    stripped = text.strip()
    if not _ascii_number().fullmatch(stripped) or len(stripped) > 40:
        raise BadArgument(f"{name} must be a number of seconds such as 30 or 0.5, not {text!r}")
    return float(stripped)


def check_count(value: object, name: str, low: int, high: int) -> int:
    """An int from ``low`` to ``high`` (not a bool, a float or a string)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadArgumentType(f"{name} must be a whole number from {low} to {high}, not {value!r}")
    if not low <= value <= high:
        raise BadArgument(f"{name} must be from {low} to {high}, not {value}")
    return value


def check_workers(value: object, name: str = "workers") -> int:
    """How many downloads run at once: 1 to :data:`MAX_WORKERS`."""
    return check_count(value, name, 1, MAX_WORKERS)


def check_timeout(value: object, name: str = "timeout") -> float | None:
    """A wait in seconds (or a ``timedelta``): positive and finite, at most a week; or None."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadArgumentType(f"{name} must be seconds (a number) or a timedelta, not {value!r}")
    if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT):
        raise BadArgument(
            f"{name} must be a positive number of seconds, at most {MAX_TIMEOUT:.0f} "
            f"(a week), not {value}"
        )
    return float(value)


def parse_size(text: str, name: str = "--size") -> tuple[int, int]:
    """``'1024x768'`` as ``(1024, 768)``: ASCII digits, each side 1 to :data:`MAX_DIMENSION`."""
    match = _ascii_size().fullmatch(text.strip())
    if match is None:
        raise BadArgument(f"{name} must look like 1024x768 (digits 0-9), not {text!r}")
    sides = {"width": match[1], "height": match[2]}
    for side, digits in sides.items():
        if len(digits) > 9 or not 1 <= int(digits) <= MAX_DIMENSION:
            raise BadArgument(
                f"{name} {side} must be from 1 to {MAX_DIMENSION} pixels, not {digits}"
            )
    width, height = int(match[1]), int(match[2])
    return width, height


def check_folder(folder: str | os.PathLike[str], name: str = "folder") -> Path:
    """Check that ``folder`` is, or can be made, a directory this process can write files in.

    Writability is really tried: missing directories are created, a temporary file is made and
    removed in the folder, then the directories this check created are removed again, so a
    check that fails (or a run that stops before downloading) leaves nothing behind.

    Raises:
        ValueError: naming ``folder``, what is wrong and what to do.
    """
    path = Path(folder)
    if str(folder) == "":
        raise BadArgument(f"{name} is empty: name a folder, e.g. '.' for the current one")
    created: list[Path] = []
    try:
        missing: list[Path] = []
        current = path
        while not current.exists() and not current.is_symlink() and current != current.parent:
            missing.append(current)
            current = current.parent
        if not current.is_dir():
            raise BadArgument(
                f"{name} {str(path)!r} cannot be used: {str(current)!r} is not a directory; "
                "name a folder to download into"
            )
        for directory in reversed(missing):
            directory.mkdir()
            created.append(directory)
        handle, probe = tempfile.mkstemp(prefix=".picker-write-check-", dir=path)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
        raise BadArgument(
            f"{name} {str(path)!r} is not a folder this program can write in: "
            f"{exc.strerror or exc}{where}; choose another folder or fix its permissions"
        ) from None
    finally:
        for directory in reversed(created):
            try:
                directory.rmdir()
            except OSError:  # not empty any more, or gone: leave it
                break
    return path
