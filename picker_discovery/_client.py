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
import math
import os
import re
import threading
import unicodedata
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from googleapiclient.errors import HttpError

from picker_discovery import _checks
from picker_discovery._clock import Clock, SystemClock
from picker_discovery._discovery import SCOPE
from picker_discovery._journal import CleanupReport, SessionJournal, normal_endpoint, parse_time
from picker_discovery._media.listing import iter_listed
from picker_discovery._retry import RetryPolicy, is_transport_error, is_unsent_error
from picker_discovery._secrets import credential_secrets, install_log_filter, scrub
from picker_discovery._service import build
from picker_discovery.errors import (
    BadArgument,
    BadArgumentType,
    MalformedResponse,
    NoCredentials,
    PickerError,
    PickerHttpError,
    PickingCancelled,
    PickingTimeout,
    SessionNotFound,
    from_http_error,
)
from picker_discovery.models import (
    PickedMediaItem,
    PickingConfig,
    PickingSession,
    PollingConfig,
)

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

    from picker_discovery._media.items import Size
    from picker_discovery._media.pool import Downloader
    from picker_discovery._media.results import Downloaded, DownloadResult, Skipped
    from picker_discovery._service_types import PhotospickerResource
    from picker_discovery._types import HttpResponse, HttpTransport, HttpTransportFactory

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "MAX_ITEM_COUNT",
    "MAX_PAGE_SIZE",
    "PickerClient",
    "check_session_id",
]

logger = logging.getLogger(__name__)
install_log_filter()

MAX_ITEM_COUNT = 2000
MAX_PAGE_SIZE = 100
DEFAULT_POLL_INTERVAL = 5.0
"""Seconds between polls when an answer carries no usable ``pollingConfig.pollInterval``
(missing, unreadable, zero or negative): Google's own answers say 3 to 5 s."""
MIN_POLL_INTERVAL = 0.1
"""The shortest wait between polls, whatever the server says, so a tiny interval never spins.
At most ten requests a second from one wait: far inside Google's quota of 100,000 requests a
minute per project, and short enough for an emulator's quick test sessions (which ask 0.1 s)."""
MAX_POLL_INTERVAL = 60.0
"""The longest wait between polls, whatever the server says: a user who tapped Done is noticed
within a minute, and a wait never sleeps for an absurd interval (``"315576000000s"``)."""
FALLBACK_WAIT = 1800.0
"""How long a wait lasts when nothing else limits it: no ``timeout`` from the caller, and no
``timeoutIn`` or ``expireTime`` in the session's first answer. 30 minutes, the longest
``timeoutIn`` seen from Google."""

METHODS = ("sessions.create", "sessions.get", "sessions.delete", "mediaItems.list")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def check_session_id(session_id: object) -> str:
    """Return ``session_id`` if it can name a session, else raise
    :class:`~picker_discovery.errors.BadArgument` (a ``ValueError``).

    A session id goes into the URL path, so anything that could change the path is refused
    before a request is made: non-strings, empty or blank strings, ``/``, control characters,
    lone surrogates (which have no UTF-8 form to send), and the dot segments ``.`` and ``..``.
    """
    if not isinstance(session_id, str):
        raise BadArgument(f"session id must be a string, not {type(session_id).__name__}")
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
    if isinstance(value, str) and _UUID.fullmatch(value):
        return value.lower()
    raise BadArgument(
        "request_id must be a uuid.UUID or a UUID string like "
        f"'2ea3dc54-f352-4d9d-a667-1b497bdf4e52' (uuid.uuid4() makes one), not {value!r}"
    )


