"""What the example app tells a person when something goes wrong: one :class:`Problem` per
kind, each saying what happened and what to do, and the mapping from the library's errors.

The app shows a problem as a page (``problem.html``) or, to its own script, as JSON; an import
that fails in the background keeps its problem in its record, so the import's page shows it.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from picker_discovery.errors import (
    AccessNotGranted,
    MediaError,
    NotFound,
    PermissionDenied,
    PickerError,
    PickingCancelled,
    PickingTimeout,
    ResourceExhausted,
    SignInRequired,
)

__all__ = ["Problem", "problem", "problem_for"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    """A problem page: its ``kind``, HTTP ``status``, a ``title``, ``what`` happened, what
    to do (``todo``) and the one ``action`` that helps (``signin``, ``import`` or ``home``)."""

    kind: str
    status: int
    title: str
    what: str
    todo: str
    action: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> Problem:
        if isinstance(data, dict):
            try:
                return cls(**{k: data[k] for k in cls.__dataclass_fields__})
            except (KeyError, TypeError):
                pass
        return problem("error", "The import failed for a reason its record does not tell.")


# kind: (status, title, what to do, action)
_KINDS: dict[str, tuple[int, str, str, str]] = {
    "consent-denied": (
        403,
        "You did not allow access to your photos",
        "The app can only import photos you pick if you allow it to see them. Sign in again "
        "and choose Allow, or go back if you changed your mind.",
        "signin",
    ),
    "signin-required": (
        401,
        "Please sign in again",
        "Your sign-in with Google is no longer valid: you signed out, removed the app's "
        "access in your Google Account, or it expired. Sign in again to go on.",
        "signin",
    ),
    "nothing-picked": (
        200,
        "No photos were picked",
        "The Google Photos tab was closed, or the time to pick ran out, before you chose "
        "anything. Nothing was imported. Start a new import when you are ready.",
        "import",
    ),
    "expired": (
        410,
        "The picking session expired",
        "Google Photos ended the session before its photos were imported. Nothing more can "
        "be copied from it. Start a new import and pick again.",
        "import",
    ),
    "quota": (
        429,
        "Google Photos is busy",
        "Too many requests were made (Google answered 429: quota exceeded, or too many open "
        "sessions). Wait a minute, then try again.",
        "import",
    ),
    "cancelled": (
        200,
        "The import was stopped",
        "The app stopped waiting for your pick (it was shut down, or you signed out). "
        "Start a new import.",
        "import",
    ),
    "bad-form": (
        400,
        "The form was out of date",
        "The page that sent it was too old, or came from another site. Reload the app's "
        "page and try again.",
        "home",
    ),
    "not-found": (
        404,
        "Not found",
        "There is nothing here for you: the address is wrong, or it belongs to someone "
        "else's account.",
        "home",
    ),
    "error": (
        500,
        "Something went wrong",
        "Try again. If it keeps happening, the app's log says more.",
        "import",
    ),
}


def problem(kind: str, what: str) -> Problem:
    """The problem of ``kind``, with ``what`` happened in words."""
    status, title, todo, action = _KINDS[kind]
    return Problem(kind, status, title, what, todo, action)


def problem_for(exc: BaseException, *, after_create: bool = False) -> Problem:
    """The problem to show for ``exc``. ``after_create``: it came while waiting for the pick
    or importing, where a session gone or refused means the session's time is over."""
    what = str(exc) if isinstance(exc, PickerError) else "The app failed unexpectedly."
    if isinstance(exc, AccessNotGranted):
        return problem("consent-denied", what)
    if isinstance(exc, SignInRequired):
        return problem("signin-required", what)
    if isinstance(exc, PickingTimeout):
        return problem("expired" if exc.reason == "expireTime" else "nothing-picked", what)
    if isinstance(exc, PickingCancelled):
        return problem("cancelled", what)
    if isinstance(exc, ResourceExhausted):
        return problem("quota", what)
    if after_create and isinstance(exc, (PermissionDenied, NotFound)):
        # sessions.get answers PERMISSION_DENIED once the session's access has expired.
        return problem("expired", what)
    if isinstance(exc, MediaError):
        return problem("error", f"Some photos could not be copied: {what}")
    if not isinstance(exc, PickerError):
        logger.error("unexpected error", exc_info=exc)
    return problem("error", what)
