"""The error tree: every exception the package raises is a :class:`PickerError`.

Every API error is a :class:`PickerHttpError`, which is both a
``googleapiclient.errors.HttpError`` (``except HttpError``, ``e.resp.status``, ``e.content``,
``e.uri`` and ``e.reason`` keep working) and a :class:`PickerError`. The class is chosen from the
body's ``error.status`` first (``FAILED_PRECONDITION`` and ``INVALID_ARGUMENT`` share HTTP 400),
then from the HTTP code, then by range (4xx, 5xx), so an HTML or otherwise unreadable body still
gives the right class. Each status class registers its status, HTTP code and ``google.rpc.Code``
number as it is defined (``class NotFound(ClientError, status="NOT_FOUND", code=404,
rpc_code=5)``): the lookup tables are built from the classes, never kept beside them.

Errors that are also a built-in exception keep that base, so ``except ValueError`` (or
``TypeError``, ``ImportError``, ``HttpError``) written against the built-in keeps working::

    PickerError
    ├── BadArgument (ValueError)             an argument a function cannot use; nothing sent
    │   ├── BadArgumentType (TypeError)      an argument of the wrong type
    │   └── NoCredentials                    media bytes asked of a client without credentials
    ├── MissingExtra (ImportError)           an optional extra is not installed
    ├── UnknownName (KeyError)               a name looked up is not there (the test kit)
    ├── InvalidState (RuntimeError)          a call the object's state does not allow
    ├── CredentialsFileError (ValueError)    a token or client secrets file that is unusable
    ├── AccessNotGranted (PermissionError)   the scope not granted, or a token file not private
    ├── DiscoveryDocumentError (ValueError)  a discovery document missing, unreadable or wrong
    ├── MalformedResponse (ValueError)       an answer that is not what the schema describes
    ├── PickingTimeout                       waiting for the user's pick ran out of time
    ├── PickingCancelled                     another thread cancelled the wait
    ├── RepeatedPageToken                    mediaItems.list sent a page token twice
    ├── TooManyPages                         mediaItems.list sent more pages than can exist
    ├── PickerHttpError (HttpError)
    │   ├── ClientError                      4xx
    │   │   ├── InvalidArgument              400 INVALID_ARGUMENT (stands for 400)
    │   │   ├── FailedPrecondition           400 FAILED_PRECONDITION
    │   │   ├── OutOfRange                   400 OUT_OF_RANGE
    │   │   ├── Unauthenticated              401 UNAUTHENTICATED
    │   │   ├── PermissionDenied             403 PERMISSION_DENIED
    │   │   ├── NotFound                     404 NOT_FOUND
    │   │   │   └── SessionNotFound          a session that is missing or not the caller's
    │   │   ├── AlreadyExists                409 ALREADY_EXISTS
    │   │   ├── Aborted                      409 ABORTED (stands for 409)
    │   │   ├── ResourceExhausted            429 RESOURCE_EXHAUSTED
    │   │   └── Cancelled                    499 CANCELLED
    │   └── ServerError                      5xx
    │       ├── Internal                     500 INTERNAL (stands for 500)
    │       ├── Unknown                      500 UNKNOWN
    │       ├── DataLoss                     500 DATA_LOSS
    │       ├── Unimplemented                501 UNIMPLEMENTED
    │       ├── Unavailable                  503 UNAVAILABLE
    │       └── DeadlineExceeded             504 DEADLINE_EXCEEDED
    └── MediaError                           one item's bytes could not be fetched or saved
        ├── MediaNotReady                    a video still processing (or of unknown status)
        ├── MediaProcessingFailed            a video whose processing FAILED: never retried
        ├── UntrustedMediaHost               a URL (or redirect) off the allowlist: nothing sent
        ├── MediaUrlExpired                  a baseUrl expired (HTTP 401/403) and was not renewed
        ├── MediaHttpError                   another error status from the media host
        ├── IncompleteDownload               the body ended short of its length, retries spent
        └── ThumbnailError                   a thumbnail that is no image the notebook shows

A media host (``lh3.googleusercontent.com``, ...) answers bare HTTP rather than the API's JSON
errors, so the media errors are not ``HttpError``\\ s. The downloader and the notebook's
thumbnails raise the same class for the same condition.

Elsewhere in the package, also ``PickerError``\\ s: ``picker_discovery._cli.CommandError`` (a
command's failure with its exit code) and, in the test kit, ``testing.ApiError`` (the fake
service's error answer), ``testing.schema.SchemaError`` (a ``ValueError``) and
``testing.canned.MockExhausted`` (an ``AssertionError``).

This module is a leaf: it imports nothing from the project but its base module
``_errorbase`` (the root and the errors raised on the cold-start path, standard library only).
"""

