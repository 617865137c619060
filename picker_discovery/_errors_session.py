"""Errors of waiting for a session's pick and of listing its items.

A leaf: it imports only the base module ``_errorbase``. Import these names from
:mod:`picker_discovery.errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from picker_discovery._errorbase import PickerError

__all__ = ["PickingCancelled", "PickingTimeout", "RepeatedPageToken", "TooManyPages"]


class PickingTimeout(PickerError):
    """Waiting for the user to finish picking ran out of time; the session was not picked.

    Attributes:
        session_id: the session waited for.
        reason: which limit ran out first: ``"timeoutIn"`` (the server's polling timeout),
            ``"expireTime"`` (the session expired), ``"timeout"`` (the caller's own limit) or
            ``"fallback"`` (none of those was known, so the client's default limit).
        waited: seconds spent waiting.
        polls: how many times the session was read while waiting.
    """

    REASONS: ClassVar[Mapping[str, str]] = {
        "timeoutIn": "the server's polling timeout (pollingConfig.timeoutIn) ran out",
        "expireTime": "the session expired (expireTime passed)",
        "timeout": "the caller's timeout ran out",
        "fallback": "the default limit of a wait ran out (no timeout was given, and the "
        "session named no timeoutIn or expireTime)",
    }

    def __init__(self, session_id: str, reason: str, *, waited: float, polls: int) -> None:
        self.session_id = session_id
        self.reason = reason
        self.waited = waited
        self.polls = polls
        what = self.REASONS.get(reason, reason)
        super().__init__(
            f"session {session_id!r}: the user did not finish picking: {what} after "
            f"{waited:.1f} s and {polls} poll(s). Delete this session and create a new one "
            "to let the user pick again"
        )


class PickingCancelled(PickerError):
    """Waiting for the user to finish picking was cancelled (its ``cancel`` event was set)."""

    def __init__(self, session_id: str, *, waited: float, polls: int) -> None:
        self.session_id = session_id
        self.waited = waited
        self.polls = polls
        super().__init__(
            f"session {session_id!r}: waiting for the user's pick was cancelled after "
            f"{waited:.1f} s and {polls} poll(s). The session still exists: wait again, or "
            "delete it"
        )


class RepeatedPageToken(PickerError):
    """``mediaItems.list`` answered with a page token it had already sent: listing would loop."""

    def __init__(self, session_id: str, page_token: str, *, pages: int) -> None:
        self.session_id = session_id
        self.page_token = page_token
        self.pages = pages
        super().__init__(
            f"mediaItems.list for session {session_id!r} repeated a page token after {pages} "
            "page(s), so listing would never end; the service is misbehaving: list again "
            "later, and report it if it persists"
        )


class TooManyPages(PickerError):
    """``mediaItems.list`` went on sending new page tokens past the most pages a session can
    need (it holds at most 2000 items): listing would never end."""

    def __init__(self, session_id: str, *, pages: int) -> None:
        self.session_id = session_id
        self.pages = pages
        super().__init__(
            f"mediaItems.list for session {session_id!r} sent {pages} pages, each with a new "
            "page token, more than a session of at most 2000 items can fill, so listing would "
            "never end; the service is misbehaving: list again later, and report it if it "
            "persists"
        )


# Raised and caught as picker_discovery.errors.X: tracebacks, reprs and pickles name the public
# module, which re-exports every name here.
for _name in __all__:
    globals()[_name].__module__ = "picker_discovery.errors"
del _name
