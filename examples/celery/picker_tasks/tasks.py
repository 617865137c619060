"""The tasks: wait for a person's pick without holding a worker, then import it, resumably.

The web app calls :func:`start_import` and shows ``session.picker_uri`` to the person. Then:

1. ``poll`` takes a place under the poll cap that all workers share
   (:mod:`picker_tasks.ratecap`; when it is full, the poll is queued again for later), then
   runs the client's poll step once (one ``sessions.get``, no sleeping) and, while the person
   is still picking, schedules itself again with ``apply_async(countdown=...)`` the delay the
   step asks, carrying the step's state (its deadline and failure count) as a dict. Between
   two polls the session is a message waiting in the broker: no worker, thread or process is
   held, so one worker serves any number of people picking.
2. When the person is done, ``poll`` enqueues ``import_media``; when the wait ends without a
   pick (``timeoutIn``, ``expireTime``, the caller's timeout, or the session is gone) it
   records why in the job and deletes the session.
3. ``import_media`` downloads every picked item with the project's downloader into the job's
   folder. The downloader's manifest (``.picker-downloads.jsonl`` in that folder) records each
   finished file, so a retried task, or one redelivered to another worker after this one died
   (``acks_late``), skips what is already there and fetches only the rest. Once it has
   finished, for good or not, it deletes the session.

Everything a task needs travels as JSON-able arguments: the user's id (never a token; see
:mod:`picker_tasks.credentials`), the session id, the folder and the poll step's state.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Any

from celery import Task
from googleapiclient.errors import HttpError

from picker_discovery import PickerClient, PickingSession, SelectionCheck, SkipReason
from picker_discovery.errors import (
    PermissionDenied,
    PickerError,
    ResourceExhausted,
    ServerError,
    SessionNotFound,
)
from picker_tasks.app import app
from picker_tasks.credentials import client_for, media_hosts
from picker_tasks.jobs import FINAL, Jobs
from picker_tasks.ratecap import configured_rate, poll_cap

logger = logging.getLogger(__name__)

RETRY_DELAY = float(os.environ.get("PICKER_CELERY_RETRY_DELAY", "30"))
"""Seconds before an import's first retry; each next one waits twice as long."""
IMPORT_RETRIES = int(os.environ.get("PICKER_CELERY_IMPORT_RETRIES", "3"))
DOWNLOAD_WORKERS = int(os.environ.get("PICKER_CELERY_DOWNLOAD_WORKERS", "4"))
IMPORT_LOCK_SECONDS = 6 * 3600  # as long as the broker's visibility timeout
POLL_RATE = configured_rate()
"""The polls all workers together may send (``PICKER_CELERY_POLL_RATE``, checked when the
module is imported, so a worker with a bad setting does not start); see
:mod:`picker_tasks.ratecap`."""


def job_store() -> Jobs:
    """The job statuses, in the Redis the app's broker is (``app.conf.broker_url``)."""
    return _jobs(str(app.conf.broker_url))


@functools.lru_cache(maxsize=4)
def _jobs(url: str) -> Jobs:
    return Jobs(url)


def start_import(
    user_id: str,
    folder: str | os.PathLike[str],
    *,
    max_item_count: int | None = None,
    timeout: float | None = None,
) -> PickingSession:
    """Create a picking session for ``user_id`` and start waiting for it on the workers.

    Returns the session: show its ``picker_uri`` to the person. Their picks land in
    ``folder`` (on storage every worker reaches); :class:`~picker_tasks.jobs.Jobs` tells how
    it goes. ``timeout`` (seconds) ends the wait sooner than the session's own limits.
    If the job cannot be recorded or the first poll cannot be queued, the session is deleted
    and the error raised: no session is left that nobody waits on.
    """
    client = client_for(user_id)
    session = client.create_session(max_item_count=max_item_count)
    sid = session.id
    if sid is None:  # create_session never returns a session without an id
        raise RuntimeError("sessions.create answered without a session id")
    try:
        job_store().create(sid, user=user_id, folder=os.fspath(folder))
        poll.apply_async(
            (user_id, sid, os.fspath(folder)),
            {"timeout": timeout},
            countdown=_first_delay(client, session),
        )
    except BaseException:
        client.delete_session(sid, missing_ok=True)
        raise
    return session


def _first_delay(client: PickerClient, session: PickingSession) -> float:
    """The session's own ``pollInterval`` before the first poll, within the client's bounds."""
    config = session.polling_config
    interval = config.poll_interval if config is not None else None
    seconds = interval.total_seconds() if interval is not None else 0.0
    if not seconds > 0:
        seconds = 5.0
    return min(max(seconds, client.min_poll_interval), client.max_poll_interval)