from __future__ import annotations

import html.parser
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from googleapiclient.errors import HttpError

from picker_discovery._errorbase import (
    BadArgument,
    BadArgumentType,
    DiscoveryDocumentError,
    InvalidState,
    MalformedResponse,
    MissingExtra,
    PickerError,
    UnknownName,
)

__all__ = [
    "Aborted",
    "AccessNotGranted",
    "AlreadyExists",
    "BadArgument",
    "BadArgumentType",
    "Cancelled",
    "ClientError",
    "CredentialsFileError",
    "DataLoss",
    "DeadlineExceeded",
    "DiscoveryDocumentError",
    "ErrorInfo",
    "FailedPrecondition",
    "IncompleteDownload",
    "Internal",
    "InvalidArgument",
    "InvalidState",
    "MalformedResponse",
    "MediaError",
    "MediaHttpError",
    "MediaNotReady",
    "MediaProcessingFailed",
    "MediaUrlExpired",
    "MissingExtra",
    "NoCredentials",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "PickerError",
    "PickerHttpError",
    "PickingCancelled",
    "PickingTimeout",
    "RepeatedPageToken",
    "ResourceExhausted",
    "ServerError",
    "SessionNotFound",
    "ThumbnailError",
    "TooManyPages",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "UnknownName",
    "UntrustedMediaHost",
    "error_class",
    "from_http_error",
]

ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"


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


class NoCredentials(BadArgument):
    """A client or fetcher made without credentials was asked to fetch media bytes.

    Media hosts need the bearer token, which only credentials give: build the client with
    ``credentials=...``, or make the downloader or fetcher with credentials yourself.
    """


class CredentialsFileError(PickerError, ValueError):
    """A saved token file, or an OAuth client secrets file, cannot be used.

    The message names the file and why; sign in again (or download the client's JSON again).
    It is a ``ValueError`` too, as it was before it joined the tree.
    """


class AccessNotGranted(PickerError, PermissionError):
    """Credentials are not used: the sign-in did not grant the photospicker scope, or the token
    file is open to other users. The message says what to do; a ``PermissionError`` too."""


@dataclass(frozen=True)
class ErrorInfo:
    """The ``google.rpc.ErrorInfo`` detail of an error body: why, in machine-readable form."""

    reason: str
    domain: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Body:
    status: str | None = None
    message: str = ""
    details: list[Any] = field(default_factory=list)
    text: str = ""


def _parse_body(content: bytes) -> _Body:
    """Read Google's error JSON if it is there; never fail on anything else."""
    text = content.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return _Body(text=text)
    if isinstance(data, list) and data and isinstance(data[0], Mapping):
        data = data[0]  # batch-style bodies: a list of error objects
    if not isinstance(data, Mapping):
        return _Body(text=text)
    error = data.get("error", data)
    if isinstance(error, str):  # OAuth-style {"error": "invalid_grant", ...}
        description = data.get("error_description")
        return _Body(message=str(description or error), text=text)
    if not isinstance(error, Mapping):
        return _Body(text=text)
    status = error.get("status")
    code = error.get("code")
    if not isinstance(status, str) or not status:
        # Without the wrapper, "code" is a google.rpc.Code number rather than an HTTP code.
        status = None
        if error is data and isinstance(code, int) and not isinstance(code, bool):
            status = _BY_RPC_CODE.get(code)
    details = error.get("details")
    message = error.get("message")
    return _Body(
        status=status,
        message=message.strip() if isinstance(message, str) else "",
        details=list(details) if isinstance(details, list) else [],
        text=text,
    )


# The registry: each class of the tree that stands for a status adds itself here as it is
# defined (``class NotFound(ClientError, status="NOT_FOUND", code=404)``), so the lookup
# tables are built from the classes and cannot drift from them.
_BY_STATUS: dict[str, type[PickerHttpError]] = {}
# Where several statuses share a code, the class that says ``stands_for_code=True`` (the most
# general of them) stands for the code; a code with one status is that status's.
_BY_CODE: dict[int, type[PickerHttpError]] = {}
# google.rpc.Code numbers, for bodies that carry {"code": 16, ...} without the "error" wrapper.
_BY_RPC_CODE: dict[int, str] = {}


