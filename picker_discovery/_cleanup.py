"""What :meth:`PickerClient.cleanup_sessions <picker_discovery.PickerClient.cleanup_sessions>`
reports: a module of its own, imported by the first cleanup, so that a client (which keeps the
journal of :mod:`picker_discovery._journal` from the start) does not build this class when it
is made. A leaf: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from picker_discovery._journal import JournalEntry

__all__ = ["CleanupReport"]


@dataclass
class CleanupReport:
    """What :meth:`PickerClient.cleanup_sessions` did with the journal's leftovers.

    ``deleted``: sessions deleted now; ``already_gone``: sessions the service no longer knew
    (deleted elsewhere, or ended); ``failed``: sessions that could not be deleted, with why
    (they stay in the journal for the next cleanup); ``pending``: with ``dry_run``, the
    sessions a cleanup would delete; ``expired``: entries past their ``expireTime``, dropped
    without a call; ``elsewhere``: how many entries belong to another endpoint or account and
    were left alone.
    """

    journal: Path | None
    endpoint: str
    dry_run: bool = False
    deleted: list[JournalEntry] = field(default_factory=list)
    already_gone: list[JournalEntry] = field(default_factory=list)
    failed: list[tuple[JournalEntry, str]] = field(default_factory=list)
    pending: list[JournalEntry] = field(default_factory=list)
    expired: list[JournalEntry] = field(default_factory=list)
    elsewhere: int = 0

    @property
    def ok(self) -> bool:
        """Whether every leftover session is gone (or, in a dry run, nothing was tried)."""
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "journal": str(self.journal) if self.journal is not None else None,
            "endpoint": self.endpoint,
            "dry_run": self.dry_run,
            "deleted": [e.session_id for e in self.deleted],
            "already_gone": [e.session_id for e in self.already_gone],
            "failed": [{"session": e.session_id, "error": why} for e, why in self.failed],
            "pending": [e.session_id for e in self.pending],
            "expired": [e.session_id for e in self.expired],
            "elsewhere": self.elsewhere,
        }
