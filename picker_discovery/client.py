"""PickerClient: the Picker API's calls with checked inputs and domain errors."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Collection, Mapping
from typing import Any

from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError

from picker_discovery.errors import SessionNotFound, from_http_error
from picker_discovery.service import build

__all__ = ["PickerClient", "check_session_id"]


def check_session_id(session_id: object) -> str:
    """Return ``session_id`` if it can name a session, else raise ``ValueError``.

    A session id goes into the URL path, so anything that could change the path is refused
    before a request is made: non-strings, empty or blank strings, ``/``, control characters,
    and the dot segments ``.`` and ``..``.
    """
    if not isinstance(session_id, str):
        raise ValueError(f"session id must be a string, not {type(session_id).__name__}")
    if not session_id.strip():
        raise ValueError(f"session id must not be empty or blank: {session_id!r}")
    if "/" in session_id:
        raise ValueError(f"session id must not contain '/': {session_id!r}")
    if any(unicodedata.category(ch) == "Cc" for ch in session_id):
        raise ValueError(f"session id must not contain control characters: {session_id!r}")
    if session_id in (".", ".."):
        raise ValueError(f"session id must not be a dot segment: {session_id!r}")
    return session_id


class PickerClient:
    """A small, careful facade over the photospicker v1 service.

    Pass a ready ``service`` (from :func:`picker_discovery.build` or googleapiclient), or the
    keyword arguments of :func:`picker_discovery.build` to have one built offline. The
    underlying ``Resource`` stays available as :attr:`service`.
    """

    def __init__(
        self,
        service: Resource | None = None,
        *,
        credentials: Any = None,
        http: Any = None,
        client_options: Any = None,
        discovery_document: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        allowed_hosts: Collection[str] = (),
    ) -> None:
        if service is None:
            service = build(
                credentials=credentials,
                http=http,
                client_options=client_options,
                discovery_document=discovery_document,
                allowed_hosts=allowed_hosts,
            )
        elif credentials is not None or http is not None or client_options is not None:
            raise ValueError("pass either a service or the arguments to build one, not both")
        self._service = service

    @property
    def service(self) -> Resource:
        """The googleapiclient ``Resource`` this client calls."""
        return self._service

    def delete_session(self, session_id: str, *, missing_ok: bool = False) -> None:
        """Delete a session, ending access to it and its picked items.

        Raises:
            ValueError: ``session_id`` cannot be a session id; nothing was sent.
            SessionNotFound: no such session (or not the caller's), unless ``missing_ok``.
            PickerHttpError: any other error answer, as its domain class.
        """
        sid = check_session_id(session_id)
        request = self._service.sessions().delete(sessionId=sid)
        try:
            request.execute()
        except HttpError as exc:
            error = from_http_error(exc, method_id=request.methodId, session_id=sid)
            if missing_ok and isinstance(error, SessionNotFound):
                return
            raise error from exc
