"""Imports run in the background, one thread each: wait for the person's pick as the
session's ``pollingConfig`` says, copy every picked item (the original and a thumbnail) into
the user's storage with the project's downloader, write the import record, and delete the
session, whatever happened.

A record moves from ``waiting`` (the person is picking) to ``importing`` (bytes are being
copied) to ``done``, or to ``failed`` with the :class:`~examples.webapp.problems.Problem` that
ended it. The session is created in the request that starts the import (its ``pickerUri`` is
that request's answer); from then on the import's thread owns it and deletes it in a
``finally``, and a failure to start that thread deletes it at once, so no session is left
open at Google, whatever fails.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from examples.webapp.problems import problem_for
from examples.webapp.storage import Storage, now_text
from picker_discovery import PickerClient, Size
from picker_discovery.errors import InvalidState
from picker_discovery.models import PickedMediaItem, PickingSession
from picker_discovery.web import StoredCredentials, WebSignIn

__all__ = ["ClientFactory", "Importer"]

logger = logging.getLogger(__name__)

ClientFactory = Callable[[StoredCredentials], PickerClient]
"""Makes the client an import calls the Picker API with, on a user's credentials."""

ORIGINALS = "originals"
THUMBNAILS = "thumbnails"


@dataclass
class _Job:
    user_id: str
    record: dict[str, Any]
    client: PickerClient
    session: PickingSession
    folder: Path
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def session_id(self) -> str:
        return str(self.record["sessionId"])


class Importer:
    """Starts imports and runs each on a thread of its own.

    Args:
        signin: gives each user's stored credentials (which refresh themselves).
        storage: where imports are kept.
        client_factory: the :class:`PickerClient` for a user's credentials.
        media_hosts: origins besides Google's that may receive the token with a media
            request (the emulator's media origin).
        max_item_count: the most items one import may pick.
        thumbnail_size: the box a thumbnail fits in, in pixels.
    """

    def __init__(
        self,
        signin: WebSignIn,
        storage: Storage,
        client_factory: ClientFactory,
        *,
        media_hosts: Sequence[str] = (),
        max_item_count: int = 50,
        thumbnail_size: int = 256,
    ) -> None:
        self._signin = signin
        self._storage = storage
        self._client_factory = client_factory
        self._media_hosts = tuple(media_hosts)
        self._max_item_count = max_item_count
        self._thumbnail = Size(thumbnail_size, thumbnail_size)
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._closed = False

    def start(self, user_id: str) -> dict[str, Any]:
        """Create a session for ``user_id`` and start waiting for their pick in the
        background; returns the import's first record (with the ``pickerUri``).

        Raises:
            SignInRequired: the user must sign in again (nothing was created).
            ResourceExhausted: Google refused a new session (quota, or too many open).
            PickerError: another failure to create the session.
        """
        client = self._client_factory(self._signin.credentials(user_id))
        session = client.create_session(max_item_count=self._max_item_count)
        assert session.id is not None  # create_session raises MalformedResponse without one
        try:
            import_id, folder = self._storage.new_import(user_id)
            record: dict[str, Any] = {
                "id": import_id,
                "state": "waiting",
                "created": now_text(),
                "updated": now_text(),
                "sessionId": session.id,
                "pickerUri": session.picker_uri,
                "items": [],
                "skipped": [],
                "problem": None,
            }
            self._storage.write_record(user_id, record)
            job = _Job(user_id, record, client, session, folder)
            job.thread = threading.Thread(
                target=self._run, args=(job,), name=f"import-{import_id}", daemon=True
            )
            with self._lock:
                if self._closed:
                    raise InvalidState("the app is shutting down; start the import again later")
                self._jobs[import_id] = job
                job.thread.start()
        except BaseException:
            self._delete_session(client, session.id)
            raise
        logger.info("import %s: session %s created for user %r", import_id, session.id, user_id)
        return dict(record)

    def running(self, user_id: str | None = None) -> list[str]:
        """The ids of the imports still running (of ``user_id``, or of everyone)."""
        with self._lock:
            return [
                import_id
                for import_id, job in self._jobs.items()
                if user_id is None or job.user_id == user_id
            ]

    def cancel(self, user_id: str | None = None, *, timeout: float = 30.0) -> None:
        """Stop the running imports (of ``user_id``, or all) and wait for their threads,
        which delete their sessions on the way out."""
        with self._lock:
            jobs = [j for j in self._jobs.values() if user_id is None or j.user_id == user_id]
        for job in jobs:
            job.cancel.set()
        for job in jobs:
            if job.thread is not None:
                job.thread.join(timeout)

    def shutdown(self, *, timeout: float = 30.0) -> None:
        """Refuse new imports, stop the running ones and wait for them."""
        with self._lock:
            self._closed = True
        self.cancel(timeout=timeout)

    # -- one import, on its thread -------------------------------------------------------------

    def _run(self, job: _Job) -> None:
        try:
            try:
                self._import(job)
            finally:
                self._delete_session(job.client, job.session_id)
        except Exception as exc:
            found = problem_for(exc, after_create=True)
            logger.warning("import %s failed: %s", job.record["id"], found.what)
            self._update(job, state="failed", problem=found.to_dict())
        else:
            self._update(job, state="done")
        finally:
            with self._lock:
                self._jobs.pop(job.record["id"], None)

    def _import(self, job: _Job) -> None:
        client, session = job.client, job.session
        # No timeout of our own: the wait ends when the session's pollingConfig.timeoutIn or
        # its expireTime says so (PickingTimeout), or when the app cancels it.
        client.wait_for_selection(session, cancel=job.cancel)
        self._update(job, state="importing", pickerUri=None)
        items = client.list_media_items(session)
        originals = client.download_session(
            session, job.folder / ORIGINALS, media_hosts=self._media_hosts, not_ready="skip"
        )
        originals.raise_for_failures()
        thumbnails = client.download_session(
            session,
            job.folder / THUMBNAILS,
            size=self._thumbnail,
            media_hosts=self._media_hosts,
            not_ready="skip",
        )
        thumbnails.raise_for_failures()
        files = {
            ORIGINALS: {d.item_id: d.path for d in originals.downloaded},
            THUMBNAILS: {d.item_id: d.path for d in thumbnails.downloaded},
        }
        self._update(
            job,
            items=[_entry(item, files, job.folder) for item in items],
            skipped=[
                {"id": s.item_id, "reason": s.reason.value, "detail": s.detail}
                for s in originals.skipped
            ],
        )

    def _update(self, job: _Job, **changes: Any) -> None:
        job.record.update(changes, updated=now_text())
        try:
            self._storage.write_record(job.user_id, job.record)
        except OSError:
            logger.exception("import %s: could not write its record", job.record["id"])

    @staticmethod
    def _delete_session(client: PickerClient, session_id: str) -> None:
        try:
            client.delete_session(session_id, missing_ok=True)
        except Exception as exc:
            logger.warning(
                "could not delete session %s (%s); it ends by itself at its expireTime",
                session_id,
                exc,
            )
        else:
            logger.info("session %s deleted", session_id)


def _entry(
    item: PickedMediaItem, files: dict[str, dict[str, Path]], folder: Path
) -> dict[str, Any]:
    media = item.media_file
    entry: dict[str, Any] = {
        "id": item.id,
        "type": item.type.value if item.type is not None else None,
        "filename": media.filename if media is not None else None,
        "mimeType": media.mime_type if media is not None else None,
    }
    for kind, paths in files.items():
        path = paths.get(item.id) if item.id is not None else None
        entry[kind] = path.relative_to(folder).as_posix() if path is not None else None
    return entry
