"""HTTP in front of the fake backend: routes, JSON and HTML bodies, media bytes, faults.

:class:`App` turns one :class:`Request` into one :class:`Response` and does no I/O itself, so
the in-process transport and the loopback emulator give the same answers. Two origins:

* the API origin: ``POST /v1/sessions``, ``GET|DELETE /v1/sessions/{id}``,
  ``GET /v1/mediaItems``, the discovery document at ``/$discovery/rest?version=v1``, the
  picking page at ``/pick/{id}`` (and Google's ``/integration/picker/{id}``), and the control
  endpoints under ``/_control/``. Anything else gets Google's HTML 404 page.
* the media origin: ``GET /ppa/{key}`` plus the size suffixes (``=w256-h256-c``, ``=d``,
  ``=dv``), with HTTP ``Range`` support.

Control endpoints (JSON in, JSON out; for tests in other processes)::

    POST   /_control/reset                {}
    POST   /_control/seed                 {"token", "seed"?, "count"?, "has_photos_account"?,
                                           "has_picker_scope"?}
    POST   /_control/processing           {"token", "id", "status": "READY" | ...}
    POST   /_control/pick                 {"session_id", "ids"? | "first"? | "all"?}
    POST   /_control/expire               {"session_id", "what": "session" | "base_urls"}
    POST   /_control/advance              {"seconds"}
    POST   /_control/config               {any BackendConfig field: value}
    POST   /_control/faults               {"method", "item"?, "faults": [503, {"status": 503,
                                            "retry_after": 1}, {"drop": true}, null, ...]}
                                           (for "media" also {"short_range": 4096},
                                            {"size_delta": 100}, {"hide_total": true},
                                            {"ignore_range": true}, {"range_shift": 1},
                                            {"no_accept_ranges": true},
                                            {"etag": "\"v2\""});
                                           any method ("discovery" too): {"stall": 30}
                                            (half the body, then nothing for 30 s),
                                            {"drop_after": 4096}, {"no_length": true},
                                            {"length_delta": 10},
                                            {"redirect": "/ppa/KEY=dv",
                                             "redirect_status": 307},
                                            {"body": "text", "status": 404,
                                             "content_type": "text/plain"},
                                            {"content_type": "text/html"}
    DELETE /_control/faults
    GET    /_control/attempts             -> {"attempts": [{"method", "httpMethod", "path",
                                               "time", "monotonic", "sent", ...}]}
    DELETE /_control/attempts
    GET    /_control/sessions             -> {"sessions": [...]}
    GET    /_control/library?token=...    -> {"mediaItems": [{"id", "filename", ...}]}
"""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from picker_discovery.testing import library
from picker_discovery.testing.backend import (
    ApiError,
    Attempt,
    Backend,
    BackendConfig,
    Fault,
    format_time,
)

__all__ = ["App", "Payload", "Request", "Response", "parse_range"]

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json; charset=UTF-8"
GATHER_TIMEOUT = 30.0
# The attempt log's name for a request to the API origin at a path the API does not have.
OTHER = "other"
HTML_TYPE = "text/html; charset=UTF-8"
# Query parameters every Google API accepts (googleapiclient always sends alt=json).
_STANDARD_PARAMS = {
    "alt",
    "fields",
    "key",
    "prettyPrint",
    "quotaUser",
    "$.xgafv",
    "callback",
    "access_token",
    "oauth_token",
    "upload_protocol",
    "uploadType",
}
# The origins that serve baseUrls: the media origin, and the emulator's second one (as
# video-downloads.googleusercontent.com is to lh3), where scripted redirects can lead.
MEDIA_ORIGINS = ("media", "downloads")
_SUFFIX_RE = re.compile(r"^(?P<key>[A-Za-z0-9_-]+)(?:=(?P<opts>[A-Za-z0-9-]*))?$")


@dataclass(frozen=True)
class Payload:
    """A body of known ``length`` that can be read in chunks from any offset."""

    length: int
    read: Callable[[int, int], Iterator[bytes]]

    @classmethod
    def of(cls, data: bytes) -> Payload:
        def read(start: int, end: int) -> Iterator[bytes]:
            for at in range(start, end, library.CHUNK):  # a large body goes out in pieces
                yield data[at : min(end, at + library.CHUNK)]

        return cls(len(data), read)

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        yield from self.read(start, self.length if end is None else end)

    def to_bytes(self) -> bytes:
        return b"".join(self.chunks())


