"""Where the example app keeps what it imported: one folder per user and import under the
app's instance folder, ``storage/<user key>/<import id>/``, holding ``originals/``,
``thumbnails/`` and ``import.json`` (the import record).

The user key is a digest of the user id, so no id the sign-in hands out can name a path, and an
import id is 32 hex digits: a request can only ever reach its own user's folders. Records are
written beside their final name and renamed into place, so a reader never sees half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["RECORD_NAME", "Storage", "now_text"]

RECORD_NAME = "import.json"
_IMPORT_ID = re.compile(r"[0-9a-f]{32}")


def now_text() -> str:
    """The time now, as the records write it (RFC 3339, UTC)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class Storage:
    """The per-user folders under ``root`` (created 0700 as they are needed)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def user_dir(self, user_id: str) -> Path:
        """The folder of ``user_id``'s imports (not created)."""
        return self.root / hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:32]

    def new_import(self, user_id: str) -> tuple[str, Path]:
        """A new import id and its folder, created."""
        import_id = uuid.uuid4().hex
        folder = self.user_dir(user_id) / import_id
        folder.mkdir(mode=0o700, parents=True)
        return import_id, folder

    def import_dir(self, user_id: str, import_id: str) -> Path | None:
        """The folder of one of ``user_id``'s imports, or None if it has none by that id."""
        if not _IMPORT_ID.fullmatch(import_id):
            return None
        folder = self.user_dir(user_id) / import_id
        return folder if (folder / RECORD_NAME).is_file() else None

    def read_record(self, user_id: str, import_id: str) -> dict[str, Any] | None:
        """``user_id``'s import record ``import_id``, or None (another user's is None too)."""
        folder = self.import_dir(user_id, import_id)
        if folder is None:
            return None
        try:
            record = json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def write_record(self, user_id: str, record: dict[str, Any]) -> None:
        """Write ``record`` (its ``id`` names the import) atomically."""
        folder = self.user_dir(user_id) / str(record["id"])
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".import-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(record, fh, indent=2, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temporary, folder / RECORD_NAME)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def records(self, user_id: str) -> list[dict[str, Any]]:
        """Every import record of ``user_id``, newest first."""
        folder = self.user_dir(user_id)
        found = []
        if folder.is_dir():
            for child in folder.iterdir():
                record = self.read_record(user_id, child.name)
                if record is not None:
                    found.append(record)
        return sorted(found, key=lambda r: str(r.get("created", "")), reverse=True)

    def file(self, user_id: str, import_id: str, relative: object) -> Path | None:
        """A file an import record names (``originals/...``), if it is inside that import's
        folder and exists; None otherwise."""
        folder = self.import_dir(user_id, import_id)
        if folder is None or not isinstance(relative, str) or not relative:
            return None
        path = (folder / relative).resolve()
        if not path.is_relative_to(folder.resolve()) or not path.is_file():
            return None
        return path
