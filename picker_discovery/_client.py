"""PickerClient: the Picker API's calls with checked inputs, typed answers and domain errors.

The whole flow, with the session deleted however the block ends::

    client = PickerClient(credentials=creds)
    with client.picking_session(max_item_count=10) as session:
        print("Pick your photos at", session.picker_uri)
        client.wait_for_selection(session, timeout=600)
        items = client.list_media_items(session.id)

Thread safety: one client may be shared by many threads. ``httplib2.Http`` is not thread-safe,
so each thread needs its own transport:

- built from ``credentials`` (or from default credentials when nothing is given), the client
  gives each thread its own ``AuthorizedHttp(credentials, http=build_http())``;
- given ``http_factory``, the client calls it once per thread for that thread's transport;
- given only a ready ``service`` or ``http``, that one transport is shared, so the client
  serializes its requests on a lock: safe, but one request at a time. Pass ``http_factory`` to
  run requests in parallel. The ``service`` itself stays usable directly, but calls made on it
  outside this client are not covered by the lock.

Errors: every error answer is raised as its :mod:`picker_discovery.errors` class (still an
``HttpError``), naming the method and session. A network failure that outlasts the retries is
raised as the transport raised it (``ConnectionError``, ``TimeoutError``, ``httplib2`` errors).

Waiting and retry sleeps use the client's ``clock`` (:class:`~picker_discovery.Clock`);
pass a :class:`~picker_discovery.FakeClock` in tests to never really sleep.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from googleapiclient.errors import HttpError

from picker_discovery._arguments import _session_id_of, _usable_id, check_session_id
from picker_discovery._bookkeeping import (
    MAX_ITEM_COUNT,
    CreateRequests,
    _Bookkeeping,
    read_created,
    resolve_policies,
)
from picker_discovery._clock import Clock, SystemClock
from picker_discovery._errorbase import BadArgument, PickerError
from picker_discovery._errors_http import SessionNotFound
from picker_discovery._execute import _authorized_http_factory, _scoped
from picker_discovery._items import MAX_PAGE_SIZE, _Items
from picker_discovery._journal import SessionJournal, normal_endpoint
from picker_discovery._retry import RetryPolicy
from picker_discovery._secrets import install_log_filter
from picker_discovery._service import build
from picker_discovery._waiting import (
    DEFAULT_POLL_INTERVAL,
    FALLBACK_WAIT,
    MAX_POLL_INTERVAL,
    MIN_POLL_INTERVAL,
    _Waiting,
)
from picker_discovery.models import PickingSession

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

    from picker_discovery._cleanup import CleanupReport
    from picker_discovery._service_types import PhotospickerResource
    from picker_discovery._types import HttpTransport, HttpTransportFactory

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "MAX_ITEM_COUNT",
    "MAX_PAGE_SIZE",
    "PickerClient",
    "check_session_id",
]

logger = logging.getLogger(__name__)
install_log_filter()


class PickerClient(_Waiting, _Items, _Bookkeeping):
    """A small, careful facade over the photospicker v1 service.

    Pass a ready ``service`` (from :func:`picker_discovery.build` or googleapiclient), or the
    keyword arguments of :func:`picker_discovery.build` to have one built offline. The
    underlying ``Resource`` stays available as :attr:`service`.

    Args:
        http_factory: makes a transport (an ``httplib2.Http``-like object); called once per
            thread that uses the client. See the module docs on thread safety.
        retry: the :class:`RetryPolicy` for every method, or a mapping from method name
            (``"sessions.get"``, ``"sessions.create"``, ``"sessions.delete"``,
            ``"mediaItems.list"``) to its policy; methods left out use ``RetryPolicy()``.
            ``sessions.create`` is only ever retried for failures that prove the request was
            never sent, because a retried create can leave a second session behind.
        clock: where time comes from and how to sleep; :class:`SystemClock` by default.
        allowed_hosts, allow_insecure_http: where the token may go besides https
            ``*.googleapis.com`` (and, for ``client_options={"api_endpoint": ...}``, loopback
            addresses): see :func:`picker_discovery.build`. ``allow_insecure_http`` also lets
            :meth:`downloader` accept ``http://`` media hosts that are not loopback addresses.
        journal: where to note the sessions this client creates until they are deleted, so
            :meth:`cleanup_sessions` can delete those a killed process left behind. By default
            (None or True) the file ``PICKER_DISCOVERY_JOURNAL`` names, or ``off`` for none,
            else ``sessions.jsonl`` in the user state directory; a path or a
            :class:`SessionJournal` for another file; False to keep none.

    The pacing of :meth:`wait_for_selection` can be changed per client by setting these
    attributes: ``min_poll_interval`` and ``max_poll_interval`` (seconds; the server's
    ``pollInterval`` is kept within them) and ``fallback_wait`` (seconds a wait lasts when
    neither the caller nor the session limits it).
    """

    min_poll_interval: float = MIN_POLL_INTERVAL
    max_poll_interval: float = MAX_POLL_INTERVAL
    fallback_wait: float = FALLBACK_WAIT

    def __init__(
        self,
        service: PhotospickerResource | None = None,
        *,
        credentials: Credentials | None = None,
        http: HttpTransport | None = None,
        client_options: Any = None,
        discovery_document: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        allowed_hosts: Collection[str] = (),
        http_factory: HttpTransportFactory | None = None,
        retry: RetryPolicy | Mapping[str, RetryPolicy] | None = None,
        clock: Clock | None = None,
        allow_insecure_http: bool = False,
        journal: SessionJournal | str | os.PathLike[str] | bool | None = None,
    ) -> None:
        if service is None:
            service = build(
                credentials=credentials,
                http=http,
                client_options=client_options,
                discovery_document=discovery_document,
                allowed_hosts=allowed_hosts,
                allow_insecure_http=allow_insecure_http,
            )
            if http_factory is None and http is None:
                if credentials is None:
                    # Default credentials, found by googleapiclient: reuse them per thread.
                    credentials = getattr(getattr(service, "_http", None), "credentials", None)
                if credentials is not None:
                    http_factory = _authorized_http_factory(credentials)
        elif credentials is not None or http is not None or client_options is not None:
            raise BadArgument("pass either a service or the arguments to build one, not both")
        if credentials is None:
            # A service built from credentials carries them on its AuthorizedHttp.
            credentials = getattr(getattr(service, "_http", None), "credentials", None)
        self._credentials = _scoped(credentials) if credentials is not None else None
        self._service = service
        # googleapiclient rebuilds a resource's methods on every service.sessions() call;
        # the resources hold no per-request state, so one of each serves every thread.
        self._sessions = service.sessions()
        self._media_items = service.mediaItems()
        self._creates = CreateRequests(self._sessions)
        self._http_factory = http_factory
        self._local = threading.local()
        self._shared_lock = threading.Lock()
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._allow_insecure_http = allow_insecure_http
        self._policies = resolve_policies(retry)
        self._journal = self._resolve_journal(journal)
        self._endpoint = normal_endpoint(str(getattr(service, "_baseUrl", "") or ""))

    @property
    def service(self) -> PhotospickerResource:
        """The googleapiclient ``Resource`` this client calls."""
        return self._service

    @property
    def credentials(self) -> Credentials | None:
        """The google-auth credentials this client sends (scoped), or None over a bare ``http``."""
        return self._credentials

    @property
    def allow_insecure_http(self) -> bool:
        """Whether this client may send the token over plain http to hosts off this machine."""
        return self._allow_insecure_http

    @property
    def clock(self) -> Clock:
        """The clock the client waits and retries by."""
        return self._clock

    # -- sessions --------------------------------------------------------------------------

    def create_session(
        self,
        max_item_count: int | None = None,
        request_id: uuid.UUID | str | None = None,
    ) -> PickingSession:
        """Create a picking session; show the user its ``picker_uri``.

        Args:
            max_item_count: the most items the user may pick, 1 to 2000 (the service's
                default and maximum is 2000).
            request_id: a UUID naming this request (for limited-input-device flows).

        Raises:
            TypeError, ValueError: an argument is invalid; nothing was sent.
            FailedPrecondition: the user has no Google Photos account.
            ResourceExhausted: the user has too many sessions (delete some), or a quota ran
                out. Never retried: it cannot succeed by repeating at once.
            PickerHttpError: any other error answer, as its domain class.
        """
        request = self._creates.request(max_item_count, request_id)
        data = self._execute("sessions.create", request, session_id=None, idempotent=False)
        sid = _usable_id(data)
        if sid is not None:
            self._journal_record(sid, data)
        try:
            session = read_created(data, sid)
        except BaseException as exc:
            if sid is not None:
                self._delete_unusable(sid, exc)
            raise
        logger.info("created picking session %s", session.id)
        return session

    def _delete_unusable(self, sid: str, exc: BaseException) -> None:
        """Delete a session whose create answer could not be used, keeping ``exc`` the error."""
        logger.warning(
            "sessions.create made session %s but its answer could not be used (%s); "
            "deleting the session",
            sid,
            type(exc).__name__,
        )
        try:
            self.delete_session(sid, missing_ok=True)
        except Exception:
            logger.warning(
                "could not delete picking session %s after its create answer failed; it ends "
                "by itself at its expireTime, or run 'picker-discovery sessions cleanup'",
                sid,
                exc_info=True,
            )

    def get_session(self, session_id: PickingSession | str) -> PickingSession:
        """Read a session's current state (``session_id`` may be a :class:`PickingSession`).

        The answer is read lazily: each field is parsed when first read, and one the service
        sent malformed raises :class:`~picker_discovery.errors.MalformedResponse` then.

        Raises:
            ValueError: ``session_id`` cannot be a session id; nothing was sent.
            SessionNotFound: no such session (or not the caller's).
            PermissionDenied: access to the session has expired.
        """
        return self._get(_session_id_of(session_id), None)

    def _get(self, sid: str, cancel: threading.Event | None) -> PickingSession:
        request = self._sessions.get(sessionId=sid)
        data = self._execute("sessions.get", request, session_id=sid, cancel=cancel)
        return PickingSession.from_answer(data)

    def delete_session(self, session_id: PickingSession | str, *, missing_ok: bool = False) -> None:
        """Delete a session, ending access to it and its picked items.

        ``session_id`` may be a :class:`PickingSession`.

        A ``NOT_FOUND`` after an earlier attempt of the same call failed in transit or with a
        5xx counts as success: that attempt deleted the session.

        Raises:
            ValueError: ``session_id`` cannot be a session id; nothing was sent.
            SessionNotFound: no such session (or not the caller's), unless ``missing_ok``.
            PickerHttpError: any other error answer, as its domain class.
        """
        sid = _session_id_of(session_id)
        request = self._sessions.delete(sessionId=sid)
        try:
            self._execute(
                "sessions.delete", request, session_id=sid, not_found_after_failure_ok=True
            )
        except SessionNotFound:
            self._journal_forget(sid)
            if missing_ok:
                return
            raise
        self._journal_forget(sid)
        logger.info("deleted picking session %s", sid)

    def cleanup_sessions(self, *, dry_run: bool = False) -> CleanupReport:
        """Delete the sessions the journal holds for this client's endpoint and account.

        These are sessions created on this machine that no process deleted: one was killed
        (``kill -9``, a power cut) between create and delete, or the delete failed. Entries
        past their ``expireTime`` are dropped without a call; entries of other endpoints or
        accounts are left alone. With ``dry_run`` nothing is sent or changed: the report's
        ``pending`` lists what a cleanup would delete.

        Raises:
            PickerError: the client keeps no journal (``journal=False``, or
                ``PICKER_DISCOVERY_JOURNAL=off``).
            OSError: the journal could not be read.
        """
        from picker_discovery._cleanup import CleanupReport

        journal = self._journal
        if journal is None:
            raise PickerError(
                "this client keeps no session journal (journal=False, or "
                "PICKER_DISCOVERY_JOURNAL=off), so there is nothing to clean up"
            )
        report = CleanupReport(journal.path, self._endpoint, dry_run=dry_run)
        now = self._clock.now()
        live, expired = journal.take_stock(now, rewrite=not dry_run)
        account = self._journal_account(journal)
        mine = [e for e in live if e.endpoint == self._endpoint and e.account == account]
        report.elsewhere = len(live) - len(mine)
        report.expired = [e for e in expired if e.endpoint == self._endpoint]
        for entry in mine:
            if dry_run:
                report.pending.append(entry)
                continue
            try:
                self.delete_session(entry.session_id)
            except SessionNotFound:
                report.already_gone.append(entry)
            except (PickerError, HttpError, OSError, ValueError) as exc:
                report.failed.append((entry, str(exc)))
            else:
                report.deleted.append(entry)
        if not dry_run and (report.deleted or report.already_gone):
            try:
                journal.compact(now)
            except OSError as exc:
                logger.warning("could not rewrite the session journal %s: %s", journal.path, exc)
        logger.info(
            "session cleanup on %s: %d deleted, %d already gone, %d failed, %d expired",
            self._endpoint,
            len(report.deleted),
            len(report.already_gone),
            len(report.failed),
            len(report.expired),
        )
        return report

    @contextlib.contextmanager
    def picking_session(
        self,
        max_item_count: int | None = None,
        request_id: uuid.UUID | str | None = None,
    ) -> Iterator[PickingSession]:
        """Create a session for the ``with`` block and delete it however the block ends.

        The session is deleted on success, on any exception, on a timeout and on
        ``KeyboardInterrupt``. When the block failed, a failure to delete is logged and the
        block's own exception is raised; when the block succeeded, it is raised.
        """
        session = self.create_session(max_item_count=max_item_count, request_id=request_id)
        sid = _session_id_of(session)
        try:
            yield session
        except BaseException as exc:
            try:
                self.delete_session(sid, missing_ok=True)
            except Exception:
                logger.warning(
                    "could not delete picking session %s while handling %s; it ends by itself "
                    "at its expireTime",
                    sid,
                    type(exc).__name__,
                    exc_info=True,
                )
            raise
        else:
            self.delete_session(sid, missing_ok=True)
