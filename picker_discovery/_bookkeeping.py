"""What both clients (:class:`PickerClient` and the asyncio client) keep and check around
their calls, with no I/O of its own beyond the journal: the retry policies per method, the
journal of sessions made and not yet deleted, and the arguments and answer of
``sessions.create``."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from googleapiclient.http import HttpRequest

from picker_discovery._arguments import _check_int, _check_request_id
from picker_discovery._clock import Clock
from picker_discovery._errorbase import BadArgument, BadArgumentType, MalformedResponse
from picker_discovery._journal import SessionJournal, parse_time
from picker_discovery._retry import RetryPolicy
from picker_discovery._service import PickerRequest
from picker_discovery.models import PickingConfig, PickingSession

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

    from picker_discovery._service_types import SessionsResource

# The client's one logger: what users configure for PickerClient, whichever module logs.
logger = logging.getLogger("picker_discovery._client")

__all__ = [
    "MAX_ITEM_COUNT",
    "METHODS",
    "CreateRequests",
    "create_params",
    "read_created",
    "resolve_policies",
]

MAX_ITEM_COUNT = 2000
METHODS = ("sessions.create", "sessions.get", "sessions.delete", "mediaItems.list")


def resolve_policies(
    retry: RetryPolicy | Mapping[str, RetryPolicy] | None,
) -> dict[str, RetryPolicy]:
    """The retry policy of each method from a client's ``retry=`` argument."""
    if retry is None or isinstance(retry, RetryPolicy):
        policy = retry or RetryPolicy()
        return dict.fromkeys(METHODS, policy)
    unknown = set(retry) - set(METHODS)
    if unknown:
        raise BadArgument(
            f"retry names unknown methods {sorted(unknown)}; known: {', '.join(METHODS)}"
        )
    return {method: retry.get(method, RetryPolicy()) for method in METHODS}


def create_params(max_item_count: int | None, request_id: uuid.UUID | str | None) -> dict[str, Any]:
    """The checked arguments of ``sessions.create``; raises before anything is sent."""
    body: dict[str, Any] = {}
    if max_item_count is not None:
        count = _check_int("max_item_count", max_item_count, 1, MAX_ITEM_COUNT)
        body["pickingConfig"] = PickingConfig(max_item_count=count).to_dict()
    params: dict[str, Any] = {"body": body}
    if request_id is not None:
        params["requestId"] = _check_request_id(request_id)
    return params


class CreateRequests:
    """``sessions.create`` requests for a client: googleapiclient builds one for the
    arguments (method, URL, headers, the JSON body, the model that reads the answer) and each
    create with the same arguments sends a copy of it, which costs a small part of building
    the request again from the discovery document.

    Only googleapiclient's own request classes are copied (a ``requestBuilder`` of the
    caller's gets a fresh request every time), and only for creates without a ``requestId``:
    those are the same request every time. ``execute`` adds headers and response callbacks to
    the request it sends, so each copy has its own.
    """

    def __init__(self, sessions: SessionsResource) -> None:
        self._sessions = sessions
        self._last: tuple[dict[str, Any], Any] | None = None

    def request(self, max_item_count: int | None, request_id: uuid.UUID | str | None) -> Any:
        """The request to create a session; raises before anything is sent on bad input."""
        params = create_params(max_item_count, request_id)
        if request_id is not None:
            return self._sessions.create(**params)
        last = self._last  # one read: another thread may replace it meanwhile
        if last is not None and last[0] == params["body"]:
            return _copy_request(last[1])
        request = self._sessions.create(**params)
        if type(request) in _COPYABLE:
            self._last = (params["body"], request)
            return _copy_request(request)
        return request


def _copy_request(template: Any) -> Any:
    """A request as ``template`` is, with its own headers and callbacks (the containers
    ``execute`` adds to); sending may replace its other attributes but never changes them."""
    request = object.__new__(type(template))
    request.__dict__.update(template.__dict__)
    request.headers = dict(template.headers)
    request.response_callbacks = []
    return request


_COPYABLE = (HttpRequest, PickerRequest)


def read_created(data: Mapping[str, Any], sid: str | None) -> PickingSession:
    """The session a create answered; :class:`MalformedResponse` when it names none that can
    be polled or deleted (``sid`` is :func:`_usable_id` of the answer). Every field is checked
    now (a session it cannot use is deleted at once), each value made when first read."""
    session = PickingSession._checked(data)
    if sid is None:
        if not session.id:
            raise MalformedResponse(
                "sessions.create answered without a session id; nothing can be polled "
                "or deleted. Check the endpoint the client talks to"
            )
        raise MalformedResponse(
            f"sessions.create answered a session id that cannot name a session "
            f"({session.id!r}); it cannot be polled or deleted. Check the endpoint the "
            "client talks to"
        )
    return session


class _Bookkeeping:
    """The journal of a client (a base of both clients)."""

    _credentials: Credentials | None
    _journal: SessionJournal | None
    _endpoint: str
    _clock: Clock

    def _resolve_journal(
        self, journal: SessionJournal | str | os.PathLike[str] | bool | None
    ) -> SessionJournal | None:
        if journal is None or journal is True:
            return SessionJournal.from_environment(account=self._account_label())
        if journal is False:
            return None
        if isinstance(journal, SessionJournal):
            return journal
        if isinstance(journal, (str, os.PathLike)):
            return SessionJournal(journal, account=self._account_label())
        raise BadArgumentType(
            f"journal must be a SessionJournal, a path or a bool, not {journal!r}"
        )

    def _account_label(self) -> str | None:
        """Who the credentials are, when they say so (a service account's e-mail): never a
        token."""
        for name in ("service_account_email", "account"):
            value = getattr(self._credentials, name, None)
            if isinstance(value, str) and value:
                return value
        return None

    def _journal_account(self, journal: SessionJournal) -> str | None:
        return journal.account if journal.account is not None else self._account_label()

    @property
    def journal(self) -> SessionJournal | None:
        """The journal of sessions this client created and has not deleted, or None."""
        return self._journal

    def _journal_record(self, sid: str, data: Mapping[str, Any]) -> None:
        if self._journal is None:
            return
        try:
            self._journal.record(
                sid,
                self._endpoint,
                created=self._clock.now(),
                expires=parse_time(data.get("expireTime")),
                account=self._journal_account(self._journal),
            )
        except (OSError, ValueError) as exc:
            logger.warning(
                "could not note session %s in the session journal %s (%s); a cleanup will not "
                "know it if this process is killed before deleting it",
                sid,
                self._journal.path,
                exc,
            )

    def _journal_forget(self, sid: str) -> None:
        if self._journal is None:
            return
        try:
            self._journal.forget(sid, self._endpoint)
        except (OSError, ValueError) as exc:
            logger.warning(
                "could not note the deletion of session %s in the session journal %s (%s)",
                sid,
                self._journal.path,
                exc,
            )
