"""What a test scripts and what it sees: :class:`Fault` (one scripted misbehaviour, with its
checks) and :class:`Attempt` (one request that reached the fake)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from picker_discovery._errorbase import BadArgument
from picker_discovery.testing._api_errors import ApiError, quota_exceeded, status_for_code
from picker_discovery.testing._times import format_time

__all__ = ["FAULT_METHODS", "REDIRECT_STATUSES", "Attempt", "Fault"]

# The methods a test can script: the API's four, the media origins, the discovery document, the
# batch endpoint (the whole batch; its parts spend their own methods' faults), and
# the OAuth endpoints (the consent page, the token endpoint, revocation, userinfo). The attempt
# log also names "other" (a path the API does not have) and "preflight" (a CORS preflight).
FAULT_METHODS = (
    "sessions.create",
    "sessions.get",
    "sessions.delete",
    "mediaItems.list",
    "media",
    "discovery",
    "batch",
    "oauth.authorize",
    "oauth.token",
    "oauth.revoke",
    "oauth.userinfo",
)


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour, spent by one request to its method.

    ``status``: answer this HTTP code (in Google's error JSON) instead of serving the request;
    ``retry_after``: seconds for a ``Retry-After`` header; ``latency``: seconds to wait before
    answering (real seconds in the emulator, fake-clock seconds in-process); ``drop``: close the
    connection without answering; ``truncate``: announce the whole body's ``Content-Length``
    but send only its first half; ``html``: answer the status with Google's front-end HTML
    error page instead of JSON (as real 502/503s often come); ``stall``: send the headers and
    the first half of the body, then nothing for this many seconds (real seconds in the
    emulator, where stopping it ends the stall; fake-clock seconds in-process), then the rest,
    as a server or a network that hangs mid-transfer. A fault with none of these lets the
    request through.

    For ``media`` only, a served answer can be bent: ``short_range``: send at most this many
    bytes, as a ``206`` whose Content-Range says so (from the requested start, or 0), as
    servers that answer in pieces do; ``size_delta``: serve the item as if it had this many
    bytes more (or, negative, fewer), its total and ETag changed, as a file replaced on the
    server between two requests; ``hide_total``: a ``206`` gives its total as ``*``;
    ``ignore_range``: answer ``200`` with the whole file to a ``Range`` request;
    ``range_shift``: a ``206`` whose bytes start this many bytes after the asked start (its
    Content-Range says where they really start), a server that mis-answers a resume;
    ``no_accept_ranges``: no ``Accept-Ranges`` header; ``etag``: this ``ETag`` (a changed
    file, as the server sees it; ``If-Range`` is then compared with it).

    For any method (``discovery`` is the document at ``/$discovery/rest``): ``redirect``:
    answer ``redirect_status`` (``302`` unless given: ``301``, ``302``, ``303``, ``307`` or
    ``308``) with this ``Location`` (a path such as ``/ppa/KEY=dv`` stays on the origin
    asked; script several for a chain of hops, more than a client follows for a loop);
    ``body``: answer these bytes (text is sent as UTF-8) with ``status`` (``200`` unless
    given) instead of the real answer, as a hostile, foreign or broken server would (with
    ``redirect``, the redirect's body); ``content_type``: this ``Content-Type`` instead of
    the answer's (``body`` without one is ``application/octet-stream``); ``drop_after``: send
    the headers and this many bytes of the body, then close the connection (a transfer cut
    mid-way); ``no_length``: no ``Content-Length``, the
    body ends when the connection closes; ``length_delta``: a ``Content-Length`` this many
    bytes off the body actually sent (then the connection closes); ``gather``: in the
    emulator, hold the answer until this many requests with the same ``gather`` are held
    (at most 30 s, or until the emulator stops), which proves that a client runs that many
    at once without timing anything (in-process, where requests come one at a time, it does
    nothing).
    """

    status: int | None = None
    retry_after: float | None = None
    latency: float = 0.0
    drop: bool = False
    truncate: bool = False
    message: str | None = None
    html: bool = False
    short_range: int | None = None
    size_delta: int = 0
    hide_total: bool = False
    stall: float = 0.0
    drop_after: int | None = None
    ignore_range: bool = False
    range_shift: int = 0
    no_accept_ranges: bool = False
    no_length: bool = False
    length_delta: int = 0
    redirect: str | None = None
    content_type: str | None = None
    etag: str | None = None
    gather: int | None = None
    redirect_status: int | None = None
    body: str | bytes | None = None

    def __post_init__(self) -> None:
        if isinstance(self.stall, bool) or not isinstance(self.stall, (int, float)):
            raise BadArgument(f"stall must be seconds (a number), not {self.stall!r}")
        if not 0 <= self.stall <= MAX_WAIT:
            raise BadArgument(f"stall must be 0 to {MAX_WAIT:g} seconds, not {self.stall!r}")
        if isinstance(self.latency, bool) or not isinstance(self.latency, (int, float)):
            raise BadArgument(f"latency must be seconds (a number), not {self.latency!r}")
        if not 0 <= self.latency <= MAX_WAIT:
            raise BadArgument(f"latency must be 0 to {MAX_WAIT:g} seconds, not {self.latency!r}")
        if self.retry_after is not None and (
            isinstance(self.retry_after, bool)
            or not isinstance(self.retry_after, (int, float))
            or not 0 <= self.retry_after <= MAX_WAIT
        ):
            raise BadArgument(
                f"retry_after must be 0 to {MAX_WAIT:g} seconds, not {self.retry_after!r}"
            )
        if self.short_range is not None and (
            isinstance(self.short_range, bool)
            or not isinstance(self.short_range, int)
            or self.short_range < 1
        ):
            raise BadArgument(f"short_range must be a positive int, not {self.short_range!r}")
        if isinstance(self.size_delta, bool) or not isinstance(self.size_delta, int):
            raise BadArgument(f"size_delta must be an int, not {self.size_delta!r}")
        _check_faults(self)

    @property
    def bends_media(self) -> bool:
        """Whether this fault changes a media answer (only the ``media`` method has those)."""
        return (
            self.short_range is not None
            or bool(self.size_delta)
            or self.hide_total
            or self.ignore_range
            or bool(self.range_shift)
            or self.no_accept_ranges
            or self.etag is not None
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | int | None) -> Fault:
        """A fault from ``{"status": 503, "retry_after": 1, ...}``, a bare code, or null."""
        if data is None:
            return cls()
        if isinstance(data, int):
            data = {"status": data}
        known = {
            "status",
            "retry_after",
            "latency",
            "drop",
            "truncate",
            "message",
            "html",
            "short_range",
            "size_delta",
            "hide_total",
            "stall",
            *_NEW_FIELDS,
        }
        unknown = set(data) - known
        if unknown:
            raise BadArgument(f"unknown fault fields: {', '.join(sorted(unknown))}")
        status = data.get("status")
        if status is not None and (
            isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
        ):
            raise BadArgument(
                f"a fault's status must be an HTTP error code 400-599, not {status!r}"
            )
        return cls(
            status=status,
            retry_after=data.get("retry_after"),
            latency=data.get("latency", 0.0),
            drop=bool(data.get("drop", False)),
            truncate=bool(data.get("truncate", False)),
            message=data.get("message"),
            html=bool(data.get("html", False)),
            short_range=data.get("short_range"),
            size_delta=data.get("size_delta", 0),
            hide_total=bool(data.get("hide_total", False)),
            stall=data.get("stall", 0.0),
            **{name: data[name] for name in _NEW_FIELDS if name in data},
        )

    def error(
        self, *, project: str = "123456789012", quota_retry_after: float | None = None
    ) -> ApiError | None:
        """The error answer this fault stands for, if it has a status.

        A 429 is a quota answer as Google sends it (:func:`~._api_errors.quota_exceeded`),
        with a ``Retry-After`` only if this fault's ``retry_after`` or ``quota_retry_after``
        (the backend's setting) asks for one.
        """
        if self.status is None:
            return None
        if self.status == 429:
            retry = self.retry_after if self.retry_after is not None else quota_retry_after
            return quota_exceeded(project, self.message, retry)
        status = status_for_code(self.status)
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = f"{self.retry_after:g}"
        message = self.message or f"Scripted fault: HTTP {self.status} {status}."
        return ApiError(status, message, code=self.status, headers=headers)


