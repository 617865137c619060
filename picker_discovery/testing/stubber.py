"""A validating stubber: queue the answer of each Picker API call, checked against the document.

The idea is botocore's ``Stubber``: a test says which calls its code makes, in order, what each
call should send, and what the service answers. Every queued answer is checked against the
discovery document's schemas when it is queued, so a test cannot pass on an answer the real
service could never send (a misspelt field, ``"pollInterval": 5``, a naive timestamp)::

    from picker_discovery.testing import Stubber

    stubber = Stubber()
    stubber.add_response(
        "sessions.create",
        {"id": "s1", "pickerUri": "https://photos.google.com/integration/picker/s1"},
        expected_params={"body": {}},
    )
    stubber.add_error("sessions.delete", "NOT_FOUND", expected_params={"sessionId": "s1"})
    with stubber:                       # leaving the block checks every answer was used
        client = stubber.client()       # or PickerClient(http=stubber.http, journal=False)
        session = client.create_session()
        client.delete_session(session)  # raises SessionNotFound

:attr:`Stubber.http` is an ``httplib2.Http`` stand-in, so any service built on it is served:
``picker_discovery.build(http=stubber.http)``, or a ``PickerClient`` given it. A call the queue
does not expect (another method, other parameters, nothing left) raises
:class:`UnexpectedRequest` naming what was expected and what came; a queued answer that does not
match its schema raises :class:`InvalidStub` naming the field (``$.pollingConfig.pollInterval``).
"""

from __future__ import annotations

import copy
import http.client
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple

import httplib2

from picker_discovery import _discovery as discovery
from picker_discovery.errors import PickerError
from picker_discovery.testing import canned
from picker_discovery.testing._params import ANY, _differences, _params_text, _without_any
from picker_discovery.testing._routes import Route, Routes
from picker_discovery.testing.backend import STATUS_CODES, ApiError
from picker_discovery.testing.schema import SchemaError, SchemaValidator

if TYPE_CHECKING:
    from googleapiclient.discovery import Resource

    from picker_discovery import Clock, PickerClient

__all__ = [
    "ANSWER_FIELDS",
    "ANY",
    "Call",
    "InvalidStub",
    "PendingResponses",
    "StubHttp",
    "Stubber",
    "StubberError",
    "UnexpectedParams",
    "UnexpectedRequest",
]

ANSWER_FIELDS: Mapping[str, tuple[str, ...]] = {
    # The document marks no schema field required, but the service always sends these, and
    # client code relies on them: a session without an id can be neither polled nor deleted,
    # an item without an id can be neither stored nor named.
    "PickingSession": ("id",),
    "PickedMediaItem": ("id",),
}
"""Fields every success answer carries, by schema: a queued answer without them is refused."""

_JSON = "application/json; charset=UTF-8"


class StubberError(PickerError, AssertionError):
    """The code under test did not make the calls the stubber was told to expect."""


class UnexpectedRequest(StubberError):
    """A request no queued answer is for: another method, or nothing is queued."""


class UnexpectedParams(UnexpectedRequest):
    """The expected method was called, with other parameters or another body."""


class PendingResponses(StubberError):
    """Queued answers were never asked for."""


class InvalidStub(SchemaError, PickerError):
    """A queued answer, or the parameters expected with it, do not match the document."""

    def __init__(self, method: str, what: str, error: SchemaError) -> None:
        super().__init__(error.path, error.problem)
        self.args = (f"{what} queued for {method} does not match the document: {error}",)
        self.method = method


class Call(NamedTuple):
    """A call the stubber answered: the method id and the parameters it was sent with."""

    method: str
    params: dict[str, Any]


@dataclass(frozen=True)
class _Stub:
    method: str
    status: int
    content: bytes
    content_type: str
    headers: Mapping[str, str]
    expected: Mapping[str, Any] | None


