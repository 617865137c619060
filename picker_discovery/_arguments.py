"""The checks of PickerClient's arguments: session ids, counts and request ids."""

from __future__ import annotations

import functools
import re
import unicodedata
import uuid
from collections.abc import Mapping
from typing import Any

from picker_discovery._errorbase import BadArgument, BadArgumentType
from picker_discovery.models import PickingSession


@functools.cache
def _uuid() -> re.Pattern[str]:
    """A UUID's text form (compiled on first use: only a request id is checked with it)."""
    return re.compile(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    )


def check_session_id(session_id: object) -> str:
    """Return ``session_id`` if it can name a session, else raise
    :class:`~picker_discovery.errors.BadArgument` (a ``ValueError``).

    A session id goes into the URL path, so anything that could change the path is refused
    before a request is made: non-strings, empty or blank strings, ``/``, control characters,
    lone surrogates (which have no UTF-8 form to send), and the dot segments ``.`` and ``..``.
    """
    if not isinstance(session_id, str):
        raise BadArgument(f"session id must be a string, not {type(session_id).__name__}")
    if (
        session_id.isascii()
        and session_id.isprintable()  # so no control characters, and ASCII has no surrogates
        and "/" not in session_id
        and session_id.strip()
        and session_id not in (".", "..")
    ):
        return session_id
    if not session_id.strip():
        raise BadArgument(f"session id must not be empty or blank: {session_id!r}")
    if "/" in session_id:
        raise BadArgument(f"session id must not contain '/': {session_id!r}")
    if any(unicodedata.category(ch) == "Cc" for ch in session_id):
        raise BadArgument(f"session id must not contain control characters: {session_id!r}")
    if any(unicodedata.category(ch) == "Cs" for ch in session_id):
        raise BadArgument(
            f"session id must not contain lone surrogates (bytes that were not UTF-8): "
            f"{session_id!r}"
        )
    if session_id in (".", ".."):
        raise BadArgument(f"session id must not be a dot segment: {session_id!r}")
    return session_id


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadArgumentType(f"{name} must be an int from {low} to {high}, not {value!r}")
    if not low <= value <= high:
        raise BadArgument(f"{name} must be from {low} to {high}, not {value}")
    return value


def _check_request_id(value: object) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str) and _uuid().fullmatch(value):
        return value.lower()
    raise BadArgument(
        "request_id must be a uuid.UUID or a UUID string like "
        f"'2ea3dc54-f352-4d9d-a667-1b497bdf4e52' (uuid.uuid4() makes one), not {value!r}"
    )


def _session_id_of(session: object) -> str:
    if isinstance(session, PickingSession):
        if session.id is None:
            raise BadArgument("the PickingSession has no id: pass one returned by the service")
        return check_session_id(session.id)
    return check_session_id(session)


def _usable_id(data: Mapping[str, Any]) -> str | None:
    """The session id of a create answer if it can name a session in a URL, else None."""
    value = data.get("id")
    try:
        return check_session_id(value)
    except ValueError:
        return None
