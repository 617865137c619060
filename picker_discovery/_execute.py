"""How PickerClient sends a request: transports per thread, the send-once transport for
``sessions.create``, reading answers googleapiclient cannot read, retries under the
method's policy, and dropping connections a request was interrupted on."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from googleapiclient.errors import HttpError

from picker_discovery._clock import Clock
from picker_discovery._discovery import SCOPE
from picker_discovery._errorbase import MalformedResponse
from picker_discovery._errors_http import PickerHttpError, SessionNotFound, from_http_error
from picker_discovery._errors_session import PickingCancelled
from picker_discovery._retry import RetryPolicy, is_transport_error, is_unsent_error
from picker_discovery._secrets import credential_secrets, scrub

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

    from picker_discovery._service_types import MediaItemsResource, SessionsResource
    from picker_discovery._types import HttpResponse, HttpTransport, HttpTransportFactory

# The client's one logger: what users configure for PickerClient, whichever module logs.
logger = logging.getLogger("picker_discovery._client")


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


def _send_once_http(credentials: Credentials) -> HttpTransport:
    """A transport that sends each request exactly once: ``AuthorizedHttp`` over the
    ``httplib2.Http`` of :func:`_send_once_class`, as cheap per request as the client's normal
    transport."""
    import google_auth_httplib2

    http: HttpTransport = google_auth_httplib2.AuthorizedHttp(
        _scoped(credentials), http=_send_once_class()()
    )
    return http


@functools.cache
def _send_once_class() -> type:
    """The send-once ``httplib2.Http`` class, made on first use (httplib2 loads only then)."""
    import http.client
    import select

    import httplib2

    class SendOnceHttplib2(httplib2.Http):  # type: ignore[misc]
        """An ``httplib2.Http`` that sends each request exactly once and follows no redirect.

        httplib2 quietly sends a request again when the connection drops before the answer,
        POST included, so a ``sessions.create`` whose answer was lost could make a second
        session. This one sends once; a kept-alive connection the server has closed is
        noticed before sending (as urllib3 does) and replaced, so nothing is lost by reusing
        connections. Network failures are raised as the built-in exceptions the retry policy
        reads: ``ConnectionRefusedError`` when nothing was sent, ``TimeoutError``,
        ``ConnectionError``.
        """

        def __init__(self) -> None:
            from googleapiclient.http import build_http

            super().__init__(timeout=build_http().timeout)
            self.follow_redirects = False
            self._uri = ""

        def request(self, uri: str, *args: Any, **kwargs: Any) -> Any:
            self._uri = uri
            return super().request(uri, *args, **kwargs)

        def _conn_request(
            self, conn: Any, request_uri: str, method: str, body: Any, headers: Any
        ) -> tuple[Any, bytes]:
            uri = self._uri
            try:
                if conn.sock is not None and select.select([conn.sock], [], [], 0)[0]:
                    conn.close()  # closed by the server while idle (or it sent garbage)
                if conn.sock is None:
                    conn.connect()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise ConnectionRefusedError(f"could not connect to {uri}: {exc}") from exc
            try:
                conn.request(method, request_uri, body, headers)
                answer = conn.getresponse()
                content = answer.read()
            except TimeoutError as exc:
                conn.close()
                raise TimeoutError(f"no answer from {uri} in time: {exc}") from exc
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise ConnectionError(f"the connection to {uri} failed: {exc}") from exc
            response = httplib2.Response(answer)
            limits = (self.limit_kwargs,) if hasattr(self, "limit_kwargs") else ()  # 0.31 on
            return response, httplib2._decompressContent(response, content, *limits)

    return SendOnceHttplib2


_SEND_ONCE = RetryPolicy.none()


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
        raise unreadable_answer(request, resp, content, exc) from exc
    except BaseException:  # Ctrl-C, or a signal's exception, in the middle of the request
        _drop_connections(recording.transport)
        raise


def unreadable_answer(
    request: Any, resp: HttpResponse, content: bytes, exc: Exception
) -> Exception:
    """The error for an answer googleapiclient failed to read: a :class:`PickerHttpError`
    for an error status, else :class:`MalformedResponse`."""
    if resp.status >= 300:
        return PickerHttpError(resp, content, request.uri)
    return MalformedResponse(
        f"{request.methodId} answered HTTP {resp.status} with a body that cannot be read "
        f"as JSON ({type(exc).__name__}, {len(content)} bytes): check the endpoint the "
        "client talks to"
    )


def read_answer(request: Any, resp: HttpResponse, content: bytes) -> Any:
    """What ``request.execute()`` makes of an answer it received: ``HttpError`` for an error
    status, else the body through the request's model; only our errors for one it cannot
    read (see :func:`_execute_reading`)."""
    try:
        if resp.status >= 300:
            raise HttpError(resp, content, uri=request.uri)
        return request.postproc(resp, content)
    except HttpError:
        raise
    except Exception as exc:
        raise unreadable_answer(request, resp, content, exc) from exc


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


def _json_object(data: Any, method: str, session_id: str | None) -> Mapping[str, Any]:
    """The answer of a call, which for every method of the API is a JSON object."""
    if type(data) is dict or isinstance(data, Mapping):
        return data
    if data == "" and method == "sessions.delete":  # its answer is Empty: a body is optional
        return {}
    where = f" for session {session_id!r}" if session_id else ""
    raise MalformedResponse(
        f"{method}{where} answered a JSON {type(data).__name__} instead of a JSON object: "
        "check the endpoint the client talks to"
    )


class Attempts:
    """The retry bookkeeping of one call, shared by the synchronous and the asyncio client:
    the caller sends; after each failure it asks :meth:`failed` how long to wait.

    With ``not_found_after_failure_ok``, a ``NOT_FOUND`` that follows an attempt which may have
    reached the server (a transport failure or a 5xx) counts as success: that attempt most
    likely did the work (a delete), and only its answer was lost.
    """

    def __init__(
        self,
        method: str,
        method_id: str,
        session_id: str | None,
        policy: RetryPolicy,
        *,
        idempotent: bool = True,
        not_found_after_failure_ok: bool = False,
        now: Callable[[], datetime],
    ) -> None:
        self.method, self.method_id, self.session_id = method, method_id, session_id
        self.policy, self.idempotent = policy, idempotent
        self.not_found_after_failure_ok = not_found_after_failure_ok
        self.now = now
        self.attempt = 0
        self.maybe_done = False

    def failed(self, exc: Exception) -> float | None:
        """Seconds to wait before the next attempt, after the attempt that raised ``exc``
        (an ``HttpError`` or what the transport raised); None when the call counts as done.

        Raises:
            the domain error of an error answer (caused by ``exc``), or ``exc`` itself, when
            the policy gives up or the failure is not one to retry.
        """
        self.attempt += 1
        method, session_id, policy = self.method, self.session_id, self.policy
        if isinstance(exc, HttpError):
            error = from_http_error(exc, method_id=self.method_id, session_id=session_id)
            if (
                self.not_found_after_failure_ok
                and self.maybe_done
                and isinstance(error, SessionNotFound)
            ):
                logger.info(
                    "%s: session %s is gone after an earlier attempt failed in transit; "
                    "counting that attempt as done",
                    method,
                    session_id,
                )
                return None
            delay = policy.retry_delay(
                self.attempt,
                status=error.code,
                headers=exc.resp,
                idempotent=self.idempotent,
                now=self.now(),
            )
            if delay is None:
                raise error from exc
            self.maybe_done = self.maybe_done or error.code >= 500
            why = f"HTTP {error.code} {error.status or ''}".rstrip()
        else:
            if not is_transport_error(exc):
                raise exc
            delay = policy.retry_delay(
                self.attempt, exception=exc, idempotent=self.idempotent, now=self.now()
            )
            if delay is None:
                raise exc
            self.maybe_done = self.maybe_done or not is_unsent_error(exc)
            why = type(exc).__name__
        logger.warning(
            "%s%s failed (%s), attempt %d of %d; retrying in %.1f s",
            method,
            f" for session {session_id}" if session_id else "",
            why,
            self.attempt,
            policy.max_attempts,
            delay,
        )
        return delay


class _Executing:
    """A client's state and how it sends a request (the base of :class:`PickerClient`)."""

    _credentials: Credentials | None
    _sessions: SessionsResource
    _media_items: MediaItemsResource
    _http_factory: HttpTransportFactory | None
    _local: threading.local
    _shared_lock: threading.Lock
    _clock: Clock
    _allow_insecure_http: bool
    _policies: dict[str, RetryPolicy]

    # -- sending ---------------------------------------------------------------------------

    def _send(self, request: Any, *, once: bool = False) -> Any:
        """Execute once, on this thread's transport or, lacking a factory, the shared one.

        With ``once`` (a request that must not reach the server twice) and credentials, the
        request goes through a transport that never resends by itself (:func:`_send_once_http`).
        """
        if once and self._credentials is not None:
            http = getattr(self._local, "once_http", None)
            if http is None:
                http = _send_once_http(self._credentials)
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
        retry: bool = True,
    ) -> Any:
        """Send ``request`` under the method's retry policy; raise domain errors.

        With ``not_found_after_failure_ok``, a ``NOT_FOUND`` that follows an attempt which may
        have reached the server (a transport failure or a 5xx) counts as success: that attempt
        most likely did the work (a delete), and only its answer was lost.

        With ``retry=False`` the request is sent once, whatever the policy says: the caller
        (the poll step) decides about retrying itself.
        """
        try:
            # The first attempt here, without a frame of its own: most calls make no other.
            return _json_object(self._send(request, once=not idempotent), method, session_id)
        except Exception as first:
            failure = first
        try:
            return self._execute_retrying(
                method,
                request,
                failure,
                session_id=session_id,
                idempotent=idempotent,
                cancel=cancel,
                not_found_after_failure_ok=not_found_after_failure_ok,
                policy=self._policies[method] if retry else _SEND_ONCE,
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
        failure: Exception,
        *,
        session_id: str | None,
        idempotent: bool,
        cancel: threading.Event | None,
        not_found_after_failure_ok: bool,
        policy: RetryPolicy,
    ) -> Any:
        """The attempts after a first one that raised ``failure``, as the policy says."""
        attempts = Attempts(
            method,
            request.methodId,
            session_id,
            policy,
            idempotent=idempotent,
            not_found_after_failure_ok=not_found_after_failure_ok,
            now=self._clock.now,
        )
        while True:
            delay = attempts.failed(failure)
            if delay is None:
                return {}
            self._sleep(delay, cancel)
            if cancel is not None and cancel.is_set():
                raise PickingCancelled(session_id or "", waited=0.0, polls=0)
            try:
                return _json_object(self._send(request, once=not idempotent), method, session_id)
            except Exception as exc:
                failure = exc
