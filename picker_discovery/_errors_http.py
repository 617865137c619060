"""The API's errors: :class:`PickerHttpError`, the registry of statuses and codes, one class per
status, and :func:`from_http_error`, which picks the class for an answer.

Each status class registers its status, HTTP code and ``google.rpc.Code`` number as it is
defined, so the lookup tables are built from the classes. A leaf: it imports only
googleapiclient's ``HttpError`` and the base module ``_errorbase``. Import these names from
:mod:`picker_discovery.errors`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from googleapiclient.errors import HttpError

from picker_discovery._errorbase import PickerError
from picker_discovery._frozen import FACTORY, FrozenValue, set_field

__all__ = [
    "Aborted",
    "AlreadyExists",
    "Cancelled",
    "ClientError",
    "DataLoss",
    "DeadlineExceeded",
    "ErrorInfo",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "PickerHttpError",
    "ResourceExhausted",
    "ServerError",
    "SessionNotFound",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "error_class",
    "from_http_error",
]

ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"


class ErrorInfo(FrozenValue):
    """The ``google.rpc.ErrorInfo`` detail of an error body: why, in machine-readable form."""

    reason: str
    domain: str
    metadata: Mapping[str, str]
    _FACTORIES: ClassVar[Mapping[str, Callable[[], Any]]] = {"metadata": dict}

    def __init__(
        self, reason: str, domain: str = "", metadata: Mapping[str, str] = FACTORY
    ) -> None:
        set_field(self, "reason", reason)
        set_field(self, "domain", domain)
        set_field(self, "metadata", {} if metadata is FACTORY else metadata)


class _Body:
    """What an error body says, and the body as text."""

    __slots__ = ("details", "message", "status", "text")

    def __init__(
        self,
        *,
        text: str,
        status: str | None = None,
        message: str = "",
        details: list[Any] | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.details: list[Any] = [] if details is None else details
        self.text = text


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


def _visible_text(markup: str) -> list[str]:
    """The text a browser would show for an HTML error page (no title, style or script)."""
    import html.parser  # here: only an HTML error body needs it, not every start-up

    class VisibleText(html.parser.HTMLParser):
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

    parser = VisibleText()
    parser.feed(markup)
    parser.close()
    return parser.parts


def _snippet(text: str, limit: int = 300) -> str:
    """A one-line summary of a body that was not Google's error JSON."""
    if "<" in text and ">" in text:
        text = " ".join(_visible_text(text))
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


# Raised and caught as picker_discovery.errors.X: tracebacks, reprs and pickles name the public
# module, which re-exports every name here.
for _name in __all__:
    globals()[_name].__module__ = "picker_discovery.errors"
del _name
