"""A small journal of the picking sessions this machine created and has not deleted yet.

Sessions count against a per-user limit on Google's side and live about a week. A process that
is killed (``kill -9``, a power cut, a closed laptop) between ``sessions.create`` and
``sessions.delete`` leaves its session behind: the journal remembers it, and
:meth:`PickerClient.cleanup_sessions <picker_discovery.PickerClient.cleanup_sessions>` (on the
command line ``picker-discovery sessions cleanup``) deletes it later.

The journal is a JSON-lines file, ``sessions.jsonl`` in the user state directory
(``$XDG_STATE_HOME/picker-discovery`` on Linux), created 0600 in a directory created 0700. Each
line is one event, written by a single append under a lock, so processes sharing it never
interleave::

    {"op": "add", "session": ID, "endpoint": URL, "created": TIME, "expires": TIME, "account": A}
    {"op": "remove", "session": ID, "endpoint": URL}

No token is ever written: ``account`` is a label (the token file's path, a service account's
e-mail) or null. A line that cannot be read is skipped with a warning. Entries past their
``expireTime`` (or, without one, :data:`UNKNOWN_LIFETIME` after creation) are dropped when the
file is rewritten, which happens on a cleanup and whenever the file has grown past
:data:`COMPACT_BYTES`.

``PICKER_DISCOVERY_JOURNAL`` names another file, or is ``off`` to keep no journal.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import stat
import sys
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from picker_discovery import _dirs
from picker_discovery._frozen import FrozenValue, set_field

__all__ = [
    "COMPACT_BYTES",
    "FILE_NAME",
    "JOURNAL_ENV",
    "UNKNOWN_LIFETIME",
    "JournalEntry",
    "SessionJournal",
]

logger = logging.getLogger("picker_discovery.journal")

JOURNAL_ENV = "PICKER_DISCOVERY_JOURNAL"
FILE_NAME = "sessions.jsonl"
UNKNOWN_LIFETIME = timedelta(days=30)
"""How long an entry whose session answered no usable ``expireTime`` is kept."""
COMPACT_BYTES = 64 * 1024
"""A journal larger than this is rewritten with only its live entries on the next append."""
_MAX_BYTES = 16 * 1024 * 1024  # read no more than this of a journal (it is never near it)
_OFF = frozenset({"off", "0", "no", "false", "none", "disabled"})
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)


def normal_endpoint(url: str) -> str:
    """An API root as the journal compares it: without trailing slashes."""
    return url.rstrip("/")


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime, or None when it is not one."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:
        return None


def _format_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class JournalEntry(FrozenValue):
    """A session this machine created and has not seen deleted."""

    session_id: str
    endpoint: str
    created: datetime
    expires: datetime | None
    account: str | None

    def __init__(
        self,
        session_id: str,
        endpoint: str,
        created: datetime,
        expires: datetime | None = None,
        account: str | None = None,
    ) -> None:
        set_field(self, "session_id", session_id)
        set_field(self, "endpoint", endpoint)
        set_field(self, "created", created)
        set_field(self, "expires", expires)
        set_field(self, "account", account)

    def expired(self, now: datetime) -> bool:
        """Whether the session has ended by itself by ``now``."""
        end = self.expires if self.expires is not None else self.created + UNKNOWN_LIFETIME
        return now >= end

    def to_dict(self) -> dict[str, Any]:
        return {
            "session": self.session_id,
            "endpoint": self.endpoint,
            "created": _format_time(self.created),
            "expires": _format_time(self.expires) if self.expires is not None else None,
            "account": self.account,
        }


def _text(event: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = event.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key!r} is not a non-empty string")
    return value


def _entry(event: Mapping[str, Any]) -> JournalEntry:
    created = parse_time(event.get("created"))
    if created is None:
        raise ValueError("'created' is not an RFC 3339 time")
    expires = event.get("expires")
    parsed_expires = parse_time(expires)
    if expires is not None and parsed_expires is None:
        raise ValueError("'expires' is not an RFC 3339 time")
    return JournalEntry(
        session_id=str(_text(event, "session")),
        endpoint=normal_endpoint(str(_text(event, "endpoint"))),
        created=created,
        expires=parsed_expires,
        account=_text(event, "account", required=False),
    )


class SessionJournal:
    """The journal file of open sessions (see the module docs).

    Args:
        path: the file; by default ``sessions.jsonl`` in the user state directory.
        account: a label for the account whose sessions this process creates (never a token):
            a cleanup only deletes entries of its own account.

    Writing is best effort for callers: :meth:`record` and :meth:`forget` raise ``OSError``
    on a failure, and :class:`~picker_discovery.PickerClient` logs it and goes on.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, account: str | None = None):
        self.path = Path(path) if path is not None else _dirs.user_state_dir() / FILE_NAME
        self.account = account
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, *, account: str | None = None) -> SessionJournal | None:
        """The journal ``PICKER_DISCOVERY_JOURNAL`` asks for: None when it says ``off``,
        the file it names, or else the default file."""
        value = os.environ.get(JOURNAL_ENV, "").strip()
        if value.lower() in _OFF:
            return None
        if value:
            return cls(Path(value).expanduser(), account=account)
        return cls(account=account)

    def __repr__(self) -> str:
        return f"SessionJournal({str(self.path)!r}, account={self.account!r})"

    # -- writing -------------------------------------------------------------------------------

    def record(
        self,
        session_id: str,
        endpoint: str,
        *,
        created: datetime,
        expires: datetime | None = None,
        account: str | None = None,
    ) -> None:
        """Note a session just created on ``endpoint`` (an API root)."""
        entry = JournalEntry(
            session_id,
            normal_endpoint(endpoint),
            created,
            expires,
            account if account is not None else self.account,
        )
        self._append({"op": "add", **entry.to_dict()}, compact_at=created)

    def forget(self, session_id: str, endpoint: str) -> None:
        """Note that a session is gone (deleted, or unknown to the service)."""
        self._append({"op": "remove", "session": session_id, "endpoint": normal_endpoint(endpoint)})

    def _append(self, event: Mapping[str, Any], *, compact_at: datetime | None = None) -> None:
        line = (json.dumps(event, separators=(",", ":"), ensure_ascii=True) + "\n").encode()
        with self._locked():
            fd = self._open(os.O_RDWR | os.O_APPEND | os.O_CREAT)
            try:
                size = os.fstat(fd).st_size
                if size and os.lseek(fd, size - 1, os.SEEK_SET) >= 0 and os.read(fd, 1) != b"\n":
                    line = b"\n" + line  # a line a crash cut short must not swallow this one
                if os.write(fd, line) != len(line):
                    raise OSError(errno.EIO, "short write to the session journal", str(self.path))
                os.fsync(fd)
            finally:
                os.close(fd)
            if compact_at is not None and size + len(line) > COMPACT_BYTES:
                entries, _ = self._load()
                self._rewrite([e for e in entries if not e.expired(compact_at)])

    # -- reading -------------------------------------------------------------------------------

    def entries(self, *, now: datetime | None = None) -> list[JournalEntry]:
        """The sessions not yet deleted, oldest first, without those expired by ``now``
        (by default the current time)."""
        when = now if now is not None else datetime.now(timezone.utc)
        with self._locked(create=False):
            live, _ = self._load()
        return [e for e in live if not e.expired(when)]

    def take_stock(
        self, now: datetime, *, rewrite: bool = True
    ) -> tuple[list[JournalEntry], list[JournalEntry]]:
        """The live and the expired entries by ``now``. With ``rewrite``, the file is
        rewritten without the expired entries and the lines that cannot be read."""
        with self._locked(create=rewrite):
            entries, problems = self._load()
            live = [e for e in entries if not e.expired(now)]
            expired = [e for e in entries if e.expired(now)]
            if rewrite and (expired or problems):
                self._rewrite(live)
        return live, expired

    def compact(self, now: datetime) -> None:
        """Rewrite the file with only the entries live at ``now``."""
        with self._locked():
            entries, _ = self._load()
            self._rewrite([e for e in entries if not e.expired(now)])

    def _load(self) -> tuple[list[JournalEntry], int]:
        """Replay the file: the entries added and not removed, and how many lines were bad."""
        try:
            fd = self._open(os.O_RDONLY)
        except FileNotFoundError:
            return [], 0
        with os.fdopen(fd, "rb") as journal:
            data = journal.read(_MAX_BYTES + 1)
        if len(data) > _MAX_BYTES:
            logger.warning(
                "the session journal %s is larger than %d bytes; reading only its start. "
                "Remove it if it is not a journal",
                self.path,
                _MAX_BYTES,
            )
            data = data[:_MAX_BYTES]
        live: dict[tuple[str, str], JournalEntry] = {}
        problems = 0
        for number, raw in enumerate(data.split(b"\n"), 1):
            if not raw.strip():
                continue
            try:
                event = json.loads(raw)
                if not isinstance(event, dict):
                    raise ValueError("not a JSON object")
                op = event.get("op")
                if op == "add":
                    entry = _entry(event)
                    live[(entry.endpoint, entry.session_id)] = entry
                elif op == "remove":
                    session = _text(event, "session")
                    endpoint = normal_endpoint(str(_text(event, "endpoint")))
                    live.pop((endpoint, str(session)), None)
                else:
                    raise ValueError(f"unknown op {op!r}")
            except (ValueError, RecursionError) as exc:
                problems += 1
                logger.warning(
                    "the session journal %s: line %d cannot be read (%s); skipping it",
                    self.path,
                    number,
                    str(exc)[:100],
                )
        return list(live.values()), problems

    def _rewrite(self, entries: list[JournalEntry]) -> None:
        data = b"".join(
            (json.dumps({"op": "add", **e.to_dict()}, separators=(",", ":")) + "\n").encode()
            for e in entries
        )
        _dirs.write_atomically(self.path, data)

    # -- files -------------------------------------------------------------------------------

    def _open(self, flags: int) -> int:
        if flags & os.O_CREAT:
            _dirs.make_private_dir(self.path.parent)
        fd = os.open(self.path, flags | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY, 0o600)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, "the session journal is not a regular file", str(self.path))
        return fd

    @contextlib.contextmanager
    def _locked(self, *, create: bool = True) -> Iterator[None]:
        """This process's threads and, where ``fcntl`` exists, other processes, one at a time.

        The lock is a separate file beside the journal, since a rewrite replaces the journal.
        Without ``create``, a missing directory is not made (there is nothing to read).
        """
        with self._lock:
            if sys.platform == "win32" or (not create and not self.path.parent.is_dir()):
                yield
                return
            import fcntl

            lock_path = self.path.with_name(f".{self.path.name}.lock")
            _dirs.make_private_dir(self.path.parent)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | _O_NOFOLLOW | _O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)
