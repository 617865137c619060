"""Canned Picker API answers for ``googleapiclient.http.HttpMock`` and ``HttpMockSequence``.

Every body has the shape Google's servers answer with (see the project's API facts): successes
for each method, and each error the API documents for it, plus the transport-level errors every
Google API can answer (bad token, missing scope, disabled API, quota, HTML 5xx pages).

::

    from picker_discovery.testing import canned
    http = canned.sequence("sessions.delete", "sessions.delete.not_found")
    service = picker_discovery.build(http=http)
    service.sessions().delete(sessionId="s1").execute()   # {}
    service.sessions().delete(sessionId="s1").execute()   # HttpError 404

:func:`sequence` raises :class:`MockExhausted`, naming the requests made, when code sends more
requests than it was given answers.

The answers work on any date: timestamps that must lie ahead (a session's ``expireTime``, seven
days after it was made) are computed when an answer is asked for, from the real current time or
from the ``clock=`` you pass (share a frozen :class:`~picker_discovery.FakeClock` with the
client, and advancing it ages the session).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from googleapiclient.http import HttpMock, HttpMockSequence

from picker_discovery._clock import Clock, SystemClock
from picker_discovery._errorbase import PickerError, UnknownName
from picker_discovery.testing._api_errors import (
    DOMAIN,
    SERVICE,
    quota_exceeded,
    service_disabled,
)
from picker_discovery.testing._times import format_time

__all__ = [
    "RESPONSES",
    "SESSION_LIFETIME",
    "CannedResponse",
    "MockExhausted",
    "body",
    "mock",
    "names",
    "response",
    "sequence",
]

SESSION_ID = "2ea3dc54-f352-4d9d-a667-1b497bdf4e52"
PICKER_URI = f"https://photos.google.com/integration/picker/{SESSION_ID}"
_PHOTO_ID = "AByIYSx8dn2rXQ2BZkHfIsGL3aWMfHNXcU7Q1LVkKLdtfgYpyBvfPp9Nn0Ylc0ox"
_VIDEO_ID = "ADXtojKp2mJ1cYgSvt5dEuF2kEfGQ3nl8dJ-gM8l7x7ePLdc9RNvuW3qC-4j"
_PROJECT = "123456789012"
SESSION_LIFETIME = timedelta(days=7)
"""How long after it is made a canned session expires (the real service answers about 7 days)."""


class CannedResponse(NamedTuple):
    """HTTP status, extra headers and body of one canned answer."""

    status: int
    body: Any  # a JSON value, or str for a non-JSON body
    content_type: str = "application/json; charset=UTF-8"
    headers: Mapping[str, str] = {}

    def to_mock_pair(self) -> tuple[dict[str, str], bytes]:
        """The ``(headers, content)`` pair ``HttpMockSequence`` expects."""
        headers = {"status": str(self.status), "content-type": self.content_type}
        headers.update(self.headers)
        content = self.body if isinstance(self.body, str) else json.dumps(self.body)
        return headers, content.encode("utf-8")


def _error(
    code: int,
    status: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    error.update(extra)
    return {"error": error}


def _error_info(reason: str, domain: str, **metadata: str) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": domain,
        "metadata": metadata,
    }


def _polling_session(now: datetime) -> CannedResponse:
    expires = (now + SESSION_LIFETIME).astimezone(timezone.utc)
    body = {
        "id": SESSION_ID,
        "pickerUri": PICKER_URI,
        "pollingConfig": {"pollInterval": "5s", "timeoutIn": "1800s"},
        "expireTime": format_time(expires),
        "pickingConfig": {"maxItemCount": "2000"},
        "mediaItemsSet": False,
    }
    return CannedResponse(200, body)


def _picked_session(now: datetime) -> CannedResponse:
    body = {k: v for k, v in _polling_session(now).body.items() if k != "pollingConfig"}
    body["mediaItemsSet"] = True
    return CannedResponse(200, body)


_PHOTO = {
    "id": _PHOTO_ID,
    "createTime": "2025-02-27T23:34:05.466Z",
    "type": "PHOTO",
    "mediaFile": {
        "baseUrl": "https://lh3.googleusercontent.com/ppa/AGgFnX5e1",
        "mimeType": "image/jpeg",
        "filename": "PXL_20250227_233405466.jpg",
        "mediaFileMetadata": {
            "width": 4032,
            "height": 3024,
            "cameraMake": "Google",
            "cameraModel": "Pixel 8",
            "photoMetadata": {
                "focalLength": 6.9,
                "apertureFNumber": 2,
                "isoEquivalent": 52,
                "exposureTime": "0.033333335s",
            },
        },
    },
}
_VIDEO = {
    "id": _VIDEO_ID,
    "createTime": "2025-03-01T08:00:00Z",
    "type": "VIDEO",
    "mediaFile": {
        "baseUrl": "https://lh3.googleusercontent.com/ppa/AGgFnX5e2",
        "mimeType": "video/mp4",
        "filename": "PXL_20250301_080000000.mp4",
        "mediaFileMetadata": {
            "width": 1920,
            "height": 1080,
            "cameraMake": "Google",
            "cameraModel": "Pixel 8",
            "videoMetadata": {"fps": 30.0, "processingStatus": "READY"},
        },
    },
}

_HTML_502 = (
    "<!DOCTYPE html>\n<html lang=en><meta charset=utf-8><title>Error 502 (Server Error)!!1"
    "</title><p><b>502.</b> <ins>That\u2019s an error.</ins><p>The server encountered a "
    "temporary error and could not complete your request.<p>Please try again in 30 seconds."
    "  <ins>That\u2019s all we know.</ins></html>"
)
_HTML_404 = (
    "<!DOCTYPE html>\n<html lang=en><meta charset=utf-8><title>Error 404 (Not Found)!!1</title>"
    "<p><b>404.</b> <ins>That\u2019s an error.</ins><p>The requested URL <code>/v1/sessions/"
    f"{SESSION_ID}/mediaItems</code> was not found on this server."
    "  <ins>That\u2019s all we know.</ins></html>"
)

# An answer, or how to make it from the current time (for those with timestamps ahead).
_Answer = CannedResponse | Callable[[datetime], CannedResponse]

_ANSWERS: Mapping[str, _Answer] = {
    # sessions.create
    "sessions.create": _polling_session,
    "sessions.create.no_photos_account": CannedResponse(
        400, _error(400, "FAILED_PRECONDITION", "The user does not have a Google Photos account.")
    ),
    "sessions.create.too_many_sessions": CannedResponse(
        429,
        _error(
            429,
            "RESOURCE_EXHAUSTED",
            "The user has too many active sessions.",
            [_error_info("TOO_MANY_SESSIONS", DOMAIN, service=SERVICE)],
        ),
    ),
    "sessions.create.invalid_max_item_count": CannedResponse(
        400, _error(400, "INVALID_ARGUMENT", "Invalid value for maxItemCount.")
    ),
    # sessions.get
    "sessions.get.polling": _polling_session,
    "sessions.get.picked": _picked_session,
    "sessions.get.not_found": CannedResponse(
        404, _error(404, "NOT_FOUND", "Requested entity was not found.")
    ),
    "sessions.get.expired": CannedResponse(
        403, _error(403, "PERMISSION_DENIED", "Access to the session has expired.")
    ),
    # sessions.delete
    "sessions.delete": CannedResponse(200, {}),
    "sessions.delete.not_found": CannedResponse(
        404, _error(404, "NOT_FOUND", "Requested entity was not found.")
    ),
    # mediaItems.list
    "mediaItems.list": CannedResponse(200, {"mediaItems": [_PHOTO, _VIDEO]}),
    "mediaItems.list.first_page": CannedResponse(
        200, {"mediaItems": [_PHOTO], "nextPageToken": "CAEQAQ"}
    ),
    "mediaItems.list.last_page": CannedResponse(200, {"mediaItems": [_VIDEO]}),
    "mediaItems.list.empty_page": CannedResponse(200, {"nextPageToken": "CAIQAg"}),
    "mediaItems.list.not_picked_yet": CannedResponse(
        400,
        _error(400, "FAILED_PRECONDITION", "The user has not finished picking media items yet."),
    ),
    "mediaItems.list.negative_page_size": CannedResponse(
        400, _error(400, "INVALID_ARGUMENT", "Page size must be non-negative.")
    ),
    # Any method
    "unauthenticated": CannedResponse(
        401,
        _error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential. See "
            "https://developers.google.com/identity/sign-in/web/devconsole-project.",
        ),
        headers={"www-authenticate": 'Bearer realm="https://accounts.google.com/"'},
    ),
    "insufficient_scopes": CannedResponse(
        403, _error(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.")
    ),
    "service_disabled": CannedResponse(403, service_disabled(_PROJECT).body()),
    # Google's quota 429: ErrorInfo RATE_LIMIT_EXCEEDED with its quota metadata, a Help link,
    # a legacy errors[] list (some front ends still add one), and no Retry-After header.
    "rate_limited": CannedResponse(
        429,
        {
            "error": {
                **quota_exceeded(_PROJECT).body()["error"],
                "errors": [
                    {
                        "message": "Quota exceeded.",
                        "domain": "global",
                        "reason": "rateLimitExceeded",
                    }
                ],
            }
        },
    ),
    "unavailable": CannedResponse(
        503, _error(503, "UNAVAILABLE", "The service is currently unavailable.")
    ),
    "internal": CannedResponse(500, _error(500, "INTERNAL", "Internal error encountered.")),
    "bad_gateway_html": CannedResponse(502, _HTML_502, "text/html; charset=UTF-8"),
    "unavailable_html": CannedResponse(
        503, _HTML_502.replace("502", "503"), "text/html; charset=UTF-8"
    ),
    "wrong_path_html": CannedResponse(404, _HTML_404, "text/html; charset=UTF-8"),
    # Not wrapped in "error", the gRPC code, and a content type that lies (text/html over JSON),
    # as some Google endpoints answer a 401.
    "unwrapped_unauthenticated": CannedResponse(
        401,
        {"code": 16, "message": "Request is missing required authentication credential."},
        "text/html; charset=UTF-8",
    ),
}


def _made(name: str, now: datetime) -> CannedResponse:
    try:
        answer = _ANSWERS[name]
    except KeyError:
        raise UnknownName(f"no canned response {name!r}; there are: {', '.join(names())}") from None
    return answer if isinstance(answer, CannedResponse) else answer(now)


def _now(clock: Clock | None) -> datetime:
    return (clock if clock is not None else SystemClock()).now()


class _Responses(Mapping[str, CannedResponse]):
    """The canned answers by name, each made when it is looked up (timestamps from now)."""

    def __getitem__(self, name: str) -> CannedResponse:
        return _made(name, _now(None))

    def __iter__(self) -> Iterator[str]:
        return iter(_ANSWERS)

    def __len__(self) -> int:
        return len(_ANSWERS)


RESPONSES: Mapping[str, CannedResponse] = _Responses()
"""Every canned answer by name; ``response(name, clock=...)`` makes one on another clock."""


def names() -> list[str]:
    """The names of every canned answer."""
    return sorted(_ANSWERS)


def response(name: str, *, clock: Clock | None = None) -> CannedResponse:
    """The canned answer called ``name``, its timestamps counted from ``clock`` (default: now).

    A ``KeyError`` lists the names there are.
    """
    return _made(name, _now(clock))


def body(name: str, *, clock: Clock | None = None) -> Any:
    """A fresh copy of the JSON body of the canned answer called ``name`` (see :func:`response`)."""
    return copy.deepcopy(response(name, clock=clock).body)


class MockExhausted(PickerError, AssertionError):
    """Code sent more requests than the mock was given answers for."""


class ClosableHttpMock(HttpMock):  # type: ignore[misc]
    """``HttpMock`` answering one canned response, with the ``close()`` that ``with`` needs."""

    def __init__(self, answer: CannedResponse) -> None:
        headers, content = answer.to_mock_pair()
        super().__init__(None, headers)
        self.data = content
        self.closed = False

    def close(self) -> None:
        self.closed = True


class ClosableHttpMockSequence(HttpMockSequence):  # type: ignore[misc]
    """``HttpMockSequence`` with ``close()`` and a clear error when its answers run out."""

    def __init__(self, iterable: Iterable[tuple[dict[str, str], bytes | str]]) -> None:
        super().__init__(list(iterable))
        self.closed = False

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        if not self._iterable:
            made = "".join(f"\n  {m} {u}" for u, m, *_ in self.request_sequence)
            raise MockExhausted(
                f"{method} {uri} is one request more than this mock has answers for; "
                f"the requests it answered were:{made or ' none'}"
            )
        return super().request(uri, method, *args, **kwargs)

    @property
    def remaining(self) -> int:
        """How many answers are still queued."""
        return len(self._iterable)

    def close(self) -> None:
        self.closed = True


def mock(name: str, *, clock: Clock | None = None) -> ClosableHttpMock:
    """An ``HttpMock`` that answers every request with the canned answer ``name``.

    Its timestamps are counted from ``clock`` (default: the real current time) when it is made.
    """
    return ClosableHttpMock(response(name, clock=clock))


def sequence(
    *answers: str | CannedResponse, clock: Clock | None = None
) -> ClosableHttpMockSequence:
    """An ``HttpMockSequence`` answering with these canned answers (names or objects), in order.

    The named answers are one session's: their timestamps are counted from ``clock`` (default:
    the real current time) when the sequence is made.
    """
    now = _now(clock)
    pairs = [
        (a if isinstance(a, CannedResponse) else _made(a, now)).to_mock_pair() for a in answers
    ]
    return ClosableHttpMockSequence(pairs)