class PickerHttpError(HttpError, PickerError):  # type: ignore[misc]
    """An error answer from the Picker API.

    Attributes:
        status: the ``error.status`` string of the body (``"NOT_FOUND"``), or this class's own
            status when the body gave none.
        code: the HTTP status code.
        message: the server's message, or the start of a body that was not JSON.
        details: the body's ``error.details`` list; empty when it had none.
        error_info: the ``google.rpc.ErrorInfo`` detail, when present.
        method_id: the discovery id of the method called (``photospicker.sessions.delete``).
        session_id: the session involved, when there was one.
        text: the whole body as text, kept for bodies that were not JSON.
    """

    grpc_status: ClassVar[str | None] = None
    http_code: ClassVar[int | None] = None
    stands_for_code: ClassVar[bool] = False
    rpc_code: ClassVar[int | None] = None
    hint: ClassVar[str] = ""

    def __init_subclass__(
        cls,
        *,
        status: str | None = None,
        code: int | None = None,
        stands_for_code: bool = False,
        rpc_code: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Register the class for ``status``, its HTTP ``code`` and its ``google.rpc.Code``
        number ``rpc_code``: ``from_http_error`` finds it there.

        Raises ``TypeError`` when the class is defined with only one of the two, or claims a
        status (or, with ``stands_for_code``, a code) another class already holds.
        """
        super().__init_subclass__(**kwargs)
        if status is None and code is None and rpc_code is None and not stands_for_code:
            return  # a refinement (SessionNotFound) or a range (ClientError): no status
        if status is None or code is None or rpc_code is None:
            raise TypeError(
                f"{cls.__qualname__}: give the status, the HTTP code and the google.rpc.Code"
            )
        if rpc_code in _BY_RPC_CODE:
            raise TypeError(
                f"{cls.__qualname__}: google.rpc.Code {rpc_code} is already "
                f"{_BY_RPC_CODE[rpc_code]}"
            )
        if status in _BY_STATUS:
            raise TypeError(
                f"{cls.__qualname__}: the status {status} is already "
                f"{_BY_STATUS[status].__qualname__}'s"
            )
        holder = _BY_CODE.get(code)
        if stands_for_code and holder is not None and holder.stands_for_code:
            raise TypeError(
                f"{cls.__qualname__}: HTTP {code} already stands for "
                f"{holder.__qualname__}; only one status can stand for a code"
            )
        cls.grpc_status, cls.http_code, cls.stands_for_code = status, code, stands_for_code
        cls.rpc_code = rpc_code
        _BY_STATUS[status] = cls
        _BY_RPC_CODE[rpc_code] = status
        if holder is None or stands_for_code:
            _BY_CODE[code] = cls

    def __init__(
        self,
        resp: Any,
        content: bytes,
        uri: str | None = None,
        *,
        method_id: str | None = None,
        session_id: str | None = None,
    ) -> None:
        HttpError.__init__(self, resp, content, uri=uri)
        body = _parse_body(content)
        self.code: int = int(resp.status)
        self.status: str | None = body.status or self.grpc_status
        self.message: str = body.message or _snippet(body.text) or str(resp.reason or "")
        self.details: list[Any] = body.details
        self.text: str = body.text
        self.error_info: ErrorInfo | None = _error_info(body.details)
        self.method_id = method_id
        self.session_id = session_id

    def _get_reason(self) -> str:
        """``HttpError.reason``: googleapiclient's reading of the body, or ours where it fails.

        googleapiclient's own reader raises on some bodies (a ``message`` that is not a
        string, JSON nested too deep); an error about an error must still be raised.
        """
        try:
            reason = super()._get_reason()
        except (AttributeError, TypeError, ValueError, RecursionError):
            reason = None
        if isinstance(reason, str):
            return reason
        body = _parse_body(self.content)
        self.error_details = body.details or body.message
        return body.message or str(self.resp.reason or "")

    @property
    def error_reason(self) -> str | None:
        """The ``ErrorInfo`` reason (``"SERVICE_DISABLED"``, ``"RATE_LIMIT_EXCEEDED"``), if any."""
        return self.error_info.reason if self.error_info else None

    def __str__(self) -> str:
        where = self.method_id.removeprefix("photospicker.") if self.method_id else self.uri
        if self.session_id is not None:
            where = f"{where} for session {self.session_id!r}"
        text = f"{where} failed: HTTP {self.code}"
        if self.status:
            text += f" {self.status}"
        if self.message:
            text += f": {self.message}"
        if self.error_reason:
            text += f" [{self.error_reason}]"
        if 300 <= self.code < 400:
            location = self.resp.get("location") if hasattr(self.resp, "get") else None
            text = (
                f"{text.rstrip('.')}: a redirect{f' to {location}' if location else ''}, which "
                "the client does not follow (the API does not redirect, and a request that "
                "creates a session is sent exactly once): check the endpoint the client talks to"
            )
        if self.hint:
            text = f"{text.rstrip('.')}. {self.hint}."
        return text

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.code} {self.status or ''} "
            f"method={self.method_id!r} session={self.session_id!r}: {self.message!r}>"
        )


class _VisibleText(html.parser.HTMLParser):
    """The text a browser would show for an HTML error page (no title, style or script)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("title", "style", "script"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("title", "style", "script") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def _snippet(text: str, limit: int = 300) -> str:
    """A one-line summary of a body that was not Google's error JSON."""
    if "<" in text and ">" in text:
        parser = _VisibleText()
        parser.feed(text)
        parser.close()
        text = " ".join(parser.parts)
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _error_info(details: list[Any]) -> ErrorInfo | None:
    for detail in details:
        if isinstance(detail, Mapping) and detail.get("@type") == ERROR_INFO_TYPE:
            metadata = detail.get("metadata")
            return ErrorInfo(
                reason=str(detail.get("reason", "")),
                domain=str(detail.get("domain", "")),
                metadata=dict(metadata) if isinstance(metadata, Mapping) else {},
            )
    return None


class ClientError(PickerHttpError):
    """A 4xx answer: the request must change before it can succeed."""


class ServerError(PickerHttpError):
    """A 5xx answer: the service failed; the same request may succeed later."""

    hint = "The service failed; retry later with exponential backoff"


class InvalidArgument(
    ClientError, status="INVALID_ARGUMENT", code=400, stands_for_code=True, rpc_code=3
):
    """The request has an invalid parameter or body (HTTP 400)."""

    hint = "A parameter or the body is invalid; fix the request"


class FailedPrecondition(ClientError, status="FAILED_PRECONDITION", code=400, rpc_code=9):
    """The request cannot run in the resource's current state (HTTP 400)."""

    hint = (
        "The request cannot run in the current state: mediaItems.list needs the user to finish "
        "picking (mediaItemsSet), sessions.create needs a Google Photos account"
    )


class OutOfRange(ClientError, status="OUT_OF_RANGE", code=400, rpc_code=11):
    """A parameter is past the valid range (HTTP 400)."""


class Unauthenticated(ClientError, status="UNAUTHENTICATED", code=401, rpc_code=16):
    """The request carried no valid credentials (HTTP 401)."""

    hint = "The access token is missing, invalid or expired; sign in again"


class PermissionDenied(ClientError, status="PERMISSION_DENIED", code=403, rpc_code=7):
    """The caller may not do this, or the token lacks the scope (HTTP 403)."""

    hint = (
        "Access to the session may have expired, the token may lack the scope "
        "https://www.googleapis.com/auth/photospicker.mediaitems.readonly, or the API may be "
        "disabled in the project"
    )


class NotFound(ClientError, status="NOT_FOUND", code=404, rpc_code=5):
    """What the request names does not exist (HTTP 404)."""


class SessionNotFound(NotFound):
    """The session does not exist, was deleted, or belongs to another account."""

    hint = "The session does not exist, was already deleted, or belongs to another account"


class AlreadyExists(ClientError, status="ALREADY_EXISTS", code=409, rpc_code=6):
    """What the request would create exists already (HTTP 409)."""


class Aborted(ClientError, status="ABORTED", code=409, stands_for_code=True, rpc_code=10):
    """A concurrent change conflicted with the request (HTTP 409)."""

    hint = "A concurrent change conflicted with the request; retry it"


class ResourceExhausted(ClientError, status="RESOURCE_EXHAUSTED", code=429, rpc_code=8):
    """A quota or limit ran out (HTTP 429)."""

    hint = (
        "Too many sessions for this user or a quota ran out: delete sessions you no longer "
        "need, and wait at least 30 seconds before trying again"
    )


class Cancelled(ClientError, status="CANCELLED", code=499, rpc_code=1):
    """The request was cancelled, usually by the caller (HTTP 499)."""


class Internal(ServerError, status="INTERNAL", code=500, stands_for_code=True, rpc_code=13):
    """The service failed internally (HTTP 500)."""


class Unknown(ServerError, status="UNKNOWN", code=500, rpc_code=2):
    """The service failed for an unknown reason (HTTP 500)."""


class DataLoss(ServerError, status="DATA_LOSS", code=500, rpc_code=15):
    """Data was lost or corrupted (HTTP 500)."""


class Unimplemented(ServerError, status="UNIMPLEMENTED", code=501, rpc_code=12):
    """The service does not implement this method (HTTP 501)."""

    hint = "The service does not offer this method at this address"


class Unavailable(ServerError, status="UNAVAILABLE", code=503, rpc_code=14):
    """The service is unavailable for now (HTTP 503)."""


class DeadlineExceeded(ServerError, status="DEADLINE_EXCEEDED", code=504, rpc_code=4):
    """The service did not finish in time (HTTP 504)."""


def error_class(code: int, status: str | None) -> type[PickerHttpError]:
    """The class for an answer with HTTP ``code`` and body status ``status``."""
    if status and status in _BY_STATUS:
        return _BY_STATUS[status]
    if code in _BY_CODE:
        return _BY_CODE[code]
    if 400 <= code < 500:
        return ClientError
    if 500 <= code < 600:
        return ServerError
    return PickerHttpError


def from_http_error(
    error: HttpError,
    *,
    method_id: str | None = None,
    session_id: str | None = None,
) -> PickerHttpError:
    """The domain error for a googleapiclient ``HttpError``.

    A ``NOT_FOUND`` that the service itself answered in JSON about a call naming a session
    becomes :class:`SessionNotFound`; an HTML 404 (a wrong endpoint, say) stays a plain
    :class:`NotFound`, so it is never mistaken for a missing session.
    """
    if isinstance(error, PickerHttpError) and method_id is None and session_id is None:
        return error
    content = error.content if isinstance(error.content, bytes) else b""
    body = _parse_body(content)
    cls = error_class(int(error.resp.status), body.status)
    if cls is NotFound and session_id is not None and body.status == "NOT_FOUND":
        cls = SessionNotFound
    return cls(error.resp, content, error.uri, method_id=method_id, session_id=session_id)


# Errors about media bytes. A media host (lh3.googleusercontent.com, ...) is not the API: its
# answers are bare HTTP without Google's JSON error body, so these are not HttpErrors.


class MediaError(PickerError):
    """One media item's bytes could not be fetched or saved.

    Attributes:
        item_id: the media item's id, when known.
        filename: the item's ``mediaFile.filename`` (or the file being written), when known.
    """

    def __init__(
        self, message: str, *, item_id: str | None = None, filename: str | None = None
    ) -> None:
        super().__init__(message)
        self.item_id = item_id
        self.filename = filename


class MediaNotReady(MediaError):
    """A video is not ready for ``=dv`` yet: its ``processingStatus`` is not ``READY``.

    Attributes:
        status: the ``processingStatus`` seen (``"PROCESSING"``, ``"UNSPECIFIED"``, ...), or
            ``None`` when the item carried none.
    """

    def __init__(
        self,
        message: str,
        *,
        item_id: str | None = None,
        filename: str | None = None,
        status: str | None = None,
    ) -> None:
        super().__init__(message, item_id=item_id, filename=filename)
        self.status = status


class MediaProcessingFailed(MediaError):
    """Google Photos could not process this video (``processingStatus`` is ``FAILED``).

    Waiting or retrying will not help; the user can re-upload the video to Google Photos.
    """


class UntrustedMediaHost(MediaError):
    """A media URL, or a redirect, points at a host that is not on the allowlist.

    Nothing was sent to that host. Attributes: ``url`` (the refused URL).
    """

    def __init__(
        self, message: str, *, url: str, item_id: str | None = None, filename: str | None = None
    ) -> None:
        super().__init__(message, item_id=item_id, filename=filename)
        self.url = url


class MediaUrlExpired(MediaError):
    """An item's ``baseUrl`` expired and could not be renewed by re-listing the session."""


class MediaHttpError(MediaError):
    """The media host answered an error status. Attributes: ``code`` (the HTTP status)."""

    def __init__(
        self, message: str, *, code: int, item_id: str | None = None, filename: str | None = None
    ) -> None:
        super().__init__(message, item_id=item_id, filename=filename)
        self.code = code


class IncompleteDownload(MediaError):
    """The connection kept dropping (or bodies came short) until the retries ran out.

    Attributes: ``received`` (bytes on disk when it gave up), ``expected`` (the full size, when
    the server said).
    """

    def __init__(
        self,
        message: str,
        *,
        received: int,
        expected: int | None,
        item_id: str | None = None,
        filename: str | None = None,
    ) -> None:
        super().__init__(message, item_id=item_id, filename=filename)
        self.received = received
        self.expected = expected


class ThumbnailError(MediaError):
    """A thumbnail came back but is no image the notebook will show: not PNG, JPEG, GIF or
    WebP, or larger than 4 MiB.

    Failures a thumbnail shares with a download raise the same class as the downloader does:
    :class:`UntrustedMediaHost`, :class:`MediaUrlExpired` (HTTP 401 or 403),
    :class:`MediaHttpError` (another error status). Catch :class:`MediaError` for all of them.
    """