_NEW_FIELDS = (
    "drop_after",
    "ignore_range",
    "range_shift",
    "no_accept_ranges",
    "no_length",
    "length_delta",
    "redirect",
    "content_type",
    "etag",
    "gather",
    "redirect_status",
    "body",
)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
# The longest a scripted wait (latency, stall, Retry-After) may be: a day. NaN and infinity
# fail every range check.
MAX_WAIT = 86400.0
# Header values may not hold line breaks or other control characters (they would split the
# answer), nor be empty.
_HEADER_VALUE_RE = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$")


def _check_faults(fault: Fault) -> None:
    """Refuse a fault field of the wrong type or an impossible value, saying which."""
    for name in ("ignore_range", "no_accept_ranges", "no_length"):
        if not isinstance(getattr(fault, name), bool):
            raise BadArgument(f"{name} must be true or false, not {getattr(fault, name)!r}")
    for name in ("range_shift", "length_delta"):
        value = getattr(fault, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadArgument(f"{name} must be an int, not {value!r}")
    if fault.gather is not None and (
        isinstance(fault.gather, bool) or not isinstance(fault.gather, int) or fault.gather < 1
    ):
        raise BadArgument(f"gather must be a number of requests >= 1, not {fault.gather!r}")
    if fault.range_shift < 0:
        raise BadArgument(f"range_shift must be >= 0 bytes, not {fault.range_shift!r}")
    if fault.drop_after is not None and (
        isinstance(fault.drop_after, bool)
        or not isinstance(fault.drop_after, int)
        or fault.drop_after < 0
    ):
        raise BadArgument(f"drop_after must be a number of bytes >= 0, not {fault.drop_after!r}")
    for name in ("redirect", "content_type", "etag"):
        value = getattr(fault, name)
        if value is not None and (not isinstance(value, str) or not _HEADER_VALUE_RE.match(value)):
            raise BadArgument(
                f"{name} must be a non-empty header value of printable ASCII, not {value!r}"
            )
    if fault.redirect is not None and not fault.redirect.startswith(("/", "http://", "https://")):
        raise BadArgument(
            f"redirect must be an http(s) URL or a path starting with '/', not {fault.redirect!r}"
        )
    if fault.redirect_status is not None:
        if fault.redirect_status not in REDIRECT_STATUSES or isinstance(
            fault.redirect_status, bool
        ):
            raise BadArgument(
                f"redirect_status must be one of {REDIRECT_STATUSES}, not {fault.redirect_status!r}"
            )
        if fault.redirect is None:
            raise BadArgument("redirect_status needs a redirect (the Location to send)")
    if fault.body is not None and not isinstance(fault.body, (str, bytes)):
        raise BadArgument(f"body must be text or bytes, not {type(fault.body).__name__}")
    for name in ("body", "redirect"):
        if getattr(fault, name) is not None and fault.html:
            raise BadArgument(f"{name} and html each decide what is answered: script one")
    if fault.redirect is not None and fault.status is not None:
        raise BadArgument("a redirect has its own status: give redirect_status, not status")
    bodies = [
        name
        for name, on in (
            ("drop", fault.drop),
            ("truncate", fault.truncate),
            ("drop_after", fault.drop_after is not None),
            ("no_length", fault.no_length),
            ("length_delta", bool(fault.length_delta)),
            ("stall", bool(fault.stall)),
        )
        if on
    ]
    if len(bodies) > 1:
        raise BadArgument(f"{' and '.join(bodies)} each decide how the body ends: script one")


@dataclass(frozen=True)
class Attempt:
    """One request that reached the fake: which method (``"other"`` for a path the API does
    not have), when (fake clock and real clock)."""

    method: str
    http_method: str
    path: str
    time: datetime
    monotonic: float
    # Which server it reached ("api", "media" or the emulator's second media origin,
    # "downloads"), its headers (names lower-cased) without Authorization, and whether it
    # carried a bearer token.
    origin: str = "api"
    headers: Mapping[str, str] = field(default_factory=dict)
    authorized: bool = False
    # How many body bytes the server handed to the connection for this request: None until
    # its answer has gone out (a client that stops reading early leaves it short of the
    # body's length, give or take what the socket buffers held).
    sent: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "httpMethod": self.http_method,
            "path": self.path,
            "time": format_time(self.time),
            "monotonic": self.monotonic,
            "origin": self.origin,
            "headers": dict(self.headers),
            "authorized": self.authorized,
            "sent": self.sent,
        }