class StubHttp:
    """The ``httplib2.Http`` stand-in of a :class:`Stubber`; build services on it."""

    def __init__(self, stubber: Stubber) -> None:
        self.stubber = stubber
        self.closed = False
        self.timeout: float | None = None

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        redirections: int = httplib2.DEFAULT_MAX_REDIRECTS,
        connection_type: Any = None,
    ) -> tuple[httplib2.Response, bytes]:
        """Answer like ``httplib2.Http.request``: ``(response, content)``."""
        return self.stubber._answer(uri, method, body, headers, redirections, connection_type)

    def close(self) -> None:
        self.closed = True


class Stubber:
    """Queued answers per method, with expected parameters, validated against the document.

    Args:
        document: the discovery document to route and validate by (a path or a parsed
            document); by default the one :func:`picker_discovery.build` would use.
        allow_unknown_fields: accept answers with fields the document does not describe, as a
            newer revision of the service may send. Off by default, so a misspelt field fails.
        allow_unknown_enums: accept enum values the document does not list (the models read
            them as ``UNKNOWN``).
        http: where requests go while the stubber is not active (as botocore's stubbed client
            reaches AWS when deactivated); without it they raise :class:`StubberError`.

    Methods are named by their discovery id (``photospicker.sessions.get``) or without the
    API name (``sessions.get``).
    """

    def __init__(
        self,
        document: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        *,
        allow_unknown_fields: bool = False,
        allow_unknown_enums: bool = False,
        http: Any = None,
    ) -> None:
        if isinstance(document, Mapping):
            discovery.validate_document(document, "<mapping>")
            self._document: dict[str, Any] = copy.deepcopy(dict(document))
        else:
            self._document, _ = discovery.load_document(document)
        self._validator = SchemaValidator(self._document)
        self._lenient = {
            "allow_unknown_fields": allow_unknown_fields,
            "allow_unknown_enums": allow_unknown_enums,
        }
        self._routes = Routes(self._document)
        self._queue: list[_Stub] = []
        self._calls: list[Call] = []
        self._lock = threading.Lock()
        self._active = False
        self._passthrough = http
        self.http = StubHttp(self)

    # -- the queue -----------------------------------------------------------------------

    def add_response(
        self,
        method: str,
        body: Mapping[str, Any],
        *,
        expected_params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Queue a success answer (HTTP 200) for the next call, which must be to ``method``.

        ``body`` is checked against the method's response schema now; ``sessions.delete``
        answers ``{}``. ``expected_params`` are the keyword arguments the call must be made
        with, as googleapiclient's method takes them (``{"sessionId": "s1"}``,
        ``{"sessionId": "s1", "pageSize": 100}``, ``{"body": {}}``; googleapiclient's
        ``alt=json`` is left out); ``None`` accepts any. Raises :class:`InvalidStub`.
        """
        route = self._routes.find(method)
        schema = route.schema("response")
        if schema is not None:
            self._validate(route, "the answer", schema, body, required=ANSWER_FIELDS)
        content = json.dumps(body).encode("utf-8")
        self._queue_stub(route, 200, content, _JSON, headers, expected_params)

    def add_error(
        self,
        method: str,
        status: str,
        message: str | None = None,
        *,
        http_status: int | None = None,
        reason: str | None = None,
        headers: Mapping[str, str] | None = None,
        expected_params: Mapping[str, Any] | None = None,
    ) -> None:
        """Queue an error answer in Google's JSON shape for the next call, to ``method``.

        Args:
            status: the ``google.rpc`` status (``"NOT_FOUND"``, ``"FAILED_PRECONDITION"``...).
            message: the error's message (a stock one by default).
            http_status: the HTTP code; by default the one Google gives ``status``.
            reason: adds an ``ErrorInfo`` detail with this reason (``"TOO_MANY_SESSIONS"``).
            headers: extra answer headers (``{"retry-after": "30"}``).
        """
        route = self._routes.find(method)
        if status not in STATUS_CODES:
            raise ValueError(
                f"{status!r} is not a google.rpc status; use one of {', '.join(STATUS_CODES)}"
            )
        code = STATUS_CODES[status] if http_status is None else http_status
        if isinstance(code, bool) or not isinstance(code, int) or not 400 <= code <= 599:
            raise ValueError(f"http_status must be an error code, 400 to 599, not {code!r}")
        error = ApiError(status, message or f"A stubbed {status} error.", code=code, reason=reason)
        content = json.dumps(error.body()).encode("utf-8")
        all_headers = {**error.headers, **(headers or {})}
        self._queue_stub(route, code, content, _JSON, all_headers, expected_params)

    def add_canned(
        self,
        method: str,
        name: str | None = None,
        *,
        expected_params: Mapping[str, Any] | None = None,
        clock: Clock | None = None,
    ) -> None:
        """Queue the canned answer ``name`` (see :mod:`~picker_discovery.testing.canned`).

        ``name`` defaults to the method's own success answer; answers of other methods are
        refused, answers of any method (``"unavailable"``, ``"bad_gateway_html"``) are not.
        """
        route = self._routes.find(method)
        name = route.short if name is None else name
        owner = next(
            (r for r in self._routes.by_id.values() if f"{name}.".startswith(f"{r.short}.")),
            None,
        )
        if owner is not None and owner != route:
            raise ValueError(
                f"the canned answer {name!r} is one of {owner.short}, not of {route.short}"
            )
        answer = canned.response(name, clock=clock)
        if 200 <= answer.status < 300:
            self.add_response(
                method, answer.body, expected_params=expected_params, headers=answer.headers
            )
            return
        content = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
        self._queue_stub(
            route,
            answer.status,
            content.encode("utf-8"),
            answer.content_type,
            answer.headers,
            expected_params,
        )

    def _queue_stub(
        self,
        route: Route,
        status: int,
        content: bytes,
        content_type: str,
        headers: Mapping[str, str] | None,
        expected_params: Mapping[str, Any] | None,
    ) -> None:
        expected = None
        if expected_params is not None:
            self._check_expected(route, expected_params)
            expected = copy.deepcopy(dict(expected_params))
        stub = _Stub(route.id, status, content, content_type, dict(headers or {}), expected)
        with self._lock:
            self._queue.append(stub)

    @property
    def pending(self) -> list[str]:
        """The methods of the answers still queued, in order."""
        with self._lock:
            return [stub.method for stub in self._queue]

    @property
    def calls(self) -> list[Call]:
        """The calls answered so far, in order."""
        with self._lock:
            return list(self._calls)

    def assert_no_pending_responses(self) -> None:
        """Raise :class:`PendingResponses` if a queued answer was never asked for."""
        pending = self.pending
        if pending:
            raise PendingResponses(
                f"{len(pending)} queued answer(s) were never asked for: {', '.join(pending)}; "
                f"the calls made were: {_calls_text(self.calls)}"
            )

    # -- activation ----------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self._active

    def activate(self) -> None:
        """Answer requests from the queue (until :meth:`deactivate`)."""
        self._active = True

    def deactivate(self) -> None:
        """Stop answering: requests go to ``http`` if one was given, else raise."""
        self._active = False

    def __enter__(self) -> Stubber:
        self.activate()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Deactivate; when the block ended without an error, check every answer was used."""
        self.deactivate()
        if exc_type is None:
            self.assert_no_pending_responses()

    # -- ready-made users of the stubber -------------------------------------------------

    def service(self, **kwargs: Any) -> Resource:
        """``picker_discovery.build(http=self.http, ...)`` on the stubber's document."""
        import picker_discovery

        kwargs.setdefault("discovery_document", self._document)
        return picker_discovery.build(http=self.http, **kwargs)

    def client(self, **kwargs: Any) -> PickerClient:
        """A ``PickerClient`` on :meth:`service`, keeping no session journal, on a frozen
        ``FakeClock`` (retries and polling take no real time) unless ``clock`` is given."""
        import picker_discovery

        kwargs.setdefault("journal", False)
        kwargs.setdefault("clock", picker_discovery.FakeClock())
        return picker_discovery.PickerClient(self.service(), **kwargs)

    # -- serving -------------------------------------------------------------------------

    def _answer(
        self,
        uri: str,
        method: str,
        body: bytes | str | None,
        headers: Mapping[str, str] | None,
        redirections: int,
        connection_type: Any,
    ) -> tuple[httplib2.Response, bytes]:
        if not self._active:
            if self._passthrough is None:
                raise StubberError(
                    f"{method} {uri}: the stubber is not active; call activate() or use "
                    "'with stubber:' before the code under test runs"
                )
            response: tuple[httplib2.Response, bytes] = self._passthrough.request(
                uri, method, body, headers, redirections, connection_type
            )
            return response
        matched = self._routes.match(uri, method, body)
        if matched is None:
            raise UnexpectedRequest(
                f"{method} {uri} is not a method of the {self._routes.api} document; the "
                f"stubber answers only {', '.join(self._routes.by_id)}"
            )
        route, params = matched
        with self._lock:
            if not self._queue:
                raise UnexpectedRequest(
                    f"{route.id} was called with {_params_text(params)}, but no answer is "
                    f"queued; the calls answered before were: {_calls_text(self._calls)}"
                )
            stub = self._queue[0]
            if stub.method != route.id:
                raise UnexpectedRequest(
                    f"{route.id} was called with {_params_text(params)}, but the next queued "
                    f"answer is for {stub.method}; queued: "
                    f"{', '.join(s.method for s in self._queue)}"
                )
            if stub.expected is not None and stub.expected != params:
                raise UnexpectedParams(
                    f"{route.id} was called with {_params_text(params)}, but the queued answer "
                    f"expects {_params_text(stub.expected)}: "
                    f"{_differences(stub.expected, params)}"
                )
            self._queue.pop(0)
            self._calls.append(Call(route.id, params))
        info = {"status": str(stub.status), "content-type": stub.content_type}
        info.update({k.lower(): v for k, v in stub.headers.items()})
        info["content-length"] = str(len(stub.content))
        answer = httplib2.Response(info)
        answer.reason = http.client.responses.get(stub.status, "")
        return answer, stub.content

    # -- checks --------------------------------------------------------------------------

    def _validate(
        self,
        route: Route,
        what: str,
        schema: str | Mapping[str, Any],
        value: Any,
        required: Mapping[str, tuple[str, ...]] | None = None,
        root: str = "$",
    ) -> None:
        try:
            self._validator.validate(schema, value, required=required, **self._lenient)
        except SchemaError as exc:
            named = SchemaError(root + exc.path[1:], exc.problem)
            raise InvalidStub(route.id, what, named) from None

    def _check_expected(self, route: Route, expected: Mapping[str, Any]) -> None:
        request = route.schema("request")
        for name, value in expected.items():
            if name == "body" and request is not None:
                if value is not ANY:
                    self._validate(
                        route, "the expected body", request, _without_any(value), root="body"
                    )
                continue
            spec = self._routes.spec(route, name)
            if spec is None:
                known = [*route.parameters, *(["body"] if request else [])]
                raise ValueError(
                    f"expected_params names {name!r}, which {route.id} does not take; it takes "
                    f"{', '.join(known) or 'no parameters'} (and the standard ones)"
                )
            if value is not ANY:
                self._validate(route, "the expected parameter", spec, value, root=name)
        missing = [
            n for n, s in route.parameters.items() if s.get("required") and n not in expected
        ]
        if missing:
            raise ValueError(
                f"expected_params for {route.id} lack the required parameter(s) "
                f"{', '.join(missing)}: no call can match them"
            )


def _calls_text(calls: list[Call]) -> str:
    return ", ".join(f"{c.method}({_params_text(c.params)})" for c in calls) or "none"
