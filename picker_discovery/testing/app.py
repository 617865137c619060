"""HTTP in front of the fake backend: routes, JSON and HTML bodies, media bytes, faults.

:class:`App` turns one :class:`Request` into one :class:`Response` and does no I/O itself, so
the in-process transport and the loopback emulator give the same answers. Two origins:

* the API origin: ``POST /v1/sessions``, ``GET|DELETE /v1/sessions/{id}``,
  ``GET /v1/mediaItems``, the discovery document at ``/$discovery/rest?version=v1``, the
  picking page at ``/pick/{id}`` (and Google's ``/integration/picker/{id}``), and the control
  endpoints under ``/_control/``. Anything else gets Google's HTML 404 page.
* Google's OAuth 2.0 on the API origin (:mod:`._oauth_routes`): ``/o/oauth2/v2/auth`` (the
  consent page), ``/token``, ``/revoke`` and ``/oauth2/v3/userinfo``; and CORS on every answer
  of the API origin (:mod:`._cors`). The picking and consent pages refuse to be framed.
* ``POST /batch``: several API calls in one ``multipart/mixed`` request, as googleapiclient's
  ``new_batch_http_request()`` sends them (:mod:`._batch`). Every method also honours
  ``fields=`` partial responses (:mod:`._fields`).
* the media origin: ``GET /ppa/{key}`` plus the size suffixes (``=w256-h256-c``, ``=d``,
  ``=dv``), with HTTP ``Range`` support.

The control endpoints (JSON in, JSON out; for tests in other processes) are listed in
:mod:`picker_discovery.testing._control`.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import urllib.parse
from typing import Any

from picker_discovery.testing import library
from picker_discovery.testing._batch import answer_batch
from picker_discovery.testing._control import control
from picker_discovery.testing._cors import add_cors, is_preflight, preflight
from picker_discovery.testing._fields import Mask, check_mask, parse_mask, select
from picker_discovery.testing._http import (
    FRAME_DENY,
    Payload,
    Request,
    Response,
    _api_error,
    _html,
    _json,
    _redacted,
    _redirect,
    _scripted_body,
    google_html_error,
    parse_range,
)
from picker_discovery.testing._media_app import _SUFFIX_RE, MEDIA_ORIGINS, media
from picker_discovery.testing._oauth_routes import oauth_method, oauth_route
from picker_discovery.testing._routes import Routes
from picker_discovery.testing.backend import ApiError, Attempt, Backend, Fault

__all__ = ["App", "Payload", "Request", "Response", "parse_range"]

logger = logging.getLogger(__name__)

GATHER_TIMEOUT = 30.0
# The attempt log's name for a request to the API origin at a path the API does not have.
OTHER = "other"
# The attempt log's name for a CORS preflight (answered before any fault is spent).
PREFLIGHT = "preflight"
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


class App:
    """The fake service's HTTP behaviour over one :class:`Backend`."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._routes = Routes(backend.document)
        self._batch_path = "/" + str(backend.document.get("batchPath", "batch")).lstrip("/")
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
        # The control API is for tests, never for web pages: no CORS for it at all.
        controls = request.path.startswith("/_control/")
        if request.origin == "api" and is_preflight(request):
            attempt, _ = self.backend.arrive(
                PREFLIGHT, request.method, _redacted(request), headers=request.headers
            )
            response = preflight(self.backend.config, request, refuse=controls)
            response.attempt = attempt
            return response
        response = self._handle(request)
        if request.origin == "api" and not controls:
            add_cors(self.backend.config, request, response)
        return response

    def _handle(self, request: Request) -> Response:
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
        config = self.backend.config
        error = (
            fault.error(project=config.project_number, quota_retry_after=config.quota_retry_after)
            if fault is not None
            else None
        )
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
        oauth = oauth_method(request)
        if oauth is not None:
            return oauth
        if path == "/v1/sessions" and verb == "POST":
            return "sessions.create"
        if re.fullmatch(r"/v1/sessions/[^/]+", path):
            return {"GET": "sessions.get", "DELETE": "sessions.delete"}.get(verb, OTHER)
        if path == "/v1/mediaItems" and verb == "GET":
            return "mediaItems.list"
        if path == "/$discovery/rest" and verb == "GET":
            return "discovery"
        if path == self._batch_path:
            return "batch" if verb == "POST" else OTHER
        if path.startswith(("/_control/", "/pick/", "/integration/picker/")):
            return None
        return OTHER  # a path the API does not have: recorded, so a stray request shows

    def _route(self, request: Request, fault: Fault | None = None) -> Response:
        if request.origin in MEDIA_ORIGINS:
            return media(self.backend, request, fault)
        path, verb = request.path, request.method
        if path.startswith("/_control/"):
            return control(self.backend, request)
        if path == "/$discovery/rest" and verb == "GET":
            return self._discovery(request)
        if oauth_method(request) is not None:
            return oauth_route(self.backend, request)
        for prefix in ("/pick/", "/integration/picker/"):
            if path.startswith(prefix):
                response = self._page(request, path[len(prefix) :])
                response.headers.update(FRAME_DENY)
                return response
        method_id = self._method_id(request)
        if method_id == "batch":
            return answer_batch(request, self._handle)
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
        fields = one("fields")
        mask = self._mask(method_id, fields) if fields else None
        answer = self._call(request, method_id, token, one)
        return _json(200, answer if mask is None else select(answer, mask))

    def _mask(self, method_id: str, fields: str) -> Mask:
        """The ``fields=`` selection, checked against the method's response schema."""
        mask = parse_mask(fields)
        schema = self._routes.find(method_id).schema("response")
        if schema is not None:
            check_mask(mask, schema, self.backend.document.get("schemas", {}), fields)
        return mask

    def _call(self, request: Request, method_id: str, token: str | None, one: Any) -> Any:
        """Run one of the API's methods; its JSON answer."""
        backend = self.backend
        path = request.path
        if method_id == "sessions.create":
            body: Any = None
            if request.body.strip():
                try:
                    body = json.loads(request.body)
                except ValueError:
                    raise ApiError(
                        "INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token."
                    ) from None
            return backend.create_session(token, body, request_id=one("requestId"))
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
            return backend.list_media_items(
                token, one("sessionId"), page_size=page_size, page_token=one("pageToken")
            )
        session_id = urllib.parse.unquote(path.rsplit("/", 1)[1])
        if method_id == "sessions.get":
            return backend.get_session(token, session_id)
        return backend.delete_session(token, session_id)

    # -- discovery ------------------------------------------------------------------------------

    def _discovery(self, request: Request) -> Response:
        version = request.query.get("version", [""])[-1]
        if version != "v1":
            raise ApiError("NOT_FOUND", f"No discovery document for version {version!r}.")
        document = dict(self.backend.document)
        document["rootUrl"] = self.backend.config.api_root
        document["baseUrl"] = self.backend.config.api_root
        return _json(200, document)

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