def _check_timeout(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadArgumentType(f"timeout must be seconds (a number) or a timedelta, not {value!r}")
    if math.isnan(value) or value < 0:
        raise BadArgument(f"timeout must not be negative, not {value}")
    return float(value)


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


def _scoped(credentials: Credentials) -> Credentials:
    """``credentials`` with the picker scope, where they need scopes (service accounts)."""
    import google.auth.credentials

    scoped: Credentials = google.auth.credentials.with_scopes_if_required(credentials, [SCOPE])
    return scoped


def _authorized_http_factory(credentials: Credentials) -> HttpTransportFactory:
    """A factory of per-thread transports: ``AuthorizedHttp`` over a fresh ``httplib2.Http``."""
    import google_auth_httplib2
    from googleapiclient.http import build_http

    scoped = _scoped(credentials)

    def factory() -> HttpTransport:
        http: HttpTransport = google_auth_httplib2.AuthorizedHttp(scoped, http=build_http())
        return http

    return factory


class _SendOnceHttp:
    """An ``httplib2.Http``-shaped transport over google-auth's ``AuthorizedSession`` that
    sends each request exactly once.

    httplib2 quietly sends a request again when the connection drops before the answer, POST
    included, so a ``sessions.create`` whose answer was lost could make a second session.
    requests (urllib3) does not resend, so ``create`` goes through this when the client holds
    credentials. Network failures are raised as the built-in exceptions the retry policy reads:
    ``ConnectionRefusedError`` when nothing was sent, ``TimeoutError``, ``ConnectionError``.
    """

    def __init__(
        self, credentials: Credentials, timeout: tuple[float, float] = (10.0, 60.0)
    ) -> None:
        from google.auth.transport.requests import AuthorizedSession

        self._session = AuthorizedSession(credentials)
        self._timeout = timeout

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> tuple[Any, bytes]:
        import httplib2
        import requests

        try:
            answer = self._session.request(
                method,
                uri,
                data=body,
                headers=dict(headers or {}),
                allow_redirects=False,
                timeout=self._timeout,
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise ConnectionRefusedError(f"could not connect to {uri}: {exc}") from exc
        except requests.exceptions.Timeout as exc:
            raise TimeoutError(f"no answer from {uri} in time: {exc}") from exc
        except requests.exceptions.ConnectionError as exc:
            if _never_sent(exc):
                raise ConnectionRefusedError(f"could not connect to {uri}: {exc}") from exc
            raise ConnectionError(f"the connection to {uri} failed: {exc}") from exc
        except requests.exceptions.ChunkedEncodingError as exc:  # the answer was cut short
            raise ConnectionError(
                f"the connection to {uri} failed before the whole answer came: {exc}"
            ) from exc
        info = {key.lower(): value for key, value in answer.headers.items()}
        info["status"] = str(answer.status_code)
        response = httplib2.Response(info)
        response.reason = answer.reason or ""
        return response, answer.content

    def close(self) -> None:
        self._session.close()


def _never_sent(exc: BaseException) -> bool:
    """Whether a requests failure happened before the request left (no connection made)."""
    import urllib3.exceptions

    cause = exc.args[0] if exc.args else None  # urllib3's MaxRetryError, carrying the reason
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


class _RetryPastDeadline(Exception):
    """A failed request whose retry would come after the caller's deadline (private)."""


class _Recording:
    """A transport that keeps the last answer, for answers googleapiclient cannot read."""

    def __init__(self, transport: HttpTransport) -> None:
        self.transport = transport
        self.answer: tuple[HttpResponse, bytes] | None = None

    def request(self, *args: Any, **kwargs: Any) -> tuple[HttpResponse, bytes]:
        resp, content = self.transport.request(*args, **kwargs)
        self.answer = (resp, content)
        return resp, content

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


def _execute_reading(request: Any, http: HttpTransport | None = None) -> Any:
    """``request.execute`` on ``http``, raising only our errors for an answer it cannot read.

    googleapiclient fails with ``AttributeError``, ``UnicodeDecodeError`` or ``RecursionError``
    on some answers (an error body whose message is not a string, a body that is not UTF-8,
    JSON nested too deep). An error answer is then raised as a :class:`PickerHttpError`, any
    other as :class:`MalformedResponse`.
    """
    recording = _Recording(http if http is not None else request.http)
    try:
        return request.execute(http=recording, num_retries=0)
    except HttpError:
        raise
    except Exception as exc:
        if recording.answer is None:
            raise  # no answer: the transport failed
        resp, content = recording.answer
        if resp.status >= 300:
            raise PickerHttpError(resp, content, request.uri) from exc
        raise MalformedResponse(
            f"{request.methodId} answered HTTP {resp.status} with a body that cannot be read "
            f"as JSON ({type(exc).__name__}, {len(content)} bytes): check the endpoint the "
            "client talks to"
        ) from exc
    except BaseException:  # Ctrl-C, or a signal's exception, in the middle of the request
        _drop_connections(recording.transport)
        raise


def _drop_connections(transport: object) -> None:
    """Close an httplib2 transport's connections after a request on it was interrupted.

    The interrupted request's answer may still be on its way, and httplib2 would send the next
    request on that connection and misread it (or send it twice): the delete that cleans up
    after Ctrl-C or SIGTERM must start on a connection of its own.
    """
    for http in (transport, getattr(transport, "http", None)):
        connections = getattr(http, "connections", None)
        if isinstance(connections, dict):
            for connection in list(connections.values()):
                with contextlib.suppress(Exception):
                    connection.close()
            connections.clear()


def _without_unreadable_timing(session_id: str, data: Mapping[str, Any]) -> PickingSession:
    """A polled session; timing fields that cannot be read (``pollInterval``, ``timeoutIn``,
    ``expireTime``) are dropped with a warning, so that a bad one cannot end a wait and lose
    the user's pick. Any other malformed field still raises :class:`MalformedResponse`."""
    try:
        return PickingSession.from_dict(data)
    except MalformedResponse as exc:
        problem = exc
    readable = dict(data)
    dropped: list[str] = []
    config = data.get("pollingConfig")
    if isinstance(config, Mapping):
        kept = {}
        for name, value in config.items():
            try:
                PollingConfig.from_dict({name: value})
            except MalformedResponse:
                dropped.append(f"pollingConfig.{name}")
            else:
                kept[name] = value
        readable["pollingConfig"] = kept
    elif config is not None:
        dropped.append("pollingConfig")
        del readable["pollingConfig"]
    if "expireTime" in data:
        try:
            PickingSession.from_dict({"expireTime": data["expireTime"]})
        except MalformedResponse:
            dropped.append("expireTime")
            del readable["expireTime"]
    if not dropped:
        raise problem
    state = PickingSession.from_dict(readable)
    logger.warning(
        "session %s: ignoring what cannot be read in sessions.get's answer (%s: %s); "
        "waiting as if it were not there",
        session_id,
        ", ".join(dropped),
        problem,
    )
    return state


def _json_object(data: Any, method: str, session_id: str | None) -> Mapping[str, Any]:
    """The answer of a call, which for every method of the API is a JSON object."""
    if isinstance(data, Mapping):
        return data
    if data == "" and method == "sessions.delete":  # its answer is Empty: a body is optional
        return {}
    where = f" for session {session_id!r}" if session_id else ""
    raise MalformedResponse(
        f"{method}{where} answered a JSON {type(data).__name__} instead of a JSON object: "
        "check the endpoint the client talks to"
    )


class PickerClient:
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
        self._http_factory = http_factory
        self._local = threading.local()
        self._shared_lock = threading.Lock()
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._allow_insecure_http = allow_insecure_http
        self._policies = self._resolve_policies(retry)
        self._journal = self._resolve_journal(journal)
        self._endpoint = normal_endpoint(str(getattr(service, "_baseUrl", "") or ""))

    @staticmethod
    def _resolve_policies(
        retry: RetryPolicy | Mapping[str, RetryPolicy] | None,
    ) -> dict[str, RetryPolicy]:
        if retry is None or isinstance(retry, RetryPolicy):
            policy = retry or RetryPolicy()
            return dict.fromkeys(METHODS, policy)
        unknown = set(retry) - set(METHODS)
        if unknown:
            raise BadArgument(
                f"retry names unknown methods {sorted(unknown)}; known: {', '.join(METHODS)}"
            )
        return {method: retry.get(method, RetryPolicy()) for method in METHODS}

    def _resolve_journal(
        self, journal: SessionJournal | str | os.PathLike[str] | bool | None
    ) -> SessionJournal | None:
        if journal is None or journal is True:
            return SessionJournal.from_environment(account=self._account_label())
        if journal is False:
            return None
        if isinstance(journal, SessionJournal):
            return journal
        if isinstance(journal, (str, os.PathLike)):
            return SessionJournal(journal, account=self._account_label())
        raise BadArgumentType(
            f"journal must be a SessionJournal, a path or a bool, not {journal!r}"
        )

    def _account_label(self) -> str | None:
        """Who the credentials are, when they say so (a service account's e-mail): never a
        token."""
        for name in ("service_account_email", "account"):
            value = getattr(self._credentials, name, None)
            if isinstance(value, str) and value:
                return value
        return None

    def _journal_account(self, journal: SessionJournal) -> str | None:
        return journal.account if journal.account is not None else self._account_label()

    @property
    def journal(self) -> SessionJournal | None:
        """The journal of sessions this client created and has not deleted, or None."""
        return self._journal

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

    # -- sending ---------------------------------------------------------------------------

    def _send(self, request: Any, *, once: bool = False) -> Any:
        """Execute once, on this thread's transport or, lacking a factory, the shared one.

        With ``once`` (a request that must not reach the server twice) and credentials, the
        request goes through a transport that never resends by itself (:class:`_SendOnceHttp`).
        """
        if once and self._credentials is not None:
            http = getattr(self._local, "once_http", None)
            if http is None:
                http = _SendOnceHttp(self._credentials)
                self._local.once_http = http
            return _execute_reading(request, http)
        if self._http_factory is not None:
            http = getattr(self._local, "http", None)
            if http is None:
                http = self._http_factory()
                self._local.http = http
            return _execute_reading(request, http)
        with self._shared_lock:
            return _execute_reading(request)

    def _sleep(self, seconds: float, cancel: threading.Event | None) -> None:
        self._clock.sleep(seconds, cancel)

    def _execute(
        self,
        method: str,
        request: Any,
        *,
        session_id: str | None,
        idempotent: bool = True,
        cancel: threading.Event | None = None,
        not_found_after_failure_ok: bool = False,
        until: float | None = None,
    ) -> Any:
        """Send ``request`` under the method's retry policy; raise domain errors.

        With ``not_found_after_failure_ok``, a ``NOT_FOUND`` that follows an attempt which may
        have reached the server (a transport failure or a 5xx) counts as success: that attempt
        most likely did the work (a delete), and only its answer was lost.

        With ``until`` (a time on the client's monotonic clock), a retry that would sleep past
        it raises :class:`_RetryPastDeadline` (caused by the failure) instead of sleeping.
        """
        try:
            return self._execute_retrying(
                method,
                request,
                session_id=session_id,
                idempotent=idempotent,
                cancel=cancel,
                not_found_after_failure_ok=not_found_after_failure_ok,
                until=until,
            )
        except Exception as exc:
            # A server, proxy or token endpoint may repeat a token back in its answer, and
            # HttpError and google-auth copy answers into their exceptions: hide it.
            scrub(exc, self._secrets())
            raise

    def _secrets(self) -> frozenset[str]:
        """The tokens this client's credentials hold now (to keep out of its exceptions)."""
        if self._credentials is None:
            return frozenset()
        return credential_secrets(self._credentials)

    def _execute_retrying(
        self,
        method: str,
        request: Any,
        *,
        session_id: str | None,
        idempotent: bool,
        cancel: threading.Event | None,
        not_found_after_failure_ok: bool,
        until: float | None = None,
    ) -> Any:
        policy = self._policies[method]
        attempt = 0
        maybe_done = False
        while True:
            attempt += 1
            try:
                return _json_object(self._send(request, once=not idempotent), method, session_id)
            except HttpError as exc:
                error = from_http_error(exc, method_id=request.methodId, session_id=session_id)
                if not_found_after_failure_ok and maybe_done and isinstance(error, SessionNotFound):
                    logger.info(
                        "%s: session %s is gone after an earlier attempt failed in transit; "
                        "counting that attempt as done",
                        method,
                        session_id,
                    )
                    return {}
                delay = policy.retry_delay(
                    attempt,
                    status=error.code,
                    headers=exc.resp,
                    idempotent=idempotent,
                    now=self._clock.now(),
                )
                if delay is None:
                    raise error from exc
                maybe_done = maybe_done or error.code >= 500
                why = f"HTTP {error.code} {error.status or ''}".rstrip()
                failure: Exception = error
            except Exception as exc:
                if not is_transport_error(exc):
                    raise
                delay = policy.retry_delay(
                    attempt, exception=exc, idempotent=idempotent, now=self._clock.now()
                )
                if delay is None:
                    raise
                maybe_done = maybe_done or not is_unsent_error(exc)
                why = type(exc).__name__
                failure = exc
            if until is not None and self._clock.monotonic() + delay >= until:
                raise _RetryPastDeadline(f"{method} failed ({why}); no time left to retry") from (
                    failure
                )
            logger.warning(
                "%s%s failed (%s), attempt %d of %d; retrying in %.1f s",
                method,
                f" for session {session_id}" if session_id else "",
                why,
                attempt,
                policy.max_attempts,
                delay,
            )
            self._sleep(delay, cancel)
            if cancel is not None and cancel.is_set():
                raise PickingCancelled(session_id or "", waited=0.0, polls=0)

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
        body: dict[str, Any] = {}
        if max_item_count is not None:
            count = _check_int("max_item_count", max_item_count, 1, MAX_ITEM_COUNT)
            body["pickingConfig"] = PickingConfig(max_item_count=count).to_dict()
        params: dict[str, Any] = {"body": body}
        if request_id is not None:
            params["requestId"] = _check_request_id(request_id)
        request = self._sessions.create(**params)
        data = self._execute("sessions.create", request, session_id=None, idempotent=False)
        sid = _usable_id(data)
        if sid is not None:
            self._journal_record(sid, data)
        try:
            session = PickingSession.from_dict(data)
            if sid is None:
                if not session.id:
                    raise MalformedResponse(
                        "sessions.create answered without a session id; nothing can be polled "
                        "or deleted. Check the endpoint the client talks to"
                    )
                raise MalformedResponse(
                    f"sessions.create answered a session id that cannot name a session "
                    f"({session.id!r}); it cannot be polled or deleted. Check the endpoint the "
                    "client talks to"
                )
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

    def _journal_record(self, sid: str, data: Mapping[str, Any]) -> None:
        if self._journal is None:
            return
        try:
            self._journal.record(
                sid,
                self._endpoint,
                created=self._clock.now(),
                expires=parse_time(data.get("expireTime")),
                account=self._journal_account(self._journal),
            )
        except (OSError, ValueError) as exc:
            logger.warning(
                "could not note session %s in the session journal %s (%s); a cleanup will not "
                "know it if this process is killed before deleting it",
                sid,
                self._journal.path,
                exc,
            )

    def _journal_forget(self, sid: str) -> None:
        if self._journal is None:
            return
        try:
            self._journal.forget(sid, self._endpoint)
        except (OSError, ValueError) as exc:
            logger.warning(
                "could not note the deletion of session %s in the session journal %s (%s)",
                sid,
                self._journal.path,
                exc,
            )

    def get_session(self, session_id: PickingSession | str) -> PickingSession:
        """Read a session's current state (``session_id`` may be a :class:`PickingSession`).

        Raises:
            ValueError: ``session_id`` cannot be a session id; nothing was sent.
            SessionNotFound: no such session (or not the caller's).
            PermissionDenied: access to the session has expired.
        """
        return self._get(_session_id_of(session_id), None)

    def _get(self, sid: str, cancel: threading.Event | None) -> PickingSession:
        request = self._sessions.get(sessionId=sid)
        data = self._execute("sessions.get", request, session_id=sid, cancel=cancel)
        return PickingSession.from_dict(data)

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

    # -- waiting ---------------------------------------------------------------------------

    def wait_for_selection(
        self,
        session: PickingSession | str,
        *,
        timeout: float | timedelta | None = None,
        on_poll: Callable[[PickingSession], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> PickingSession:
        """Poll the session as the server asks until the user has picked; return that state.

        Polls ``sessions.get`` every ``pollingConfig.pollInterval`` of the latest answer, kept
        between ``min_poll_interval`` and ``max_poll_interval``; a missing, unreadable, zero or
        negative interval means every :data:`DEFAULT_POLL_INTERVAL` seconds. Given a
        :class:`PickingSession` (say, from :meth:`create_session`), its polling config paces
        the first poll; given an id, the first poll is immediate. ``on_poll`` sees every state
        read. Setting ``cancel`` (from any thread) stops the wait promptly.

        The deadline is fixed when the wait starts: the earliest of ``timeout``, the first
        answer's ``timeoutIn`` and its ``expireTime`` (or, when none of them is known,
        ``fallback_wait`` seconds). A later answer can bring it closer (a ``timeoutIn`` of 0
        stops the wait), never push it back, so a server whose ``timeoutIn`` never counts down
        still ends the wait. A timing field that cannot be read is ignored (and logged) rather
        than ending the wait, so the user's pick is not lost to it.

        Raises:
            PickingTimeout: the deadline came (``reason`` says which limit set it:
                ``"timeout"``, ``"timeoutIn"``, ``"expireTime"`` or ``"fallback"``).
            PickingCancelled: ``cancel`` was set.
            SessionNotFound, PermissionDenied, PickerHttpError: as :meth:`get_session`.
        """
        sid = _session_id_of(session)
        limit = _check_timeout(timeout)
        clock = self._clock
        started = clock.monotonic()
        state = session if isinstance(session, PickingSession) else None
        polls = 0
        received = started
        deadline = (started + limit, "timeout") if limit is not None else (math.inf, "")
        fixed = False  # whether the first answer has set the deadline

        def check_cancel() -> None:
            if cancel is not None and cancel.is_set():
                raise PickingCancelled(sid, waited=clock.monotonic() - started, polls=polls)

        while True:
            check_cancel()
            if state is None:
                try:
                    state = self._poll(sid, cancel, deadline[0])
                except PickingCancelled:  # while a failed poll waited for its retry
                    raise PickingCancelled(
                        sid, waited=clock.monotonic() - started, polls=polls
                    ) from None
                except _RetryPastDeadline as exc:  # a failed poll's retry would come too late
                    self._sleep(max(0.0, deadline[0] - clock.monotonic()), cancel)
                    check_cancel()
                    raise PickingTimeout(
                        sid, deadline[1], waited=clock.monotonic() - started, polls=polls
                    ) from exc.__cause__
                received = clock.monotonic()
                polls += 1
                if on_poll is not None:
                    on_poll(state)
            if state.media_items_set:
                logger.info("session %s: picked after %d poll(s)", sid, polls)
                return state
            deadline = min([deadline, *self._session_deadlines(state, received)])
            if not fixed and deadline[0] == math.inf:
                deadline = (started + self.fallback_wait, "fallback")
                logger.info(
                    "session %s: no timeout, timeoutIn or expireTime; waiting at most %g s",
                    sid,
                    self.fallback_wait,
                )
            fixed = True
            next_poll = received + self._poll_interval(state)
            now = clock.monotonic()
            if now >= deadline[0]:
                raise PickingTimeout(sid, deadline[1], waited=now - started, polls=polls)
            if next_poll >= deadline[0]:
                self._sleep(deadline[0] - now, cancel)
                check_cancel()
                now = clock.monotonic()
                raise PickingTimeout(sid, deadline[1], waited=now - started, polls=polls)
            self._sleep(next_poll - now, cancel)
            state = None

    def _poll(self, sid: str, cancel: threading.Event | None, until: float) -> PickingSession:
        """One ``sessions.get`` for the wait, retried only while the deadline allows;
        unreadable timing fields are dropped, not fatal."""
        request = self._sessions.get(sessionId=sid)
        data = self._execute(
            "sessions.get",
            request,
            session_id=sid,
            cancel=cancel,
            until=until if until < math.inf else None,
        )
        return _without_unreadable_timing(sid, data)

    def _session_deadlines(self, state: PickingSession, received: float) -> list[tuple[float, str]]:
        """When the session's own limits run out, on the monotonic clock."""
        deadlines = []
        config = state.polling_config
        if config is not None and config.timeout_in is not None:
            deadlines.append((received + config.timeout_in.total_seconds(), "timeoutIn"))
        if state.expire_time is not None:
            left = (state.expire_time - self._clock.now()).total_seconds()
            deadlines.append((self._clock.monotonic() + left, "expireTime"))
        return deadlines

    def _poll_interval(self, state: PickingSession) -> float:
        """Seconds to the next poll: the server's ``pollInterval`` within this client's bounds."""
        config = state.polling_config
        seconds = None
        if config is not None and config.poll_interval is not None:
            seconds = config.poll_interval.total_seconds()
        if seconds is None or not seconds > 0:
            logger.debug(
                "session %s: no usable pollInterval (%s); polling every %g s",
                state.id,
                seconds,
                DEFAULT_POLL_INTERVAL,
            )
            seconds = DEFAULT_POLL_INTERVAL
        return min(max(seconds, self.min_poll_interval), self.max_poll_interval)

    # -- listing ---------------------------------------------------------------------------

    def iter_media_items(
        self, session_id: PickingSession | str, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[PickedMediaItem]:
        """Yield every picked item of a session, following ``nextPageToken`` to the end.

        ``session_id`` may be a :class:`PickingSession`.

        Arguments are checked at once; requests are sent as the items are consumed. Empty
        pages that carry a token are followed.

        Raises:
            TypeError, ValueError: an argument is invalid; nothing was sent.
            FailedPrecondition: the user has not finished picking yet.
            RepeatedPageToken: the service sent a page token it had sent before.
            TooManyPages: the service sent more pages than a session of 2000 items can need
                (see :data:`picker_discovery._paging.MAX_PAGES`).
        """
        sid = _session_id_of(session_id)
        size = _check_int("page_size", page_size, 1, MAX_PAGE_SIZE)
        return self._pages(sid, size)

    def _pages(self, sid: str, size: int) -> Iterator[PickedMediaItem]:
        for listed in iter_listed(sid, lambda _, token: self._list_page(sid, token, size)):
            yield listed.item

    def _list_page(self, sid: str, token: str | None, size: int = MAX_PAGE_SIZE) -> Any:
        """One ``mediaItems.list`` call, retried as the policy says; the answer as a dict."""
        params: dict[str, Any] = {"sessionId": sid, "pageSize": size}
        if token:
            params["pageToken"] = token
        request = self._media_items.list(**params)
        return self._execute("mediaItems.list", request, session_id=sid)

    def list_media_items(
        self, session_id: PickingSession | str, page_size: int = MAX_PAGE_SIZE
    ) -> list[PickedMediaItem]:
        """Every picked item of a session, from all pages. See :meth:`iter_media_items`."""
        return list(self.iter_media_items(session_id, page_size))

    # -- bytes -----------------------------------------------------------------------------

    def downloader(self, *, media_hosts: Iterable[str] = (), **options: Any) -> Downloader:
        """A :class:`~picker_discovery.Downloader` sending this client's credentials.

        The token goes only to Google's content hosts (``*.googleusercontent.com``) and the
        origins in ``media_hosts`` (an emulator's media origin, say). An ``http://`` origin
        must be a loopback address unless the client was made with ``allow_insecure_http``.
        ``options`` are the downloader's (``workers``, ``retry``, ``progress``,
        ``url_lifetime``, ...).

        Raises:
            NoCredentials: the client has no credentials to fetch bytes with (it was given a
                bare ``http`` or a service without credentials).
            ValueError: a media host is not a valid allowlist entry, or would receive the token
                over plain http off this machine.
        """
        from picker_discovery._media.hosts import DEFAULT_ALLOWED_HOSTS, HostAllowlist
        from picker_discovery._media.pool import Downloader

        if self._credentials is None:
            raise NoCredentials(
                "this client has no credentials to fetch media bytes with: build it with "
                "credentials=..., or make a picker_discovery.Downloader yourself"
            )
        if not isinstance(self._clock, SystemClock):
            options.setdefault("clock", self._clock.monotonic)
            options.setdefault("sleep", self._clock.sleep)
        allowed = HostAllowlist(
            [*DEFAULT_ALLOWED_HOSTS, *media_hosts], allow_insecure_http=self._allow_insecure_http
        )
        return Downloader(self._credentials, allowed_hosts=allowed, **options)

    def download_session(
        self,
        session: PickingSession | str,
        folder: str | os.PathLike[str],
        *,
        size: Size | None = None,
        not_ready: Literal["skip", "wait", "fail"] = "skip",
        fail_fast: bool = False,
        media_hosts: Iterable[str] = (),
        **options: Any,
    ) -> DownloadResult:
        """Download every picked item of a session into ``folder``; see :mod:`~.media`.

        The session is listed page by page as downloads proceed (and again when baseUrls
        expire), through this client, so listing is retried as its policy says.
        ``options`` go to :meth:`downloader`.
        """
        sid = _session_id_of(session)
        # Checked before anything is listed: a folder that cannot be written fails now, with
        # the session still there to download from again.
        _checks.check_folder(folder)
        downloader = self.downloader(media_hosts=media_hosts, **options)
        return downloader.download_session(
            sid,
            folder,
            lambda session_id, token: self._list_page(session_id, token),
            size=size,
            not_ready=not_ready,
            fail_fast=fail_fast,
        )

    def download(
        self,
        item: PickedMediaItem,
        folder: str | os.PathLike[str],
        *,
        session: PickingSession | str | None = None,
        size: Size | None = None,
        not_ready: Literal["skip", "wait", "fail"] = "fail",
        media_hosts: Iterable[str] = (),
        **options: Any,
    ) -> Downloaded | Skipped:
        """Download one picked item into ``folder``.

        Given its ``session``, an expired baseUrl is renewed by listing the session again.

        Raises:
            MediaError: the item could not be downloaded (see :mod:`picker_discovery.errors`).
        """
        relist = None
        if session is not None:
            sid = _session_id_of(session)

            def relist() -> Iterator[PickedMediaItem]:
                return self._pages(sid, MAX_PAGE_SIZE)

        downloader = self.downloader(media_hosts=media_hosts, **options)
        return downloader.download(item, folder, relist=relist, size=size, not_ready=not_ready)
