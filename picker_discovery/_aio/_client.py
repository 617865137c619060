"""AsyncPickerClient: :class:`~picker_discovery.PickerClient` for asyncio, on httpx.

::

    async with AsyncPickerClient(credentials=creds) as client:
        async with client.picking_session(max_item_count=10) as session:
            print("Pick your photos at", session.picker_uri)
            await client.wait_for_selection(session, timeout=600)
            async for item in client.iter_media_items(session):
                print(item.id)

Same methods, models, errors, retry policy, journal and waiting rules as the synchronous
client: requests are still built by googleapiclient from the bundled discovery document (so
the same URLs, parameters and checks), only sending is asynchronous (:mod:`._send`). The
waiting rules are the poll step's (:mod:`picker_discovery._step`), shared with
``PickerClient``. Retry waits and polls sleep on the client's clock
(:func:`picker_discovery._clock.asleep`), so a :class:`~picker_discovery.FakeClock` takes no
real time in tests.

Cancelling a task that waits (``await client.wait_for_selection(...)``, unless given
``delete_on_cancel=False``) or runs inside ``async with client.picking_session()`` deletes the
session before the cancellation goes on; a second cancellation while deleting leaves the
delete running, and :meth:`AsyncPickerClient.aclose` waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import AsyncIterator, Collection, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from picker_discovery._aio._items import _AsyncItems
from picker_discovery._aio._many import _AsyncManyWaiting
from picker_discovery._aio._send import DEFAULT_TIMEOUT, Sender
from picker_discovery._aio._waiting import _AsyncWaiting
from picker_discovery._arguments import _session_id_of, _usable_id
from picker_discovery._bookkeeping import (
    CreateRequests,
    _Bookkeeping,
    read_created,
    resolve_policies,
)
from picker_discovery._clock import Clock, SystemClock, asleep
from picker_discovery._discovery import SCOPE
from picker_discovery._execute import _SEND_ONCE, Attempts, _json_object, _scoped, read_answer
from picker_discovery._journal import SessionJournal, normal_endpoint
from picker_discovery._retry import RetryPolicy
from picker_discovery._secrets import credential_secrets, install_log_filter, scrub
from picker_discovery._service import build
from picker_discovery._step import FALLBACK_WAIT, MAX_POLL_INTERVAL, MIN_POLL_INTERVAL
from picker_discovery.errors import PickerError, SessionNotFound
from picker_discovery.models import PickingSession

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

    from picker_discovery._service_types import PhotospickerResource
    from picker_discovery._types import HttpResponse

__all__ = ["AsyncPickerClient"]

logger = logging.getLogger("picker_discovery._client")
install_log_filter()


class _NoHttp:
    """The ``http`` of the service the asyncio client builds its requests with: it never
    sends (the client sends with httpx), so a request executed on it by mistake fails loudly
    instead of going out synchronously."""

    def request(self, uri: str, method: str = "GET", **_: Any) -> tuple[HttpResponse, bytes]:
        raise PickerError(
            f"{method} {uri}: this service only builds requests for AsyncPickerClient, "
            "which sends them with httpx; await the client's methods instead"
        )


class AsyncPickerClient(_AsyncWaiting, _AsyncManyWaiting, _AsyncItems, _Bookkeeping):
    """The photospicker v1 calls for asyncio: :class:`~picker_discovery.PickerClient`'s
    methods as coroutines (``iter_media_items`` an async iterator, ``picking_session`` an
    async context manager).

    Args:
        credentials: google-auth credentials (refreshed in a worker thread when needed);
            by default the application default credentials, unless ``transport`` or
            ``http_client`` is given (then none: the transport attaches what it needs, as the
            test kit's fake does).
        client_options, discovery_document, allowed_hosts, allow_insecure_http: as for
            :func:`picker_discovery.build`: where the service is and where the token may go.
        retry, clock, journal: as for :class:`~picker_discovery.PickerClient`.
        transport: an ``httpx.AsyncBaseTransport`` to send through (the test kit's
            :class:`~picker_discovery.testing.FakeAsyncTransport`, say); the client makes and
            closes its ``httpx.AsyncClient`` on it.
        http_client: an ``httpx.AsyncClient`` of your own (your proxies, limits, HTTP/2); you
            close it. It must not follow redirects.
        timeout: httpx's timeout for the client it makes (10 s to connect, 60 s to read).

    Use it as ``async with AsyncPickerClient(...) as client:``, or ``await client.aclose()``.
    """

    min_poll_interval: float = MIN_POLL_INTERVAL
    max_poll_interval: float = MAX_POLL_INTERVAL
    fallback_wait: float = FALLBACK_WAIT

    def __init__(
        self,
        *,
        credentials: Credentials | None = None,
        client_options: Any = None,
        discovery_document: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        allowed_hosts: Collection[str] = (),
        allow_insecure_http: bool = False,
        retry: RetryPolicy | Mapping[str, RetryPolicy] | None = None,
        clock: Clock | None = None,
        journal: SessionJournal | str | os.PathLike[str] | bool | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    ) -> None:
        if transport is not None and http_client is not None:
            raise PickerError("pass either transport or http_client, not both")
        if credentials is None and transport is None and http_client is None:
            import google.auth

            credentials, _ = google.auth.default(scopes=[SCOPE])
        self._credentials = _scoped(credentials) if credentials is not None else None
        self._service: PhotospickerResource = build(
            http=_NoHttp(),
            client_options=client_options,
            discovery_document=discovery_document,
            allowed_hosts=allowed_hosts,
            allow_insecure_http=allow_insecure_http,
        )
        self._sessions = self._service.sessions()
        self._media_items = self._service.mediaItems()
        self._creates = CreateRequests(self._sessions)
        base_url = str(getattr(self._service, "_baseUrl", "") or "")
        owns = http_client is None
        if http_client is None:
            http_client = httpx.AsyncClient(
                transport=transport, timeout=timeout, follow_redirects=False
            )
        self._sender = Sender(
            http_client, credentials=self._credentials, base_url=base_url, owns_http=owns
        )
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._allow_insecure_http = allow_insecure_http
        self._policies = resolve_policies(retry)
        self._endpoint = normal_endpoint(base_url)
        self._journal = self._resolve_journal(journal)
        self._deleting: set[asyncio.Task[None]] = set()

    # -- the client itself ------------------------------------------------------------------

    async def __aenter__(self) -> AsyncPickerClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Wait for deletes still running after a cancellation, then close the httpx client
        this client made (one passed as ``http_client`` stays open)."""
        if self._deleting:
            await asyncio.gather(*self._deleting, return_exceptions=True)
        await self._sender.aclose()

    @property
    def service(self) -> PhotospickerResource:
        """The googleapiclient ``Resource`` the requests are built with (it never sends)."""
        return self._service

    @property
    def credentials(self) -> Credentials | None:
        """The google-auth credentials this client sends (scoped), or None."""
        return self._credentials

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` requests go through."""
        return self._sender.http

    @property
    def clock(self) -> Clock:
        """The clock the client waits and retries by."""
        return self._clock

    # -- sending ----------------------------------------------------------------------------

    async def _execute(
        self,
        method: str,
        request: Any,
        *,
        session_id: str | None,
        idempotent: bool = True,
        not_found_after_failure_ok: bool = False,
        retry: bool = True,
    ) -> Any:
        """Send ``request`` under the method's retry policy (once with ``retry=False``);
        raise domain errors, with any token scrubbed from them."""
        attempts: Attempts | None = None  # made at the first failure: most calls have none
        try:
            while True:
                try:
                    resp, content = await self._sender.send(request)
                    return _json_object(read_answer(request, resp, content), method, session_id)
                except Exception as exc:
                    if attempts is None:
                        attempts = Attempts(
                            method,
                            request.methodId,
                            session_id,
                            self._policies[method] if retry else _SEND_ONCE,
                            idempotent=idempotent,
                            not_found_after_failure_ok=not_found_after_failure_ok,
                            now=self._clock.now,
                        )
                    delay = attempts.failed(exc)
                    if delay is None:
                        return {}
                await asleep(self._clock, delay)
        except Exception as exc:
            scrub(exc, credential_secrets(self._credentials) if self._credentials else ())
            raise

    # -- sessions ---------------------------------------------------------------------------

    async def create_session(
        self,
        max_item_count: int | None = None,
        request_id: uuid.UUID | str | None = None,
    ) -> PickingSession:
        """Create a picking session; see :meth:`PickerClient.create_session`."""
        request = self._creates.request(max_item_count, request_id)
        data = await self._execute("sessions.create", request, session_id=None, idempotent=False)
        sid = _usable_id(data)
        if sid is not None:
            self._journal_record(sid, data)
        try:
            session = read_created(data, sid)
        except BaseException as exc:
            if sid is not None:
                logger.warning(
                    "sessions.create made session %s but its answer could not be used (%s); "
                    "deleting the session",
                    sid,
                    type(exc).__name__,
                )
                await self._delete_quietly(sid, exc)
            raise
        logger.info("created picking session %s", session.id)
        return session

    async def get_session(self, session_id: PickingSession | str) -> PickingSession:
        """Read a session's current state; see :meth:`PickerClient.get_session`."""
        sid = _session_id_of(session_id)
        request = self._sessions.get(sessionId=sid)
        data = await self._execute("sessions.get", request, session_id=sid)
        return PickingSession.from_dict(data)

    async def delete_session(
        self, session_id: PickingSession | str, *, missing_ok: bool = False
    ) -> None:
        """Delete a session; see :meth:`PickerClient.delete_session`."""
        sid = _session_id_of(session_id)
        request = self._sessions.delete(sessionId=sid)
        try:
            await self._execute(
                "sessions.delete", request, session_id=sid, not_found_after_failure_ok=True
            )
        except SessionNotFound:
            self._journal_forget(sid)
            if missing_ok:
                return
            raise
        self._journal_forget(sid)
        logger.info("deleted picking session %s", sid)

    async def _delete_quietly(self, sid: str, cause: BaseException) -> None:
        """Delete ``sid`` while ``cause`` is raised: logged, never raised. The delete runs in
        a task of its own, shielded, so a second cancellation does not stop it (and
        :meth:`aclose` waits for it)."""
        task = asyncio.ensure_future(self.delete_session(sid, missing_ok=True))
        self._deleting.add(task)
        task.add_done_callback(self._deleted)
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            logger.warning(
                "cancelled again while deleting picking session %s; the delete goes on", sid
            )
            raise
        except Exception:
            logger.warning(
                "could not delete picking session %s while handling %s; it ends by itself "
                "at its expireTime, or run 'picker-discovery sessions cleanup'",
                sid,
                type(cause).__name__,
                exc_info=True,
            )

    def _deleted(self, task: asyncio.Task[None]) -> None:
        self._deleting.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("a background delete failed: %s", task.exception())

    @contextlib.asynccontextmanager
    async def picking_session(
        self,
        max_item_count: int | None = None,
        request_id: uuid.UUID | str | None = None,
    ) -> AsyncIterator[PickingSession]:
        """Create a session for the ``async with`` block and delete it however the block
        ends: success, any exception, a timeout, and the task's cancellation (the delete is
        shielded from it). When the block failed, a failure to delete is logged and the
        block's own exception is raised; when it succeeded, it is raised."""
        session = await self.create_session(max_item_count=max_item_count, request_id=request_id)
        sid = _session_id_of(session)
        try:
            yield session
        except BaseException as exc:
            await self._delete_quietly(sid, exc)
            raise
        else:
            await self.delete_session(sid, missing_ok=True)
