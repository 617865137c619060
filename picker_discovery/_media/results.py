"""What a download run reports: each item downloaded, skipped or failed, and progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from picker_discovery.errors import MediaError


class SkipReason(str, Enum):
    """Why an item was not downloaded, though nothing went wrong."""

    ALREADY_PRESENT = "already_present"  # a previous run downloaded it completely
    NOT_READY = "not_ready"  # a video still processing, and the caller chose to skip
    PROCESSING_FAILED = "processing_failed"  # a video Google Photos could not process
    DUPLICATE = "duplicate"  # the same item id came twice in one run
    CANCELLED = "cancelled"  # stopped because another item failed and fail_fast was set


@dataclass(frozen=True)
class Downloaded:
    """One file written: where, how many bytes, and what the server said it was."""

    item_id: str
    path: Path
    size: int
    content_type: str
    variant: str


@dataclass(frozen=True)
class Skipped:
    """One item not downloaded, and why (``path`` is the existing file for ALREADY_PRESENT)."""

    item_id: str
    reason: SkipReason
    detail: str
    path: Path | None = None
    error: MediaError | None = None


@dataclass(frozen=True)
class Failed:
    """One item that could not be downloaded: the reason in words and the exception."""

    item_id: str | None
    filename: str | None
    reason: str
    error: BaseException


@dataclass
class DownloadResult:
    """What happened to every item, each list in item order.

    ``listing_error`` is set when listing the items itself failed; the items listed before it
    were still handled.
    """

    downloaded: list[Downloaded] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    listing_error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True when nothing failed (skipped items do not count as failures)."""
        return not self.failed and self.listing_error is None

    def raise_for_failures(self) -> None:
        """Raise the listing error, or the first item's error, if anything failed."""
        if self.listing_error is not None:
            raise self.listing_error
        if self.failed:
            raise self.failed[0].error


@dataclass(frozen=True)
class Progress:
    """A progress report. ``bytes_total`` is None when the server did not say; ``items_total``
    is None until the listing has been read to its end."""

    item_id: str
    filename: str | None
    bytes_done: int
    bytes_total: int | None
    items_done: int
    items_total: int | None


ProgressCallback = Callable[[Progress], None]
