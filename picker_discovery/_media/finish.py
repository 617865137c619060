"""The end of one item's download: its finished part file settled, recorded in the manifest
and placed under a free name, or, when the transfer failed or was cancelled, removed.

Shared by the synchronous downloader and the asyncio client, so a final name never holds a
partial file and the manifest records exactly what was placed, whichever stack fetched it.
"""

from __future__ import annotations

import contextlib
import logging
from typing import IO

from picker_discovery._media.folder import _MAX_CONTENT_TYPE_CHARS, _Entry, _Folder
from picker_discovery._media.names import extension_for
from picker_discovery._media.results import Downloaded
from picker_discovery._media.run import _Job

__all__ = ["discard", "place_finished"]

_log = logging.getLogger("picker_discovery._media.transfer")


def place_finished(
    folder: _Folder, job: _Job, part: str, out: IO[bytes], content_type: str
) -> Downloaded:
    """Settle the complete part file, record it in the manifest, and place it under a free
    name (the next one when its name is taken by the time it is placed)."""
    size, mtime_ns = folder.settle(part, out)
    ext = extension_for(content_type, job.filename)
    recorded_type = content_type[:_MAX_CONTENT_TYPE_CHARS]
    stem = job.stem
    while True:
        name = stem + ext
        # Recorded before it is placed: a name in place is always recorded.
        folder.record(_Entry(job.item_id, job.variant, stem, name, size, recorded_type, mtime_ns))
        try:
            folder.place(part, out, name)
            break
        except FileExistsError:
            _log.debug("item %s: %s is taken, trying another name", job.item_id, name)
            stem = folder.reclaim(job.item_id, job.variant, job.base, stem)
    folder.fsync()
    folder.drop_stale_parts(job.stem)
    return Downloaded(job.item_id, folder.path / name, size, content_type, job.variant)


def discard(folder: _Folder, part: str) -> None:
    """Remove a part file whose transfer failed or was cancelled (best effort)."""
    with contextlib.suppress(OSError):
        folder.unlink(part)
