"""One poll of one of many sessions, for ``AsyncPickerClient.wait_for_sessions``: the poll step
of ``check_selection`` with what a wait on thousands of sessions should not pay for every poll.

- The ``sessions.get`` request is made from a template: googleapiclient builds one request
  from the discovery document (method, URL, headers, the model that reads the answer), and each
  poll copies it with the session's id in the path. Only ids made of URI-unreserved characters
  (letters, digits, ``-._~``, as Google's and the emulator's are) take this path: the discovery
  document's ``{sessionId}`` expansion leaves them as they are, so the URL is the one
  googleapiclient would build; any other id is built by googleapiclient itself.
- The ids, the timeout and the client's poll rules were checked once, when the wait began,
  and each check's deadline by the schedule as it handed the check out.
- The answer's body is handed back beside the check, so that the waiter can keep a few hundred
  bytes between polls instead of the parsed :class:`~picker_discovery.PickingSession`, and read
  the last state again only for the session's outcome (:func:`read_body`). Only a body read
  whole is handed back (one whose unreadable timing fields were dropped is not: its state is
  kept as read).

The waiting rules themselves stay in :mod:`picker_discovery._step` (:func:`decided`, the
rules of :func:`decide` without its check of ``after``), shared with ``check_selection``.
"""

from __future__ import annotations

import re
import types
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from picker_discovery._execute import _json_object
from picker_discovery._step import PollRules, SelectionCheck, decided, read_session
from picker_discovery.errors import MalformedResponse
from picker_discovery.models import PickingSession

if TYPE_CHECKING:
    from picker_discovery._clock import Clock
    from picker_discovery._service_types import SessionsResource

__all__ = ["GetTemplate", "Poller", "read_body"]

_PLAIN_ID = re.compile(r"[A-Za-z0-9._~-]+")
"""Ids a URI template expands to themselves (RFC 6570: unreserved characters only)."""
_PROBE = "picker-discovery-session-id-probe"

Execute = Callable[..., Awaitable[Any]]
"""``AsyncPickerClient._execute``: send under the method's policy, raise domain errors."""


class _Get:
    """A ``sessions.get`` request as the async client's sender and ``read_answer`` use it:
    ``method``, ``uri``, ``headers``, ``body``, ``methodId`` and ``postproc``; ``postproc``
    also keeps the body it read (``content``)."""

    __slots__ = ("_read", "content", "headers", "method", "methodId", "uri")

    body = None

    def __init__(self, uri: str, template: Any) -> None:
        self.uri = uri
        self.method = template.method
        self.methodId = template.methodId
        self.headers = template.headers
        self._read = template.postproc
        self.content: bytes | None = None

    def postproc(self, resp: Any, content: bytes) -> Any:
        self.content = content
        return self._read(resp, content)


class GetTemplate:
    """``sessions.get`` requests for any session id, made from one googleapiclient request."""

    def __init__(self, sessions: SessionsResource) -> None:
        self._sessions = sessions
        probe: Any = sessions.get(sessionId=_PROBE)
        parts = str(probe.uri).split(_PROBE)
        self._parts: tuple[str, str] | None = None
        if len(parts) == 2 and probe.body is None:
            self._parts = (parts[0], parts[1])
        self._template = types.SimpleNamespace(
            method=probe.method,
            methodId=probe.methodId,
            headers=types.MappingProxyType(dict(probe.headers)),
            postproc=probe.postproc,
        )
        model = getattr(probe.postproc, "__self__", None)
        self._deserialize: Callable[[bytes], Any] | None = getattr(model, "deserialize", None)

    def request(self, session_id: str) -> Any:
        """The request for ``session_id`` (checked already: a valid session id)."""
        if self._parts is None or not _PLAIN_ID.fullmatch(session_id):
            return self._sessions.get(sessionId=session_id)
        head, tail = self._parts
        return _Get(head + session_id + tail, self._template)

    def deserialize(self, content: bytes) -> Any:
        """The JSON value of an answer's body, read as the request's model reads it."""
        if self._deserialize is not None:
            return self._deserialize(content)
        import json

        return json.loads(content)


def read_body(template: GetTemplate, session_id: str, content: bytes) -> PickingSession:
    """The session state a poll read from ``content`` (its answer's body), read again.

    Only bodies read whole (every field readable, none dropped) are kept, so this is a view
    over the JSON that reads each field on first access, as it was read then: the same values,
    without reading and checking every field a second time."""
    data = _json_object(template.deserialize(content), "sessions.get", session_id)
    return PickingSession.from_answer(data)


def _read_state(session_id: str, data: Mapping[str, Any]) -> tuple[PickingSession, bool]:
    """:func:`read_session`'s state, and whether it was read whole: False when a timing
    field it could not read was dropped (and the body may not be read again as it came).

    Every field is checked now, as :func:`read_session` checks it (a malformed one fails the
    poll, with the same message), but only the fields the poll step reads are made."""
    try:
        return PickingSession._checked(data), True
    except MalformedResponse:
        return read_session(session_id, data), False


class Poller:
    """Polls of a wait on many sessions: ``await poller(after)`` is
    ``client.check_selection(after.session_id, after=after, timeout=timeout)`` (the same
    request, rules and outcome) plus the answer's body (None when nothing was read, or a
    timing field of it could not be read and was dropped), for an ``after`` that
    :class:`~picker_discovery._schedule.PollSchedule` handed out: a waiting check of its
    session whose deadline it found not come (so it is not checked again)."""

    def __init__(
        self,
        execute: Execute,
        sessions: SessionsResource,
        clock: Clock,
        rules: PollRules,
        timeout: float | None,
    ) -> None:
        self._execute = execute
        self._template = GetTemplate(sessions)
        self._clock = clock
        self._rules = rules
        self._timeout = timeout

    @property
    def template(self) -> GetTemplate:
        return self._template

    async def __call__(self, after: SelectionCheck) -> tuple[SelectionCheck, bytes | None]:
        sid = after.session_id
        outcome: PickingSession | BaseException
        request = self._template.request(sid)
        whole = False
        try:
            data: Mapping[str, Any] = await self._execute(
                "sessions.get", request, session_id=sid, retry=False
            )
            outcome, whole = _read_state(sid, data)
        except Exception as exc:
            outcome = exc
        check = decided(sid, outcome, after, self._clock.now(), self._timeout, self._rules)
        return check, getattr(request, "content", None) if whole else None
