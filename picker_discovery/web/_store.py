"""Where signed-in users' tokens are kept: the :class:`TokenStore` interface and SQLite.

A store keeps, per user id, the authorized-user JSON google-auth reads
(``Credentials.from_authorized_user_info``): access token, refresh token, expiry, scopes, the
client's id and secret and token URI. :class:`SQLiteTokenStore` is the embedded default: one
row per user, in a file only its owner may read (mode 0600, its directory 0700 when created),
safe to share between threads and processes. Standard library only.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import sqlite3
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from picker_discovery import _dirs
from picker_discovery._errorbase import BadArgument, BadArgumentType
from picker_discovery._errors_auth import AccessNotGranted, CredentialsFileError

__all__ = ["SQLiteTokenStore", "TokenStore", "check_user_id"]

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS picker_tokens (
    user_id    TEXT PRIMARY KEY NOT NULL,
    info       TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""
_MAX_USER_ID = 1024


@runtime_checkable
class TokenStore(Protocol):
    """Keeps one authorized-user token (a JSON-ready dict) per user id.

    Implement these three methods to keep tokens elsewhere (a database the app already has, an
    encrypted table). Each must be safe to call from several threads at once.
    """

    def load(self, user_id: str) -> dict[str, Any] | None:
        """The token stored for ``user_id``, or None if there is none."""
        ...

    def save(self, user_id: str, info: dict[str, Any]) -> None:
        """Store ``info`` for ``user_id``, replacing what was there."""
        ...

    def delete(self, user_id: str) -> bool:
        """Forget ``user_id``'s token; whether there was one."""
        ...


def check_user_id(user_id: object) -> str:
    """``user_id`` if it is a usable key: a non-empty string, at most 1024 characters."""
    if not isinstance(user_id, str):
        raise BadArgumentType(f"a user id is a string, not {type(user_id).__name__}")
    if not user_id or len(user_id) > _MAX_USER_ID or "\x00" in user_id:
        raise BadArgument(
            f"a user id is 1 to {_MAX_USER_ID} characters with no NUL, not {user_id[:40]!r}"
        )
    return user_id


class SQLiteTokenStore:
    """Tokens in an SQLite file, one row per user id, with the time it was last written.

    The file and the table are created on first use; the file is made with mode 0600 (and a
    missing directory with 0700) before SQLite opens it, and an existing file that others may
    read is refused, as ssh refuses a private key they may read. One connection is shared by
    the threads of a process under a lock; several processes may share the file (SQLite locks
    it, waiting up to ``timeout`` seconds).

    Raises (from any method):
        AccessNotGranted: the file is open to the group or others (a ``PermissionError``; the
            message gives the ``chmod`` that fixes it).
        CredentialsFileError: the file is not an SQLite database, or a row is not a token
            (a ``ValueError``); the message names the file and the user.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise BadArgumentType(f"path is a file path, not {type(path).__name__}")
        self._path = Path(path)
        if str(self._path) in ("", ":memory:") or self._path.is_dir():
            raise BadArgument(f"path must name a file for the tokens, not {str(path)!r}")
        self._timeout = float(timeout)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    @property
    def path(self) -> Path:
        """The SQLite file."""
        return self._path

    def __repr__(self) -> str:
        return f"SQLiteTokenStore({str(self._path)!r})"

    def load(self, user_id: str) -> dict[str, Any] | None:
        check_user_id(user_id)
        with self._cursor() as cursor:
            row = cursor.execute(
                "SELECT info FROM picker_tokens WHERE user_id = ?", (user_id,)
            ).fetchone()
        if row is None:
            return None
        return self._decode(user_id, row[0])

    def save(self, user_id: str, info: dict[str, Any]) -> None:
        check_user_id(user_id)
        if not isinstance(info, dict):
            raise BadArgumentType(f"a token to store is a dict, not {type(info).__name__}")
        try:
            text = json.dumps(info, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise BadArgument(f"the token for user {user_id!r} is not JSON-ready: {exc}") from None
        now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        with self._cursor() as cursor:
            cursor.execute(
                "INSERT INTO picker_tokens (user_id, info, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(user_id) DO UPDATE SET info = excluded.info, "
                "updated_at = excluded.updated_at",
                (user_id, text, now),
            )
        logger.debug("stored the token of user %r in %s", user_id, self._path)

    def delete(self, user_id: str) -> bool:
        check_user_id(user_id)
        with self._cursor() as cursor:
            cursor.execute("DELETE FROM picker_tokens WHERE user_id = ?", (user_id,))
            deleted = cursor.rowcount > 0
        if deleted:
            logger.debug("deleted the token of user %r from %s", user_id, self._path)
        return deleted

    def updated_at(self, user_id: str) -> datetime | None:
        """When ``user_id``'s token was last written (UTC), or None if there is none."""
        check_user_id(user_id)
        with self._cursor() as cursor:
            row = cursor.execute(
                "SELECT updated_at FROM picker_tokens WHERE user_id = ?", (user_id,)
            ).fetchone()
        return None if row is None else datetime.fromisoformat(row[0])

    def close(self) -> None:
        """Close the connection (the next call opens it again)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __enter__(self) -> SQLiteTokenStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _decode(self, user_id: str, text: object) -> dict[str, Any]:
        where = f"the stored token of user {user_id!r} in {self._path}"
        try:
            info = json.loads(text) if isinstance(text, (str, bytes)) else None
        except ValueError as exc:
            # The decoder's error keeps the whole text (the tokens) as an attribute: not chained.
            raise CredentialsFileError(
                f"{where} is not JSON ({exc.args[0] if exc.args else 'invalid'}); "
                "that user must sign in again"
            ) from None
        if not isinstance(info, dict):
            raise CredentialsFileError(
                f"{where} is not a JSON object but {type(info).__name__}; "
                "that user must sign in again"
            )
        return info

    @contextmanager
    def _cursor(self) -> Iterator[sqlite3.Cursor]:
        """A cursor on the shared connection, under the lock; a transaction around it."""
        with self._lock:
            connection = self._connection or self._open()
            try:
                with connection:  # commits, or rolls back on an exception
                    yield connection.cursor()
            except sqlite3.DatabaseError as exc:
                raise CredentialsFileError(
                    f"the token store {self._path} cannot be used: {exc}; move it away "
                    "(the users must then sign in again)"
                ) from exc

    def _open(self) -> sqlite3.Connection:
        self._create_private_file()
        try:
            connection = sqlite3.connect(self._path, timeout=self._timeout, check_same_thread=False)
            try:
                connection.execute(_SCHEMA)
                connection.commit()
            except BaseException:
                connection.close()
                raise
        except sqlite3.DatabaseError as exc:
            raise CredentialsFileError(
                f"the token store {self._path} is not an SQLite database it can use ({exc}); "
                "give another path, or move the file away"
            ) from exc
        self._connection = connection
        return connection

    def _create_private_file(self) -> None:
        """Create the file 0600 (its directory 0700) unless it exists; refuse one others may
        read. SQLite gives its journal files the database file's mode."""
        _dirs.make_private_dir(self._path.parent)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            mode = stat.S_IMODE(os.fstat(fd).st_mode)
        finally:
            os.close(fd)
        if os.name == "posix" and mode & 0o077:
            raise AccessNotGranted(
                f"the token store {self._path} is open to other users (mode {mode:04o}) and "
                "holds refresh tokens, so it is not used. Make it yours alone with: "
                f"chmod 600 {shlex.quote(str(self._path))} (and have the users sign in again "
                "if others may have read it)"
            )
