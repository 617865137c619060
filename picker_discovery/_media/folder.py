"""The target folder: its manifest of finished downloads, and the names taken in it.

A folder is written by one run at a time (a lock file), names are claimed atomically, and the
manifest (``.picker-downloads.jsonl``) records each item downloaded completely, so a later run
skips it; a damaged line is warned about and ignored.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import secrets
import stat
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from picker_discovery._media.durable import GroupSync
from picker_discovery._media.names import (
    _ALLOWED_EXTENSIONS,
    _EXT_BYTES,
    MAX_NAME_BYTES,
    _is_safe_stem,
    _name_key,
    _tidy,
    _truncate_utf8,
)
from picker_discovery.errors import MediaError

_log = logging.getLogger(__name__)

MANIFEST_NAME = ".picker-downloads.jsonl"
"""The file in each target folder that records which items were downloaded completely."""

_MAX_INT = 2**63 - 1
_MAX_ID_CHARS = 4096
_MAX_CONTENT_TYPE_CHARS = 1024
_MAX_MANIFEST_LINE = 64 * 1024  # bytes; far above any line the writer writes
_MAX_WARNINGS = 10  # bad manifest lines warned about one by one, then counted
_VARIANT_RE = re.compile(r"dv?|w\d{1,5}-h\d{1,5}(-c)?")


@dataclass(frozen=True)
class _Entry:
    """One manifest line: an item's file, as the downloader wrote it."""

    item_id: str
    variant: str
    stem: str
    name: str
    size: int
    content_type: str
    mtime_ns: int | None = None  # None in lines written before it was recorded

    def to_line(self) -> bytes:
        data: dict[str, Any] = {
            "id": self.item_id,
            "variant": self.variant,
            "stem": self.stem,
            "name": self.name,
            "size": self.size,
            "content_type": self.content_type,
        }
        if self.mtime_ns is not None:
            data["mtime_ns"] = self.mtime_ns
        # ASCII: a lone surrogate in an id stays a valid, readable escape.
        return (json.dumps(data, ensure_ascii=True, allow_nan=False) + "\n").encode("ascii")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a manifest holds")


def _field(data: Mapping[str, Any], key: str, kind: type, required: bool = True) -> Any:
    value = data.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"{key!r} is not {'an integer' if kind is int else 'a string'}")
    return value


def _parse_entry(line: bytes) -> _Entry:
    """A manifest line as an entry; ValueError says why a line is not one we wrote.

    Every field is checked: ``stem`` and ``name`` must be one safe name in the folder (no
    separator, no ``..``, no leading dot, nothing :func:`safe_stem` would change), the name's
    extension on the allowlist, numbers whole and in range.
    """
    if len(line) > _MAX_MANIFEST_LINE:
        raise ValueError("the line is too long")
    try:
        data = json.loads(line.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("the line nests too deeply") from None
    if not isinstance(data, dict):
        raise ValueError("the line is not a JSON object")
    item_id = _field(data, "id", str)
    if not item_id or len(item_id) > _MAX_ID_CHARS:
        raise ValueError("'id' is empty or too long")
    variant = _field(data, "variant", str)
    if not _VARIANT_RE.fullmatch(variant):
        raise ValueError("'variant' is not one the downloader asks for")
    stem = _field(data, "stem", str)
    if not _is_safe_stem(stem):
        raise ValueError("'stem' is not a safe file name")
    name = _field(data, "name", str)
    ext = name[len(stem) :] if name.startswith(stem) else ""
    if not (ext.isascii() and ext.lower() in _ALLOWED_EXTENSIONS):
        raise ValueError("'name' is not the stem with an allowed extension")
    size = _field(data, "size", int)
    if not 0 <= size <= _MAX_INT:
        raise ValueError("'size' is out of range")
    content_type = _field(data, "content_type", str, required=False) or ""
    if len(content_type) > _MAX_CONTENT_TYPE_CHARS:
        raise ValueError("'content_type' is too long")
    mtime_ns = _field(data, "mtime_ns", int, required=False)
    if mtime_ns is not None and not -_MAX_INT <= mtime_ns <= _MAX_INT:
        raise ValueError("'mtime_ns' is out of range")
    return _Entry(item_id, variant, stem, name, size, content_type, mtime_ns)


def _read_manifest(lines: Iterable[bytes], where: object) -> dict[tuple[str, str], _Entry]:
    """The entries of a manifest's lines, later lines winning; bad lines are skipped with a
    logged warning (the first few by line number, then a count)."""
    entries: dict[tuple[str, str], _Entry] = {}
    bad = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = _parse_entry(line.rstrip(b"\r\n"))
        except ValueError as exc:
            bad += 1
            if bad <= _MAX_WARNINGS:
                _log.warning("download manifest %s, line %d skipped: %s", where, number, exc)
            continue
        entries[(entry.item_id, entry.variant)] = entry
    if bad > _MAX_WARNINGS:
        _log.warning("download manifest %s: %d bad lines skipped in all", where, bad)
    return entries


_O_BINARY: int = getattr(os, "O_BINARY", 0)
_O_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC: int = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)
_O_DIRECTORY: int = getattr(os, "O_DIRECTORY", 0)
# Names resolved against an open descriptor of the folder, where the platform can: a folder
# renamed or swapped for a symlink mid-run then still receives nothing outside it.
_DIR_FD = {os.open, os.stat, os.link, os.unlink} <= os.supports_dir_fd and (
    os.listdir in os.supports_fd
)
_PART = re.compile(r"(\..+)\.part-[0-9a-f]{8}", re.DOTALL)
# Errors from os.link that mean "this file system has no hard links" (FAT, some network
# shares); anything else is a real error.
_NO_HARD_LINKS = {
    getattr(errno, name)
    for name in ("EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV", "EMLINK", "EINVAL")
    if hasattr(errno, name)
}