@app.task(bind=True, name="picker_tasks.poll")
def poll(
    self: Task[Any, Any],
    user_id: str,
    session_id: str,
    folder: str,
    check: dict[str, Any] | None = None,
    timeout: float | None = None,
) -> None:
    """One poll step; then wait again (a countdown), import, or end the job."""
    jobs = job_store()
    job = jobs.get(session_id)
    if job.get("status", "waiting") != "waiting":
        # A second copy of this poll (a redelivery after a worker died between queueing the
        # next poll and acknowledging this one): the first copy's chain goes on.
        logger.info("session %s: %s, not waiting; dropping this poll", session_id, job["status"])
        return
    if POLL_RATE is not None:
        later = poll_cap(str(app.conf.broker_url), POLL_RATE).admit()
        if later > 0:
            # The workers together have sent their share of polls for now: this one waits in
            # the broker, not in a worker; its deadline travels with it unchanged.
            logger.debug(
                "session %s: poll cap %s reached; polling in %.2f s", session_id, POLL_RATE, later
            )
            poll.apply_async(
                (user_id, session_id, folder), {"check": check, "timeout": timeout}, countdown=later
            )
            return
    client = client_for(user_id)
    try:
        if check is None:
            step = client.check_selection(session_id, timeout=timeout)
        else:
            step = client.check_selection(session_id, after=SelectionCheck.from_dict(check))
    except Exception as exc:
        # Not a transient failure (those come back as "wait" with reason "retry"): the
        # session cannot be waited on (sign-in revoked, access denied...). End the job.
        logger.exception("session %s: cannot poll; ending the job", session_id)
        jobs.finish(session_id, "failed", error=f"polling failed: {_describe(exc)}")
        _delete(client, session_id)
        return
    polls = int(job.get("polls", "0")) + 1
    if step.status == "wait":
        poll.apply_async(
            (user_id, session_id, folder), {"check": step.to_dict()}, countdown=step.delay
        )
        jobs.update(session_id, polls=polls, reason=step.reason or "")
    elif step.status == "ready":
        import_media.delay(user_id, session_id, folder)
        jobs.update(session_id, status="importing", polls=polls, reason="")
    else:
        logger.info("session %s: the wait ended (%s); deleting it", session_id, step.reason)
        jobs.finish(session_id, "ended", polls=polls, reason=step.reason or "")
        _delete(client, session_id)


@app.task(bind=True, name="picker_tasks.import_media", max_retries=IMPORT_RETRIES)
def import_media(self: Task[Any, Any], user_id: str, session_id: str, folder: str) -> None:
    """Download the picked items into ``folder``; retried (and resumed) while items fail;
    the session is deleted once the import has finished, whether it succeeded or not."""
    jobs = job_store()
    if jobs.get(session_id).get("status") in FINAL:
        logger.info("session %s: already imported; nothing to do", session_id)
        return
    task_id = self.request.id or "local"
    if not jobs.lock(session_id, task_id, IMPORT_LOCK_SECONDS):
        logger.info("session %s: another import task is at it; leaving it that", session_id)
        return
    attempt = self.request.retries + 1
    jobs.update(session_id, status="importing", attempt=attempt)
    client = client_for(user_id)
    counts: dict[str, int] = {}
    retryable = True
    try:
        result = client.download_session(
            session_id, Path(folder), media_hosts=media_hosts(), workers=DOWNLOAD_WORKERS
        )
    except Exception as exc:
        error: str | None = _describe(exc)
        retryable = _transient(exc)
    else:
        present = [s for s in result.skipped if s.reason is SkipReason.ALREADY_PRESENT]
        counts = {
            "downloaded": len(result.downloaded),
            "already_present": len(present),
            "skipped": len(result.skipped) - len(present),
            "failed": len(result.failed),
        }
        error = None
        if result.listing_error is not None:
            error = f"listing failed: {_describe(result.listing_error)}"
            retryable = _transient(result.listing_error)
        elif result.failed:
            first = result.failed[0]
            error = f"{len(result.failed)} item(s) failed, first {first.filename!r}: {first.reason}"
    if error is not None and retryable and self.request.retries < IMPORT_RETRIES:
        countdown = RETRY_DELAY * 2**self.request.retries
        logger.warning(
            "session %s: import attempt %d: %s; trying again in %g s (the files already "
            "downloaded stay and are not fetched again)",
            session_id,
            attempt,
            error,
            countdown,
        )
        jobs.update(session_id, status="retrying", error=error, **counts)
        raise self.retry(countdown=countdown)
    if error is None:
        jobs.finish(session_id, "done", error="", **counts)
    else:
        logger.error("session %s: import failed for good: %s", session_id, error)
        jobs.finish(session_id, "failed", error=error, **counts)
    _delete(client, session_id)
    jobs.unlock(session_id)


def _transient(exc: BaseException) -> bool:
    """Whether trying again later may succeed: server errors, quota, the network."""
    if isinstance(exc, (SessionNotFound, PermissionDenied)):
        return False
    return isinstance(exc, (ServerError, ResourceExhausted, ConnectionError, TimeoutError)) or (
        isinstance(exc, OSError) and not isinstance(exc, PickerError)
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _delete(client: PickerClient, session_id: str) -> None:
    """Delete the session; a failure is logged, not raised (it ends at its expireTime, and
    the job's final status says the import is over)."""
    try:
        client.delete_session(session_id, missing_ok=True)
    except (HttpError, PickerError, OSError):
        logger.warning(
            "could not delete picking session %s; it ends by itself at its expireTime",
            session_id,
            exc_info=True,
        )