@dataclass
class Request:
    """One HTTP request to one origin (``"api"`` or ``"media"``)."""

    method: str
    target: str  # path and query, as sent
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    origin: str = "api"

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(
            urllib.parse.urlsplit(self.target).query, keep_blank_values=True
        )

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None


@dataclass
class Response:
    """An answer, plus what the transport must do wrong with it (a scripted fault)."""

    status: int
    headers: dict[str, str]
    payload: Payload
    drop: bool = False
    truncate: bool = False
    latency: float = 0.0
    stall: float = 0.0
    drop_after: int | None = None
    no_length: bool = False
    length_delta: int = 0
    gather: int | None = None
    # The request's record, for the server to note how many body bytes it sent.
    attempt: Attempt | None = None

    @property
    def body(self) -> bytes:
        return self.payload.to_bytes()


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    data = json.dumps(body, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    return Response(status, {"Content-Type": JSON_TYPE, **(headers or {})}, Payload.of(data))


def _html(status: int, text: str) -> Response:
    return Response(status, {"Content-Type": HTML_TYPE}, Payload.of(text.encode("utf-8")))


def _redirect(fault: Fault) -> Response:
    """A scripted redirect: ``redirect_status`` (302 unless given) to ``fault.redirect``."""
    assert fault.redirect is not None
    if fault.body is not None:
        response = _scripted_body(fault)
        response.status = fault.redirect_status or 302
        response.headers["Location"] = fault.redirect
        return response
    return Response(
        fault.redirect_status or 302,
        {"Location": fault.redirect, "Content-Type": HTML_TYPE},
        Payload.of(b"<!DOCTYPE html><title>Moved</title>"),
    )


def _scripted_body(fault: Fault) -> Response:
    """A scripted answer: ``fault.body`` with its status (200 unless given) and type."""
    assert fault.body is not None
    data = fault.body.encode("utf-8") if isinstance(fault.body, str) else fault.body
    content_type = fault.content_type or "application/octet-stream"
    return Response(fault.status or 200, {"Content-Type": content_type}, Payload.of(data))


def _api_error(error: ApiError) -> Response:
    return _json(error.code, error.body(), error.headers)


def google_html_error(code: int, path: str) -> str:
    """Google's front-end HTML error page (curly quotes and all)."""
    title = {404: "Not Found", 405: "Method Not Allowed"}.get(code, "Server Error")
    if code == 404:
        what = f"The requested URL <code>{html.escape(path)}</code> was not found on this server."
    elif code in (502, 503, 504):
        what = (
            "The server encountered a temporary error and could not complete your request."
            "<p>Please try again in 30 seconds."
        )
    else:
        what = "The server encountered an error and could not complete your request."
    return (
        f"<!DOCTYPE html>\n<html lang=en><meta charset=utf-8><title>Error {code} ({title})!!1"
        f"</title><p><b>{code}.</b> <ins>That\u2019s an error.</ins><p>{what}"
        "  <ins>That\u2019s all we know.</ins></html>"
    )


def parse_range(header: str | None, length: int) -> tuple[int, int] | str | None:
    """The ``(start, end)`` (end exclusive) of a single ``bytes=`` range.

    ``None`` means serve everything (no header, several ranges, or a unit we ignore);
    ``"unsatisfiable"`` means answer 416.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if not first:
            suffix = int(last)
            if suffix <= 0:
                return "unsatisfiable"
            return max(0, length - suffix), length
        start = int(first)
        end = int(last) + 1 if last else length
    except ValueError:
        return None
    if start >= length or end <= start:
        return "unsatisfiable"
    return start, min(end, length)


class App:
    """The fake service's HTTP behaviour over one :class:`Backend`."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._gatherings: dict[int, threading.Barrier] = {}
        self._gathering_lock = threading.Lock()

    def gather(self, count: int, timeout: float = GATHER_TIMEOUT) -> bool:
        """Wait until ``count`` callers wait here (a scripted ``gather``); False if that did
        not happen within ``timeout`` or :meth:`release_gatherings` was called."""
        with self._gathering_lock:
            barrier = self._gatherings.get(count)
            if barrier is None:
                barrier = self._gatherings[count] = threading.Barrier(count)
        try:
            barrier.wait(timeout)
            return True
        except threading.BrokenBarrierError:
            with self._gathering_lock:
                if self._gatherings.get(count) is barrier:
                    del self._gatherings[count]
            return False

    def release_gatherings(self) -> None:
        """End every wait of :meth:`gather` (the emulator is stopping)."""
        with self._gathering_lock:
            barriers = list(self._gatherings.values())
            self._gatherings.clear()
        for barrier in barriers:
            barrier.abort()

    # -- entry point ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request; scripted faults are applied here, for both transports."""
        method_id = self._method_id(request)
        fault: Fault | None = None
        attempt: Attempt | None = None
        if method_id is not None:
            attempt, fault = self.backend.arrive(
                method_id,
                request.method,
                _redacted(request),
                origin=request.origin,
                headers=request.headers,
                item_id=self._media_item_id(request) if method_id == "media" else None,
            )
        error = fault.error() if fault is not None else None
        if fault is not None and fault.redirect is not None and method_id != "media":
            response = _redirect(fault)
        elif fault is not None and fault.body is not None and fault.redirect is None:
            response = _scripted_body(fault)
        elif error is not None and fault is not None and fault.html:
            response = _html(error.code, google_html_error(error.code, request.path))
            response.headers.update(error.headers)
        elif error is not None:
            response = _api_error(error)
        else:
            try:
                response = self._route(request, fault)
            except ApiError as exc:
                response = _api_error(exc)
        if fault is not None:
            response.drop = fault.drop
            response.truncate = fault.truncate
            response.latency = fault.latency
            response.stall = fault.stall
            response.drop_after = fault.drop_after
            response.no_length = fault.no_length
            response.length_delta = fault.length_delta
            response.gather = fault.gather
            if fault.content_type is not None:
                response.headers["Content-Type"] = fault.content_type
        response.attempt = attempt
        return response

    def _media_item_id(self, request: Request) -> str | None:
        match = _SUFFIX_RE.match(request.path[len("/ppa/") :])
        if not request.path.startswith("/ppa/") or match is None:
            return None
        return self.backend.item_id_for_key(match.group("key"))

    def _method_id(self, request: Request) -> str | None:
        path, verb = request.path, request.method
        if request.origin in MEDIA_ORIGINS:
            return "media" if verb in ("GET", "HEAD") else None
        if path == "/v1/sessions" and verb == "POST":
            return "sessions.create"
        if re.fullmatch(r"/v1/sessions/[^/]+", path):
            return {"GET": "sessions.get", "DELETE": "sessions.delete"}.get(verb, OTHER)
        if path == "/v1/mediaItems" and verb == "GET":
            return "mediaItems.list"
        if path == "/$discovery/rest" and verb == "GET":
            return "discovery"
        if path.startswith(("/_control/", "/pick/", "/integration/picker/")):
            return None
        return OTHER  # a path the API does not have: recorded, so a stray request shows

    def _route(self, request: Request, fault: Fault | None = None) -> Response:
        if request.origin in MEDIA_ORIGINS:
            return self._media(request, fault)
        path, verb = request.path, request.method
        if path.startswith("/_control/"):
            return self._control(request)
        if path == "/$discovery/rest" and verb == "GET":
            return self._discovery(request)
        for prefix in ("/pick/", "/integration/picker/"):
            if path.startswith(prefix):
                return self._page(request, path[len(prefix) :])
        method_id = self._method_id(request)
        if method_id is None or method_id == OTHER:
            return _html(404, google_html_error(404, path))
        query = request.query
        unknown = sorted(
            set(query) - _STANDARD_PARAMS - {"requestId", "sessionId", "pageSize", "pageToken"}
        )
        if unknown:
            raise ApiError(
                "INVALID_ARGUMENT",
                f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot bind query '
                f"parameter. Field '{unknown[0]}' could not be found in request message.",
            )

        def one(name: str) -> str | None:
            values = query.get(name)
            return values[-1] if values else None

        token = request.token or one("access_token")
        backend = self.backend
        if method_id == "sessions.create":
            body: Any = None
            if request.body.strip():
                try:
                    body = json.loads(request.body)
                except ValueError:
                    raise ApiError(
                        "INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token."
                    ) from None
            return _json(200, backend.create_session(token, body, request_id=one("requestId")))
        if method_id == "mediaItems.list":
            raw_size = one("pageSize")
            page_size: int | None = None
            if raw_size not in (None, ""):
                assert raw_size is not None
                try:
                    page_size = int(raw_size)
                except ValueError:
                    raise ApiError(
                        "INVALID_ARGUMENT",
                        f"Invalid value at 'page_size' (TYPE_INT32), \"{raw_size}\"",
                    ) from None
            return _json(
                200,
                backend.list_media_items(
                    token, one("sessionId"), page_size=page_size, page_token=one("pageToken")
                ),
            )
        session_id = urllib.parse.unquote(path.rsplit("/", 1)[1])
        if method_id == "sessions.get":
            return _json(200, backend.get_session(token, session_id))
        return _json(200, backend.delete_session(token, session_id))

    # -- discovery ------------------------------------------------------------------------------

    def _discovery(self, request: Request) -> Response:
        version = request.query.get("version", [""])[-1]
        if version != "v1":
            raise ApiError("NOT_FOUND", f"No discovery document for version {version!r}.")
        document = dict(self.backend.document)
        document["rootUrl"] = self.backend.config.api_root
        document["baseUrl"] = self.backend.config.api_root
        return _json(200, document)

    # -- media ----------------------------------------------------------------------------------

    def _media(self, request: Request, fault: Fault | None = None) -> Response:
        if request.method not in ("GET", "HEAD"):
            return _html(405, google_html_error(405, request.path))
        match = None
        if request.path.startswith("/ppa/"):
            match = _SUFFIX_RE.match(request.path[len("/ppa/") :])
        if match is None:
            return _html(404, google_html_error(404, request.path))
        try:
            item = self.backend.media_item_for_key(request.token, match.group("key"))
        except ApiError as exc:
            return _html(exc.code, f"<!DOCTYPE html><title>Error {exc.code}</title>{exc.message}")
        opts = match.group("opts")
        try:
            content_type, payload = self._media_payload(item, opts)
        except ValueError as exc:
            return _html(400, f"<!DOCTYPE html><title>Error 400</title>{html.escape(str(exc))}")
        if fault is not None and fault.redirect is not None:
            return _redirect(fault)
        tag = opts or "base"
        if fault is not None and fault.size_delta:
            payload = _resized(payload, fault.size_delta)
            tag += f"-resized{fault.size_delta:+d}"
        headers = {
            "Content-Type": content_type,
            "Accept-Ranges": "bytes",
            "Cache-Control": "private, max-age=86400, no-transform",
            "ETag": f'"{item.id[:16]}-{tag}"',
        }
        if fault is not None:
            if fault.content_type is not None:
                headers["Content-Type"] = fault.content_type
            if fault.etag is not None:
                headers["ETag"] = fault.etag
            if fault.no_accept_ranges:
                del headers["Accept-Ranges"]
        if opts in ("d", "dv"):
            headers["Content-Disposition"] = "attachment"
        wanted = parse_range(request.headers.get("range"), payload.length)
        if_range = request.headers.get("if-range")
        # A scripted ETag is a changed file: a resume whose If-Range names another gets all of
        # it, as a 200. (A size_delta file still answers a 206 of its new size: the client
        # must notice that the total changed.)
        etag = fault.etag if fault is not None else None
        if etag is not None and if_range is not None and if_range.strip() != etag:
            wanted = None
        if fault is not None and fault.ignore_range:
            wanted = None
        if fault is not None and fault.range_shift and isinstance(wanted, tuple):
            shifted = wanted[0] + fault.range_shift
            wanted = (
                (shifted, max(shifted, wanted[1])) if shifted < payload.length else "unsatisfiable"
            )
        if wanted == "unsatisfiable":
            return Response(
                416,
                {"Content-Range": f"bytes */{payload.length}", "Content-Type": "text/plain"},
                Payload.of(b""),
            )
        if fault is not None and fault.short_range is not None and payload.length:
            start, end = wanted if isinstance(wanted, tuple) else (0, payload.length)
            wanted = start, min(end, start + fault.short_range)
        if isinstance(wanted, tuple):
            start, end = wanted
            total = "*" if fault is not None and fault.hide_total else str(payload.length)
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{total}"
            part = Payload(end - start, lambda s, e: payload.chunks(start + s, start + e))
            return Response(206, headers, part)
        return Response(200, headers, payload)

    def _media_payload(self, item: library.MediaItem, opts: str | None) -> tuple[str, Payload]:
        """What ``baseUrl=opts`` answers for ``item``: a content type and the bytes."""
        parts = [p for p in (opts or "").split("-") if p]
        box_w = box_h = None
        crop = download = video = False
        for part in parts:
            if part == "c":
                crop = True
            elif part == "d":
                download = True
            elif part == "dv":
                video = True
            elif re.fullmatch(r"[wh]\d+", part):
                if part[0] == "w":
                    box_w = int(part[1:])
                else:
                    box_h = int(part[1:])
            else:
                raise ValueError(f"unknown baseUrl parameter {part!r}")
        if video:
            if not item.is_video:
                raise ValueError("=dv is for videos; use =d to download a photo")
            if item.processing_status != "READY":
                raise ValueError(
                    f"the video is {item.processing_status}, not READY: it cannot be "
                    "downloaded yet (or ever, if FAILED)"
                )
            return item.mime_type, Payload(
                item.size, lambda s, e: library.original_chunks(item, s, e)
            )
        if download and box_w is None and box_h is None:
            if item.is_video:  # =d on a video gives a still image, not the video
                size = library.fit_box(item.width, item.height, 1024, 1024)
                return "image/jpeg", Payload.of(library.render_image(item, *size, fmt="JPEG"))
            return item.mime_type, Payload(
                item.size, lambda s, e: library.original_chunks(item, s, e)
            )
        if box_w is None and box_h is None:
            # [open] A bare baseUrl answers a default-sized image; 512 px is our choice.
            box_w = box_h = 512
        if box_w == 0 or box_h == 0:
            raise ValueError("a box side of 0 pixels cannot hold an image")
        if crop and box_w is not None and box_h is not None:
            size = (min(box_w, library.MAX_IMAGE_SIDE), min(box_h, library.MAX_IMAGE_SIDE))
        else:
            size = library.fit_box(item.width, item.height, box_w, box_h)
        return "image/png", Payload.of(library.render_image(item, *size))

    # -- the picking page -----------------------------------------------------------------------

    def _page(self, request: Request, rest: str) -> Response:
        from picker_discovery.testing import page

        parts = rest.split("/")
        session_id = urllib.parse.unquote(parts[0])
        try:
            session, items = self.backend.page_session(session_id)
        except KeyError:
            return _html(404, page.gone_page(404, "This picking session does not exist."))
        tail = parts[1:]
        if len(tail) == 2 and tail[0] == "thumb" and request.method == "GET":
            item = next((i for i in items if i.id == tail[1]), None)
            if item is None:
                return _html(404, google_html_error(404, request.path))
            size = library.fit_box(item.width, item.height, 160, 160)
            data = library.render_image(item, *size)
            return Response(200, {"Content-Type": "image/png"}, Payload.of(data))
        if tail not in ([], ["autoclose"]):
            return _html(404, google_html_error(404, request.path))
        autoclose = tail == ["autoclose"]
        if session.media_items_set:
            return _html(410, page.gone_page(410, "You are done picking in this session."))
        if session.expired(self.backend.now()):
            return _html(410, page.gone_page(410, "This picking session has expired."))
        if request.method == "GET":
            return _html(200, page.pick_page(session, items, autoclose=autoclose))
        if request.method != "POST":
            return _html(405, google_html_error(405, request.path))
        form = urllib.parse.parse_qs(request.body.decode("utf-8", "replace"))
        ids = form.get("item", [])
        try:
            picked = self.backend.pick(session.id, ids)
        except (ValueError, KeyError) as exc:
            return _html(400, page.gone_page(400, str(exc)))
        return _html(200, page.done_page(len(picked), autoclose=autoclose))

    # -- control --------------------------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        action = request.path[len("/_control/") :]
        try:
            args = json.loads(request.body) if request.body.strip() else {}
            if not isinstance(args, dict):
                raise ValueError("send a JSON object")
            return self._control_action(action, request.method, args, request)
        except KeyError as exc:
            # A bare key is a field missing from the request; the backend's KeyErrors are
            # sentences ("no session ...").
            what = str(exc.args[0]) if exc.args else ""
            message = what if " " in what else f"missing field {what!r}"
            return _json(400, {"error": {"message": message, "action": action}})
        except (ValueError, TypeError) as exc:
            return _json(400, {"error": {"message": str(exc), "action": action}})

    def _control_action(
        self, action: str, verb: str, args: dict[str, Any], request: Request
    ) -> Response:
        backend = self.backend
        if (action, verb) == ("reset", "POST"):
            backend.reset()
            return _json(200, {})
        if (action, verb) == ("seed", "POST"):
            items = backend.seed_library(
                str(args["token"]),
                seed=args.get("seed"),
                count=args.get("count"),
                has_photos_account=bool(args.get("has_photos_account", True)),
                has_picker_scope=bool(args.get("has_picker_scope", True)),
            )
            return _json(200, {"mediaItems": [_library_json(i) for i in items]})
        if (action, verb) == ("library", "GET"):
            token = request.query.get("token", [""])[-1]
            if not token:
                raise ValueError("name the user: /_control/library?token=...")
            return _json(200, {"mediaItems": [_library_json(i) for i in backend.library(token)]})
        if (action, verb) == ("processing", "POST"):
            item = backend.set_processing_status(
                str(args["token"]), str(args["id"]), str(args["status"])
            )
            return _json(200, _library_json(item))
        if (action, verb) == ("pick", "POST"):
            ids = args.get("ids")
            first = None if args.get("all") else args.get("first")
            picked = backend.pick(str(args["session_id"]), ids, first=first)
            return _json(200, {"picked": picked})
        if (action, verb) == ("expire", "POST"):
            what = args.get("what", "session")
            if what == "session":
                backend.expire_session(str(args["session_id"]))
            elif what == "base_urls":
                backend.expire_base_urls(str(args["session_id"]))
            else:
                raise ValueError("what must be 'session' or 'base_urls'")
            return _json(200, {})
        if (action, verb) == ("advance", "POST"):
            return _json(200, {"now": format_time(backend.advance(float(args["seconds"])))})
        if (action, verb) == ("config", "POST"):
            names = {f.name for f in dataclasses.fields(BackendConfig)}
            unknown = set(args) - names
            if unknown:
                raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
            config = backend.configure(**args)
            return _json(200, {k: str(v) for k, v in dataclasses.asdict(config).items()})
        if (action, verb) == ("faults", "POST"):
            scoped = args.get("item")
            backend.set_faults(
                str(args["method"]),
                list(args.get("faults", [])),
                item_id=None if scoped is None else str(scoped),
            )
            return _json(200, {"pending": backend.pending_faults()})
        if (action, verb) == ("faults", "DELETE"):
            backend.clear_faults()
            return _json(200, {})
        if (action, verb) == ("attempts", "GET"):
            return _json(200, {"attempts": [a.to_json() for a in backend.attempts()]})
        if (action, verb) == ("attempts", "DELETE"):
            backend.clear_attempts()
            return _json(200, {})
        if (action, verb) == ("sessions", "GET"):
            sessions = [
                {
                    "id": s.id,
                    "mediaItemsSet": s.media_items_set,
                    "expireTime": format_time(s.expire_time),
                    "picked": s.picked,
                }
                for s in backend.sessions()
            ]
            return _json(200, {"sessions": sessions})
        return _json(404, {"error": {"message": f"no control action {verb} {action!r}"}})


def _resized(payload: Payload, delta: int) -> Payload:
    """``payload`` cut, or lengthened with filler, by ``delta`` bytes (a changed file)."""
    length = max(0, payload.length + delta)
    filler = b"resized;"

    def read(start: int, end: int) -> Iterator[bytes]:
        if start < payload.length:
            yield from payload.chunks(start, min(end, payload.length))
        position = max(start, payload.length)
        repeated = filler * (library.CHUNK // len(filler) + 2)
        while position < end:  # in chunks: a large delta never sits in memory whole
            skip = position % len(filler)
            piece = repeated[skip : skip + min(library.CHUNK, end - position)]
            yield piece
            position += len(piece)

    return Payload(length, read)


def _redacted(request: Request) -> str:
    """The request's path and query with any token in the query hidden (the report is public)."""
    parts = urllib.parse.urlsplit(request.target)
    if not parts.query:
        return parts.path
    pairs = [
        (k, "REDACTED" if k in ("access_token", "oauth_token") else v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    ]
    return f"{parts.path}?{urllib.parse.urlencode(pairs)}"


def _library_json(item: library.MediaItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "filename": item.filename,
        "mimeType": item.mime_type,
        "type": item.type,
        "size": item.size,
        "processingStatus": item.processing_status if item.is_video else None,
    }
