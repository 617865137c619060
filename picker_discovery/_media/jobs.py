"""Each item's plan, and what to do with it before any byte is fetched: already in the
folder, a video still processing (skip it, fail it, or wait), or ready to fetch.

Shared by the synchronous downloader's pool and the asyncio client, so both name, skip and
wait for items by the same rules.
"""

from __future__ import annotations

from typing import Literal

from picker_discovery._media.folder import _MAX_ID_CHARS, _Folder
from picker_discovery._media.items import (
    ListedItem,
    Size,
    _base_url,
    _filename,
    _item_id,
    _variant,
    media_suffix,
)
from picker_discovery._media.names import safe_stem
from picker_discovery._media.results import Skipped, SkipReason
from picker_discovery._media.run import _Job
from picker_discovery.errors import MediaError, MediaNotReady, MediaProcessingFailed

__all__ = ["already_present", "cancelled", "duplicate", "plan_job", "readiness"]


def plan_job(index: int, listed: ListedItem, folder: _Folder, size: Size | None) -> _Job:
    """The item's plan: its id, variant and the name it claims in the folder.

    Raises:
        MediaError, MalformedResponse, TypeError: the listed item cannot be downloaded.
    """
    item = listed.item
    item_id = _item_id(item)
    _base_url(item)
    filename = _filename(item)
    if len(item_id) > _MAX_ID_CHARS:
        raise MediaError(
            f"a picked media item's id is {len(item_id)} characters long; the listing "
            "answer is malformed",
            filename=filename,
        )
    variant = _variant(item, size)
    base = safe_stem(filename, item_id)
    stem = folder.claim(item_id, variant, base)
    return _Job(index, listed, item_id, filename, variant, stem, base)


def duplicate(job: _Job) -> Skipped:
    return Skipped(
        job.item_id, SkipReason.DUPLICATE, f"item {job.item_id!r} was listed more than once"
    )


def already_present(folder: _Folder, job: _Job) -> Skipped | None:
    """A :class:`Skipped` when a previous run downloaded the item and its file is unchanged."""
    present = folder.complete(job.item_id, job.variant)
    if present is None:
        return None
    folder.drop_stale_parts(job.stem)  # a run killed between link and unlink
    return Skipped(
        job.item_id,
        SkipReason.ALREADY_PRESENT,
        f"item {job.item_id!r} is already downloaded to {present}",
        path=present,
    )


def cancelled(job: _Job) -> Skipped:
    return Skipped(
        job.item_id,
        SkipReason.CANCELLED,
        f"item {job.item_id!r} ({job.filename}) was cancelled: another item failed "
        "and fail_fast was set",
    )


def readiness(
    job: _Job,
    listed: ListedItem,
    size: Size | None,
    not_ready: Literal["skip", "wait", "fail"],
    *,
    can_wait: bool,
    waited: float,
    wait_timeout: float,
) -> Skipped | Literal["ready", "wait"]:
    """Whether to fetch the item as listed now (``"ready"``), re-list it later to see whether
    its video has finished processing (``"wait"``), or report it skipped.

    Raises:
        MediaNotReady: the video is still processing and ``not_ready`` is ``"fail"``, or it
            cannot be waited for (no way to re-list), or ``wait_timeout`` has passed.
    """
    try:
        media_suffix(listed, size)
    except MediaProcessingFailed as exc:
        return Skipped(job.item_id, SkipReason.PROCESSING_FAILED, str(exc), error=exc)
    except MediaNotReady as exc:
        if not_ready == "skip":
            return Skipped(job.item_id, SkipReason.NOT_READY, str(exc), error=exc)
        if not_ready == "fail":
            raise
        if not can_wait:
            raise MediaNotReady(
                f"{exc} (cannot wait: no relist callable was given)",
                item_id=exc.item_id,
                filename=exc.filename,
                status=exc.status,
            ) from exc
        if waited >= wait_timeout:
            raise MediaNotReady(
                f"{exc}; still not ready after waiting {wait_timeout:g} s",
                item_id=exc.item_id,
                filename=exc.filename,
                status=exc.status,
            ) from exc
        return "wait"
    return "ready"