def _part_prefix(stem: str) -> str:
    return "." + _truncate_utf8(stem, MAX_NAME_BYTES - 20)


def _try_lock(fd: int) -> bool:
    """Take an exclusive advisory lock on ``fd`` without waiting (always True off POSIX)."""
    if sys.platform == "win32":
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class _Folder:
    """The target folder: its manifest, the names taken, and writing files into it.

    Nothing in it is ever replaced: the manifest, part files and targets are opened without
    following symbolic links, relative to the folder's descriptor, and a finished file is
    hard-linked into place (never renamed over anything), so a name that is taken, by a file
    the user put there or changed or by another run, is left alone and the file gets the
    next free name.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.manifest_path = path / MANIFEST_NAME
        self._fd: int | None = None
        if _DIR_FD:
            self._fd = os.open(path, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
        try:
            self.entries = self._load_manifest()
            listing = os.listdir(self._fd if self._fd is not None else path)
        except BaseException:
            self.close()
            raise
        self._lock = threading.Lock()  # the manifest and the in-memory entries
        # The manifest, then the folder, flushed in groups: never under a lock.
        self._manifest_sync = GroupSync(self._flush_manifest)
        self._folder_sync = GroupSync(self._flush_folder)
        self._names_lock = threading.Lock()
        self._taken = {_name_key(entry.stem) for entry in self.entries.values()}
        for name in listing:
            if not name.startswith("."):
                self._taken.add(_name_key(os.path.splitext(name)[0]))
        self._claims: dict[tuple[str, str], str] = {}
        # Part files a killed run left behind, by the prefix of their stem.
        self._stale: dict[str, list[str]] = {}
        for name in listing:
            match = _PART.fullmatch(name)
            if match:
                self._stale.setdefault(match.group(1), []).append(name)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- file operations relative to the folder, never following a symlink -------------------

    def _open(self, name: str, flags: int, mode: int = 0o666) -> int:
        flags |= _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY
        if self._fd is not None:
            return os.open(name, flags, mode, dir_fd=self._fd)
        if not _O_NOFOLLOW and os.path.islink(self.path / name):  # best effort without it
            raise OSError(errno.ELOOP, "a symbolic link", str(self.path / name))
        return os.open(self.path / name, flags, mode)

    def lstat(self, name: str) -> os.stat_result:
        if self._fd is not None:
            return os.stat(name, dir_fd=self._fd, follow_symlinks=False)
        return os.lstat(self.path / name)

    def unlink(self, name: str) -> None:
        if self._fd is not None:
            os.unlink(name, dir_fd=self._fd)
        else:
            os.unlink(self.path / name)

    def _link(self, source: str, target: str) -> None:
        if self._fd is not None:
            os.link(source, target, src_dir_fd=self._fd, dst_dir_fd=self._fd)
        else:
            os.link(self.path / source, self.path / target)

    def fsync(self) -> None:
        """Make the names placed so far durable (one flush of the folder for many callers)."""
        if os.name == "posix":
            self._folder_sync.sync()

    def _flush_folder(self) -> None:
        fd = self._fd if self._fd is not None else os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            if fd != self._fd:
                os.close(fd)

    # -- the manifest --------------------------------------------------------------------------

    def _refuse_manifest(self, why: str) -> MediaError:
        return MediaError(
            f"the download manifest {self.manifest_path} is {why}; refusing to read or write "
            "through it. Remove it (a rerun then fetches every item again) or download to "
            "another folder",
            filename=str(self.manifest_path),
        )

    def _open_manifest(self, flags: int) -> int | None:
        try:
            fd = self._open(MANIFEST_NAME, flags | _O_NONBLOCK, 0o644)
        except FileNotFoundError:
            return None
        except OSError as exc:
            with contextlib.suppress(OSError):
                if stat.S_ISLNK(self.lstat(MANIFEST_NAME).st_mode):
                    raise self._refuse_manifest("a symbolic link") from exc
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise self._refuse_manifest("not a regular file")
        return fd

    def _load_manifest(self) -> dict[tuple[str, str], _Entry]:
        fd = self._open_manifest(os.O_RDONLY)
        if fd is None:
            return {}
        with os.fdopen(fd, "rb") as manifest:

            def lines() -> Iterator[bytes]:
                while line := manifest.readline(_MAX_MANIFEST_LINE + 1):
                    if len(line) > _MAX_MANIFEST_LINE and not line.endswith(b"\n"):
                        while (rest := manifest.readline(_MAX_MANIFEST_LINE)) and not (
                            rest.endswith(b"\n")
                        ):
                            pass  # skip the rest of an overlong line
                    yield line

            return _read_manifest(lines(), self.manifest_path)

    def record(self, entry: _Entry) -> None:
        """Append ``entry`` to the manifest in one write (so runs sharing it never interleave)
        and return once it is durable (one flush of the manifest for many callers)."""
        line = entry.to_line()
        with self._lock:
            fd = self._open_manifest(os.O_RDWR | os.O_APPEND | os.O_CREAT)
            assert fd is not None
            try:
                end = os.fstat(fd).st_size
                if end and os.lseek(fd, end - 1, os.SEEK_SET) >= 0 and os.read(fd, 1) != b"\n":
                    line = b"\n" + line  # a line a crash cut short must not swallow this one
                written = os.write(fd, line)
                if written != len(line):
                    raise OSError(errno.EIO, "short write to the download manifest")
            finally:
                os.close(fd)
            self.entries[(entry.item_id, entry.variant)] = entry
        # Durable before the file is placed under its name: a name in place is recorded.
        self._manifest_sync.sync()

    def _flush_manifest(self) -> None:
        fd = self._open_manifest(os.O_RDWR | os.O_APPEND)
        if fd is not None:
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    # -- names ---------------------------------------------------------------------------------

    def _state(self, entry: _Entry) -> Literal["ours", "missing", "other"]:
        """Whether the entry's file is there as written ("ours"), gone, or something else
        now: changed (size or modification time), replaced, or not a regular file."""
        try:
            found = self.lstat(entry.name)
        except FileNotFoundError:
            return "missing"
        except OSError:
            return "other"
        if (
            stat.S_ISREG(found.st_mode)
            and found.st_size == entry.size
            and entry.mtime_ns in (None, found.st_mtime_ns)
        ):
            return "ours"
        return "other"

    def complete(self, item_id: str, variant: str) -> Path | None:
        """The item's file when a previous run wrote it and it is unchanged, else None."""
        entry = self.entries.get((item_id, variant))
        if entry is None or self._state(entry) != "ours":
            return None
        return self.path / entry.name

    def claim(self, item_id: str, variant: str, stem: str) -> str:
        """A stem unique in the folder for this item, the same on every run over one listing.

        An item the manifest knows keeps its stem while its file is there unchanged or gone;
        once the user changed or replaced that file, the name is theirs and the item gets the
        next free one.
        """
        key = (item_id, variant)
        with self._names_lock:
            if key in self._claims:
                return self._claims[key]
            entry = self.entries.get(key)
            if entry is not None and self._state(entry) != "other":
                self._claims[key] = entry.stem
                return entry.stem
            return self._next_free(key, stem)

    def reclaim(self, item_id: str, variant: str, stem: str, taken: str) -> str:
        """A new stem for an item whose claimed name ``taken`` turned out to be in use."""
        with self._names_lock:
            self._taken.add(_name_key(taken))
            return self._next_free((item_id, variant), stem)

    def _next_free(self, key: tuple[str, str], stem: str) -> str:
        candidate, n = stem, 1
        while _name_key(candidate) in self._taken:
            n += 1
            tail = f" ({n})"
            candidate = _tidy(_truncate_utf8(stem, MAX_NAME_BYTES - _EXT_BYTES - len(tail))) + tail
        self._taken.add(_name_key(candidate))
        self._claims[key] = candidate
        return candidate

    # -- writing files -------------------------------------------------------------------------

    def open_part(self, stem: str) -> tuple[str, IO[bytes]]:
        """A new hidden part file for ``stem``, created exclusively and locked while open."""
        prefix = _part_prefix(stem)
        while True:
            part = f"{prefix}.part-{secrets.token_hex(4)}"
            try:
                fd = self._open(part, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            _try_lock(fd)  # tells a concurrent run's drop_stale_parts that it is live
            return part, os.fdopen(fd, "w+b")

    def place(self, part: str, out: IO[bytes], target: str) -> None:
        """Give the finished part file the name ``target``, unless that name is taken.

        Raises FileExistsError when ``target`` exists (whoever made it, whenever): nothing
        is ever replaced. Uses a hard link, then removes the part's name; where the file
        system has no hard links, creates ``target`` exclusively and copies the bytes.
        """
        try:
            self._link(part, target)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            _log.debug("no hard links in %s (%s): copying into place", self.path, exc)
            self._copy_into_place(out, target)
        out.close()
        with contextlib.suppress(FileNotFoundError):
            self.unlink(part)

    def _copy_into_place(self, out: IO[bytes], target: str) -> None:
        fd = self._open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb", closefd=False) as copy:
                out.seek(0)
                while chunk := out.read(1 << 20):
                    copy.write(chunk)
                copy.flush()
                mtime = os.fstat(out.fileno()).st_mtime_ns
                if os.utime in os.supports_fd:
                    os.utime(fd, ns=(mtime, mtime))
                else:
                    os.utime(self.path / target, ns=(mtime, mtime))
                os.fsync(fd)
        except BaseException:
            with contextlib.suppress(OSError):
                self.unlink(target)  # created exclusively above: it is ours to remove
            raise
        finally:
            os.close(fd)

    def drop_stale_parts(self, stem: str) -> None:
        """Remove part files an earlier, killed run left for this stem (a part file a live
        run still holds open is locked, and left alone)."""
        with self._lock:
            names = self._stale.pop(_part_prefix(stem), [])
        for name in names:
            with contextlib.suppress(OSError):
                fd = self._open(name, os.O_RDONLY | _O_NONBLOCK)
                try:
                    if _try_lock(fd):
                        self.unlink(name)
                finally:
                    os.close(fd)

    def settle(self, part: str, out: IO[bytes]) -> tuple[int, int]:
        """Flush and fsync a finished part file; return its size and modification time.

        The time is rounded down to an even second first, which every file system stores
        exactly (FAT keeps two-second steps), so a later run reads back the value recorded.
        """
        out.flush()
        fd = out.fileno()
        mtime = os.fstat(fd).st_mtime_ns
        mtime -= mtime % 2_000_000_000
        if os.utime in os.supports_fd:
            os.utime(fd, ns=(mtime, mtime))
        else:
            os.utime(self.path / part, ns=(mtime, mtime))
        os.fsync(fd)
        found = os.fstat(fd)
        return found.st_size, found.st_mtime_ns
