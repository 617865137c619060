"""The fake Picker service's state and rules, with no I/O.

One :class:`Backend` holds users (one per bearer token, made on first use), their libraries,
their sessions and the faults scripted for the next requests. The in-process transport
(:mod:`picker_discovery.testing.transport`) and the loopback emulator
(:mod:`picker_discovery.testing.emulator`) both answer through it, so every rule is written
once. Time comes from a :class:`FakeClock`: tests advance it instead of sleeping.

The rules follow the project's API facts sheet. Behaviours nobody documents (``[open]`` there)
are settings of :class:`BackendConfig`, each with a comment saying what was chosen and why.

Every method that serves the API raises :class:`ApiError` (code, status, message) for an error
answer, and checks each success answer against the discovery document's schemas.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, cast

from picker_discovery import _discovery as discovery
from picker_discovery._clock import FakeClock
from picker_discovery._errorbase import BadArgument, PickerError, UnknownName
from picker_discovery.testing.library import MediaItem, ProcessingStatus, generate_library
from picker_discovery.testing.schema import DURATION_RE, SchemaValidator

__all__ = [
    "FAULT_METHODS",
    "STATUS_CODES",
    "ApiError",
    "Attempt",
    "Backend",
    "BackendConfig",
    "Fault",
    "Session",
    "User",
    "format_duration",
    "format_time",
    "parse_duration",
]

logger = logging.getLogger(__name__)

# HTTP code of each google.rpc status, and the status given to a bare HTTP code.
STATUS_CODES: Mapping[str, int] = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "INTERNAL": 500,
    "UNKNOWN": 500,
    "DATA_LOSS": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
_STATUS_FOR_CODE: Mapping[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
FAULT_METHODS = (
    "sessions.create",
    "sessions.get",
    "sessions.delete",
    "mediaItems.list",
    "media",
    "discovery",
)
_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_INT_RE = re.compile(r"^[+-]?\d+$")
DOMAIN = "photospicker.googleapis.com"


def status_for_code(code: int) -> str:
    """The google.rpc status Google gives an HTTP code (``UNKNOWN`` for codes it has no name)."""
    return _STATUS_FOR_CODE.get(code, "INTERNAL" if code >= 500 else "UNKNOWN")


class ApiError(PickerError):
    """An error answer of the fake service, in Google's JSON shape."""

    def __init__(
        self,
        status: str,
        message: str,
        *,
        code: int | None = None,
        reason: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.code = code if code is not None else STATUS_CODES.get(status, 500)
        self.message = message
        self.reason = reason
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """``{"error": {"code", "message", "status", "details"?}}``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.reason:
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": self.reason,
                    "domain": DOMAIN,
                    "metadata": {"service": DOMAIN},
                }
            ]
        return {"error": error}


# --- time --------------------------------------------------------------------------------------


def format_time(when: datetime) -> str:
    """RFC 3339 in UTC with microseconds, as Google writes ``expireTime``."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_create_time(when: datetime) -> str:
    """RFC 3339 in UTC, with milliseconds only when there are any (as Google's bodies show)."""
    utc = when.astimezone(timezone.utc)
    if utc.microsecond:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration(value: str | float | timedelta) -> timedelta:
    """``"3.5s"``, 3.5 or a timedelta as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        if not DURATION_RE.match(value):
            raise BadArgument(f"{value!r} is not a duration like '5s' or '0.5s'")
        value = float(value[:-1])
    return timedelta(seconds=value)


def format_duration(value: timedelta) -> str:
    """A Duration string: ``"5s"``, ``"0.5s"``, ``"1799.25s"`` (at most 9 fractional digits)."""
    micros = max(0, (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds)
    whole, frac = divmod(micros, 1_000_000)
    return f"{whole}s" if not frac else f"{whole}.{frac:06d}".rstrip("0") + "s"


# --- configuration -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BackendConfig:
    """Settings of the fake service. Change them with :meth:`Backend.configure`."""

    # Where the service, the picking page and the media bytes live. The emulator points these
    # at its own ports; the in-process defaults look like Google's.
    api_root: str = "https://photospicker.googleapis.com/"
    picker_uri_prefix: str = "https://photos.google.com/integration/picker/"
    media_root: str = "https://lh3.googleusercontent.com/ppa/"
    # pollingConfig: Google's typical values are undocumented ([seen] "5s"/"1800s").
    poll_interval: timedelta = timedelta(seconds=5)
    polling_timeout: timedelta = timedelta(seconds=1800)
    # expireTime: one public run saw about 7 days after creation.
    session_lifetime: timedelta = timedelta(days=7)
    base_url_lifetime: timedelta = timedelta(minutes=60)
    # [open] Google publishes no limit on sessions per user; RESOURCE_EXHAUSTED past this many
    # live (not deleted, not expired) sessions.
    max_live_sessions: int = 100
    default_max_item_count: int = 2000
    max_max_item_count: int = 2000
    # [open] What the service does with maxItemCount 0, negative, above 2000 or not an integer
    # is undocumented. "reject" answers INVALID_ARGUMENT (the most plausible for a validated
    # field); "clamp" quietly uses the default for <= 0 and the maximum above it (non-integers
    # are still INVALID_ARGUMENT: they cannot be parsed).
    invalid_max_item_count: str = "reject"
    default_page_size: int = 50
    max_page_size: int = 100
    library_size: int = 120
    seed: int | str = 0
    # Check every success answer against the discovery document's schemas.
    validate_responses: bool = True

    def __post_init__(self) -> None:
        if self.invalid_max_item_count not in ("reject", "clamp"):
            raise BadArgument("invalid_max_item_count must be 'reject' or 'clamp'")
        for name in ("api_root", "picker_uri_prefix", "media_root"):
            if not getattr(self, name).endswith("/"):
                raise BadArgument(f"{name} must end with '/': {getattr(self, name)!r}")


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
        if not 0 <= self.stall < float("inf"):
            raise BadArgument(f"stall must be a finite number of seconds >= 0, not {self.stall!r}")
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
            latency=float(data.get("latency", 0.0)),
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

    def error(self) -> ApiError | None:
        """The error answer this fault stands for, if it has a status."""
        if self.status is None:
            return None
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


@dataclass
class User:
    """A fake Google account, made the first time its token is seen."""

    token: str
    library: list[MediaItem]
    has_photos_account: bool = True
    has_picker_scope: bool = True
    _index: dict[str, MediaItem] = field(default_factory=dict, repr=False, compare=False)
    _indexed: tuple[int, int] = field(default=(0, -1), repr=False, compare=False)

    def item(self, item_id: str) -> MediaItem | None:
        """The library's item with this id (indexed; rebuilt when the library is replaced)."""
        key = (id(self.library), len(self.library))
        if key != self._indexed:
            self._index = {item.id: item for item in reversed(self.library)}
            self._indexed = key
        return self._index.get(item_id)


@dataclass
class Session:
    """A picking session and what was picked in it."""

    id: str
    owner: str
    create_time: datetime
    expire_time: datetime
    max_item_count: int
    picking_config: dict[str, Any]
    request_id: str | None = None
    picked: list[str] | None = None
    base_urls_issued: datetime | None = None
    media_keys: dict[str, str] = field(default_factory=dict)

    @property
    def media_items_set(self) -> bool:
        return self.picked is not None

    def expired(self, now: datetime) -> bool:
        return now >= self.expire_time


def _normalized(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings with durations given as ``"5s"`` or seconds turned into timedeltas."""
    out = dict(settings)
    for name in ("poll_interval", "polling_timeout", "session_lifetime", "base_url_lifetime"):
        if name in out:
            out[name] = parse_duration(out[name])
    return out


# --- the backend -------------------------------------------------------------------------------


class Backend:
    """The fake Picker service: users, libraries, sessions, rules, faults and a clock.

    Thread-safe: one lock guards the state, so the threaded emulator can share it. Its
    ``clock`` is by default a frozen :class:`FakeClock` at the real current time.
    """

    def __init__(
        self,
        config: BackendConfig | None = None,
        *,
        clock: FakeClock | None = None,
        document: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        config = config or BackendConfig()
        self._config = replace(config, **_normalized(settings)) if settings else config
        self.clock = clock or FakeClock()
        if document is None:
            document, _ = discovery.load_document()
        self.document: Mapping[str, Any] = document
        self.validator = SchemaValidator(document)
        self._lock = threading.RLock()
        self._secret = secrets.token_bytes(32)
        self._users: dict[str, User] = {}
        self._sessions: dict[str, Session] = {}
        self._media: dict[str, tuple[str, str]] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._attempts: list[Attempt] = []

    # -- settings, reset, inspection ------------------------------------------------------------

    @property
    def config(self) -> BackendConfig:
        return self._config

    def configure(self, **settings: Any) -> BackendConfig:
        """Change settings (the fields of :class:`BackendConfig`); returns the new config.

        Durations may be given as ``"5s"`` strings or seconds.
        """
        with self._lock:
            self._config = replace(self._config, **_normalized(settings))
            return self._config

    def reset(self) -> None:
        """Forget every user, session, fault and attempt (settings and the clock stay)."""
        with self._lock:
            self._users.clear()
            self._sessions.clear()
            self._media.clear()
            self._faults.clear()
            self._attempts.clear()

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, seconds: float | timedelta) -> datetime:
        """Move the fake clock forward; returns the new time."""
        return self.clock.advance(seconds)

    def user(self, token: str) -> User:
        """The user behind ``token``, made (with a fresh library) on first use."""
        with self._lock:
            user = self._users.get(token)
            if user is None:
                digest = hashlib.sha256(f"{self._config.seed}\0{token}".encode()).hexdigest()[:16]
                user = User(token, generate_library(digest, self._config.library_size))
                self._users[token] = user
            return user

    def seed_library(
        self,
        token: str,
        *,
        seed: int | str | None = None,
        count: int | None = None,
        items: Sequence[MediaItem] | None = None,
        has_photos_account: bool = True,
        has_picker_scope: bool = True,
    ) -> list[MediaItem]:
        """Give ``token``'s user a new library: ``items``, or ``count`` generated from ``seed``.

        ``has_photos_account=False`` makes sessions.create answer FAILED_PRECONDITION for them;
        ``has_picker_scope=False`` makes their token one without the picker scope: every call
        answers 403 "Request had insufficient authentication scopes."
        Returns the library.
        """
        user = self.user(token)
        if items is not None:
            library = list(items)
        else:
            seed_text = f"{seed}" if seed is not None else f"{self._config.seed}\0{token}"
            library = generate_library(
                seed_text, self._config.library_size if count is None else count
            )
        with self._lock:
            user.library = library
            user.has_photos_account = has_photos_account
            user.has_picker_scope = has_picker_scope
        return list(library)

    def library(self, token: str) -> list[MediaItem]:
        return list(self.user(token).library)

    def set_processing_status(self, token: str, item_id: str, status: str) -> MediaItem:
        """Move a video of ``token``'s library to ``PROCESSING``, ``READY`` or ``FAILED``
        (say, to let a test see a video finish processing between two listings)."""
        if status not in ("PROCESSING", "READY", "FAILED"):
            raise BadArgument(f"status must be PROCESSING, READY or FAILED, not {status!r}")
        user = self.user(token)
        with self._lock:
            item = user.item(item_id)
            if item is None or not item.is_video:
                raise BadArgument(f"{item_id!r} is not a video in this user's library")
            changed = replace(item, processing_status=cast(ProcessingStatus, status))
            user.library = [changed if i.id == item_id else i for i in user.library]
            return changed

    def session(self, session_id: str) -> Session:
        """The session with this id (any owner); ``KeyError`` if there is none."""
        with self._lock:
            try:
                return self._sessions[session_id]
            except KeyError:
                raise UnknownName(f"no session {session_id!r} (deleted, or never made)") from None

    def sessions(self, token: str | None = None) -> list[Session]:
        """Every session, or those of ``token``'s user."""
        with self._lock:
            return [s for s in self._sessions.values() if token is None or s.owner == token]

    # -- faults and attempts --------------------------------------------------------------------

    def set_faults(
        self,
        method: str,
        faults: Iterable[Fault | int | Mapping[str, Any] | None],
        *,
        item_id: str | None = None,
    ) -> None:
        """Script the next requests to ``method`` (one of :data:`FAULT_METHODS`).

        Each request spends one fault, in order; once they are spent requests pass. ``503``
        is short for ``Fault(status=503)``, ``None`` for a request that passes. For
        ``media``, ``item_id`` scripts only the requests for that library item's baseUrls
        (whichever session listed them), so faults land on the item meant however many
        downloads run at once; an item's own script is spent before the method's.
        """
        if item_id is not None and method != "media":
            raise BadArgument(f"item_id scripts media requests only, not {method!r}")
        if method not in FAULT_METHODS:
            raise BadArgument(f"cannot script faults for {method!r}; use one of {FAULT_METHODS}")
        script = [f if isinstance(f, Fault) else Fault.from_json(f) for f in faults]
        for fault in script:
            if fault.status is not None and not 400 <= fault.status <= 599:
                raise BadArgument(f"a fault's status must be 400-599, not {fault.status}")
            if fault.bends_media and method != "media":
                raise BadArgument(
                    "short_range, size_delta, hide_total, ignore_range, range_shift, "
                    "no_accept_ranges and etag bend media answers: "
                    f"script them for 'media', not {method!r}"
                )
        with self._lock:
            self._faults[method if item_id is None else f"{method}\0{item_id}"] = script

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending_faults(self, method: str | None = None) -> int:
        """How many scripted faults are not spent yet."""
        with self._lock:
            return sum(
                len(v)
                for k, v in self._faults.items()
                if method is None or k.partition("\0")[0] == method
            )

    def record_attempt(
        self,
        method: str,
        http_method: str,
        path: str,
        *,
        origin: str = "api",
        headers: Mapping[str, str] | None = None,
        item_id: str | None = None,
    ) -> Fault | None:
        """Note a request's arrival and hand out its next scripted fault (the item's own
        script first, for a media request whose item is known, then its method's).

        ``headers`` are kept without Authorization (only whether it was sent), so the record
        never holds a token.
        """
        return self.arrive(
            method, http_method, path, origin=origin, headers=headers, item_id=item_id
        )[1]

    def arrive(
        self,
        method: str,
        http_method: str,
        path: str,
        *,
        origin: str = "api",
        headers: Mapping[str, str] | None = None,
        item_id: str | None = None,
    ) -> tuple[Attempt, Fault | None]:
        """:meth:`record_attempt`, also returning the attempt (for :meth:`note_sent`)."""
        sent = {k.lower(): v for k, v in (headers or {}).items()}
        authorized = bool(sent.pop("authorization", "").strip())
        attempt = Attempt(
            method, http_method, path, self.clock.now(), time.monotonic(), origin, sent, authorized
        )
        with self._lock:
            self._attempts.append(attempt)
            script = self._faults.get(f"{method}\0{item_id}") if item_id is not None else None
            if not script:
                script = self._faults.get(method)
            return attempt, (script.pop(0) if script else None)

    def note_sent(self, attempt: Attempt, sent: int) -> None:
        """Record how many body bytes went out in answer to ``attempt``."""
        with self._lock:
            for index, seen in enumerate(self._attempts):
                if seen is attempt:
                    self._attempts[index] = replace(attempt, sent=sent)
                    return

    def attempts(self, method: str | None = None) -> list[Attempt]:
        """The requests that arrived, oldest first, optionally only those to ``method``."""
        with self._lock:
            return [a for a in self._attempts if method is None or a.method == method]

    def clear_attempts(self) -> None:
        with self._lock:
            self._attempts.clear()

    # -- controls on sessions -------------------------------------------------------------------

    def pick(
        self,
        session_id: str,
        item_ids: Sequence[str] | None = None,
        *,
        first: int | None = None,
    ) -> list[str]:
        """Finish picking in ``session_id`` as its user would, without a browser.

        Picks ``item_ids``, or the ``first`` N items of the library, or (neither given) as
        many as ``maxItemCount`` allows from the start of the library. Returns the ids picked.

        Raises:
            KeyError: no such session.
            ValueError: the session was already picked or has expired, an id is not in the
                user's library, or more items than ``maxItemCount`` were asked for.
        """
        with self._lock:
            session = self.session(session_id)
            user = self.user(session.owner)
            if session.media_items_set:
                raise BadArgument(f"session {session_id} was already picked; create a new one")
            if session.expired(self.clock.now()):
                raise BadArgument(f"session {session_id} has expired; create a new one")
            if item_ids is None:
                count = session.max_item_count if first is None else first
                if count < 0:
                    raise BadArgument(f"cannot pick the first {count} items")
                item_ids = [item.id for item in user.library[:count]]
            ids = list(dict.fromkeys(item_ids))
            unknown = [i for i in ids if user.item(i) is None]
            if unknown:
                raise BadArgument(f"not in the user's library: {', '.join(unknown)}")
            if len(ids) > session.max_item_count:
                raise BadArgument(
                    f"{len(ids)} items is more than this session's maxItemCount "
                    f"{session.max_item_count}"
                )
            if not ids:
                raise BadArgument("pick at least one item: the picker's Done needs one")
            session.picked = ids
            logger.info("session %s: %d items picked", session_id, len(ids))
            return list(ids)

    def expire_session(self, session_id: str) -> None:
        """Make the session's expireTime now: gets answer PERMISSION_DENIED from here on."""
        with self._lock:
            session = self.session(session_id)
            session.expire_time = min(session.expire_time, self.clock.now())

    def expire_base_urls(self, session_id: str) -> None:
        """End the lifetime of the baseUrls listed so far (listing again renews them)."""
        with self._lock:
            session = self.session(session_id)
            if session.base_urls_issued is not None:
                session.base_urls_issued = (
                    self.clock.now() - self._config.base_url_lifetime - timedelta(seconds=1)
                )

    # -- the API --------------------------------------------------------------------------------

    def _authenticate(self, token: str | None) -> User:
        if not token:
            raise ApiError(
                "UNAUTHENTICATED",
                "Request is missing required authentication credential. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential. See "
                "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                reason="CREDENTIALS_MISSING",
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        user = self.user(token)
        if not user.has_picker_scope:
            raise ApiError("PERMISSION_DENIED", "Request had insufficient authentication scopes.")
        return user

    def _owned_session(self, token: str, session_id: str) -> Session:
        session = self._sessions.get(session_id)
        if session is None or session.owner != token:
            # Another user's session answers exactly like a missing one: ids leak nothing.
            raise ApiError("NOT_FOUND", "Requested entity was not found.")
        return session

    def _check_live(self, session: Session) -> None:
        if session.expired(self.clock.now()):
            raise ApiError(
                "PERMISSION_DENIED",
                f"Access to session {session.id} has expired. Create a new session.",
            )

    def _parse_max_item_count(self, raw: Any) -> int:
        cfg = self._config
        if raw is None:
            return cfg.default_max_item_count
        if isinstance(raw, bool) or not (
            isinstance(raw, int) or (isinstance(raw, str) and _INT_RE.match(raw))
        ):
            raise ApiError(
                "INVALID_ARGUMENT",
                f"Invalid value at 'picking_session.picking_config.max_item_count' (TYPE_INT64), "
                f"{json.dumps(raw)}",
            )
        value = int(raw)
        if 1 <= value <= cfg.max_max_item_count:
            return value
        if cfg.invalid_max_item_count == "clamp":
            return cfg.default_max_item_count if value < 1 else cfg.max_max_item_count
        raise ApiError(
            "INVALID_ARGUMENT",
            f"pickingConfig.maxItemCount must be between 1 and {cfg.max_max_item_count}, "
            f"got {value}.",
        )

    def _session_json(self, session: Session) -> dict[str, Any]:
        now = self.clock.now()
        body: dict[str, Any] = {
            "id": session.id,
            "pickerUri": self._config.picker_uri_prefix + session.id,
        }
        if not session.media_items_set:
            left = session.create_time + self._config.polling_timeout - now
            body["pollingConfig"] = {
                "pollInterval": format_duration(self._config.poll_interval),
                "timeoutIn": format_duration(max(left, timedelta(0))),
            }
        body["expireTime"] = format_time(session.expire_time)
        body["pickingConfig"] = dict(session.picking_config)
        body["mediaItemsSet"] = session.media_items_set
        return self._valid("PickingSession", body)

    def _valid(self, schema: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._config.validate_responses:
            self.validator.validate(schema, body)
        return body

    def create_session(
        self,
        token: str | None,
        body: Any = None,
        *,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """sessions.create: a new session for the token's user."""
        user = self._authenticate(token)
        if body is None:
            body = {}
        if not isinstance(body, Mapping):
            raise ApiError("INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object.")
        for key in body:
            if key not in (
                "pickingConfig",
                "id",
                "pickerUri",
                "pollingConfig",
                "expireTime",
                "mediaItemsSet",
            ):
                raise ApiError(
                    "INVALID_ARGUMENT",
                    f"Invalid JSON payload received. Unknown name \"{key}\" at 'picking_session': "
                    "Cannot find field.",
                )
        raw_config = body.get("pickingConfig") or {}
        if not isinstance(raw_config, Mapping):
            raise ApiError("INVALID_ARGUMENT", "pickingConfig must be an object.")
        known = self.validator.properties("PickingConfig")
        for key in raw_config:
            if key not in known:
                raise ApiError(
                    "INVALID_ARGUMENT",
                    f'Invalid JSON payload received. Unknown name "{key}" at '
                    "'picking_session.picking_config': Cannot find field.",
                )
        if request_id is not None and not _UUID_RE.match(request_id):
            # [open] Google documents a UUID; the version digit is not checked here.
            raise ApiError(
                "INVALID_ARGUMENT",
                f"requestId must be a UUID (8-4-4-4-12 hexadecimal digits), got {request_id!r}.",
            )
        max_items = self._parse_max_item_count(raw_config.get("maxItemCount"))
        picking_config: dict[str, Any] = {"maxItemCount": str(max_items)}
        for flag in ("showEducationBanner", "showZeroState", "showExpandedAppBar"):
            if isinstance(raw_config.get(flag), bool):
                picking_config[flag] = raw_config[flag]
        with self._lock:
            if not user.has_photos_account:
                raise ApiError(
                    "FAILED_PRECONDITION",
                    "The user does not have a Google Photos account. They need to open Google "
                    "Photos once before picking.",
                )
            now = self.clock.now()
            live = [
                s for s in self._sessions.values() if s.owner == user.token and not s.expired(now)
            ]
            if len(live) >= self._config.max_live_sessions:
                raise ApiError(
                    "RESOURCE_EXHAUSTED",
                    f"The user has too many active sessions ({len(live)}). Delete finished "
                    "sessions with sessions.delete and try again.",
                    reason="TOO_MANY_SESSIONS",
                )
            # [open] requestId is not documented as an idempotency key: each create makes a
            # new session even when the requestId repeats.
            session = Session(
                id=str(uuid.uuid4()),
                owner=user.token,
                create_time=now,
                expire_time=now + self._config.session_lifetime,
                max_item_count=max_items,
                picking_config=picking_config,
                request_id=request_id,
            )
            self._sessions[session.id] = session
            logger.info("created session %s", session.id)
            return self._session_json(session)

    def get_session(self, token: str | None, session_id: str) -> dict[str, Any]:
        """sessions.get."""
        user = self._authenticate(token)
        with self._lock:
            session = self._owned_session(user.token, session_id)
            self._check_live(session)
            return self._session_json(session)

    def delete_session(self, token: str | None, session_id: str) -> dict[str, Any]:
        """sessions.delete. [open] An expired session can still be deleted (Google asks
        clients to delete every session, also after a timeout)."""
        user = self._authenticate(token)
        with self._lock:
            session = self._owned_session(user.token, session_id)
            del self._sessions[session.id]
            for key in session.media_keys.values():
                self._media.pop(key, None)
            logger.info("deleted session %s", session.id)
            return self._valid("Empty", {})

    def _page_token(self, session_id: str, offset: int) -> str:
        payload = base64.urlsafe_b64encode(json.dumps([session_id, offset]).encode()).rstrip(b"=")
        mac = hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]
        return (payload + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode("ascii")

    def _read_page_token(self, session_id: str, token: str) -> int:
        bad = ApiError(
            "INVALID_ARGUMENT",
            "Invalid page token. Use the nextPageToken of the previous page of this session.",
        )
        try:
            payload_text, mac_text = token.split(".")
            payload = payload_text.encode("ascii")
            mac = base64.urlsafe_b64decode(mac_text + "=" * (-len(mac_text) % 4))
            expected = hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]
            if not hmac.compare_digest(mac, expected):
                raise bad
            sid, offset = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
        except (ValueError, UnicodeError, binascii.Error, TypeError):
            raise bad from None
        if sid != session_id or not isinstance(offset, int) or offset < 0:
            raise bad
        return offset

    def list_media_items(
        self,
        token: str | None,
        session_id: str | None,
        *,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """mediaItems.list: one page of the items picked in a session."""
        user = self._authenticate(token)
        if not session_id:
            raise ApiError("INVALID_ARGUMENT", "sessionId is required.")
        if page_size is not None and page_size < 0:
            raise ApiError("INVALID_ARGUMENT", f"pageSize must not be negative, got {page_size}.")
        size = page_size or self._config.default_page_size
        size = min(size, self._config.max_page_size)
        with self._lock:
            session = self._owned_session(user.token, session_id)
            self._check_live(session)
            if session.picked is None:
                raise ApiError(
                    "FAILED_PRECONDITION",
                    "The user has not finished picking media items yet. Poll sessions.get until "
                    "mediaItemsSet is true.",
                )
            offset = self._read_page_token(session.id, page_token) if page_token else 0
            now = self.clock.now()
            session.base_urls_issued = now
            page_ids = session.picked[offset : offset + size]
            items = []
            for item_id in page_ids:
                item = user.item(item_id)
                if item is None:  # removed by a later seed_library; Google would skip it too
                    continue
                items.append(self._item_json(session, item))
            body: dict[str, Any] = {}
            if items:
                body["mediaItems"] = items
            if offset + size < len(session.picked):
                body["nextPageToken"] = self._page_token(session.id, offset + size)
            return self._valid("ListMediaItemsResponse", body)

    def _media_key(self, session: Session, item_id: str) -> str:
        key = session.media_keys.get(item_id)
        if key is None:
            raw = hmac.new(self._secret, f"{session.id}\0{item_id}".encode(), hashlib.sha256)
            key = "AGgF" + base64.urlsafe_b64encode(raw.digest()).decode("ascii").rstrip("=")
            session.media_keys[item_id] = key
            self._media[key] = (session.id, item_id)
        return key

    def _item_json(self, session: Session, item: MediaItem) -> dict[str, Any]:
        return {
            "id": item.id,
            "createTime": format_create_time(item.create_time),
            "type": item.type,
            "mediaFile": {
                "baseUrl": self._config.media_root + self._media_key(session, item.id),
                "mimeType": item.mime_type,
                "filename": item.filename,
                "mediaFileMetadata": item.metadata_json(),
            },
        }

    def item_id_for_key(self, key: str) -> str | None:
        """The library item id a baseUrl's key stands for, if it was ever listed."""
        with self._lock:
            found = self._media.get(key)
            return found[1] if found is not None else None

    def media_item_for_key(self, token: str | None, key: str) -> MediaItem:
        """The item behind a baseUrl's key, if ``token`` may fetch it now.

        Raises ``ApiError``: 401 without a token, 404 for an unknown key (a deleted session's
        keys are forgotten), 403 for another user's token, an expired session, or a baseUrl
        past its lifetime.
        """
        if not token:
            raise ApiError("UNAUTHENTICATED", "Sign in: send the session owner's bearer token.")
        with self._lock:
            found = self._media.get(key)
            if found is None:
                raise ApiError("NOT_FOUND", "No such media: list the session again for baseUrls.")
            session_id, item_id = found
            session = self._sessions.get(session_id)
            if session is None:
                raise ApiError("PERMISSION_DENIED", "The session of this baseUrl was deleted.")
            if session.owner != token:
                raise ApiError(
                    "PERMISSION_DENIED", "This baseUrl belongs to another user's session."
                )
            now = self.clock.now()
            if session.expired(now):
                raise ApiError("PERMISSION_DENIED", "The session of this baseUrl has expired.")
            issued = session.base_urls_issued
            if issued is None or now >= issued + self._config.base_url_lifetime:
                raise ApiError(
                    "PERMISSION_DENIED",
                    "This baseUrl has expired (they live "
                    f"{format_duration(self._config.base_url_lifetime)}). List the session's "
                    "media items again for fresh ones.",
                )
            item = self.user(session.owner).item(item_id)
            if item is None:
                raise ApiError("NOT_FOUND", "The media item is gone from the user's library.")
            return item

    # -- the picking page -----------------------------------------------------------------------

    def page_session(self, session_id: str) -> tuple[Session, list[MediaItem]]:
        """The session a picking page URL names and its owner's library (no token: the id in
        the URL stands for Google's sign-in). ``KeyError`` if there is no such session."""
        with self._lock:
            session = self.session(session_id)
            return session, list(self.user(session.owner).library)
