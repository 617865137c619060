"""Waiting for the user's pick, for asyncio: the poll step and the wait around it, on the same
pure rules as :class:`~picker_discovery.PickerClient` (:mod:`picker_discovery._step`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from picker_discovery._arguments import _session_id_of
from picker_discovery._clock import Clock, asleep
from picker_discovery._step import (
    ENDED,
    READY,
    RETRY,
    PollRules,
    SelectionCheck,
    check_timeout,
    decide,
    due,
    read_session,
)
from picker_discovery._waiting import ended_error
from picker_discovery.models import PickingSession

if TYPE_CHECKING:
    from picker_discovery._retry import RetryPolicy
    from picker_discovery._service_types import SessionsResource

logger = logging.getLogger("picker_discovery._client")

OnPoll = Callable[[PickingSession], "Awaitable[None] | None"]


class _AsyncWaiting:
    """The poll step and the wait of ``AsyncPickerClient``."""

    min_poll_interval: float
    max_poll_interval: float
    fallback_wait: float
    _clock: Clock
    _policies: dict[str, RetryPolicy]
    _sessions: SessionsResource

    async def _execute(
        self, method: str, request: Any, *, session_id: str | None, retry: bool = True
    ) -> Any:
        raise NotImplementedError

    async def _delete_quietly(self, sid: str, cause: BaseException) -> None:
        raise NotImplementedError

    def poll_rules(self) -> PollRules:
        """This client's pacing of a wait, as the poll step takes it."""
        return PollRules(
            min_poll_interval=self.min_poll_interval,
            max_poll_interval=self.max_poll_interval,
            fallback_wait=self.fallback_wait,
            retry=self._policies["sessions.get"],
        )

    async def check_selection(
        self,
        session: PickingSession | str,
        *,
        after: SelectionCheck | None = None,
        timeout: float | timedelta | None = None,
    ) -> SelectionCheck:
        """Check once whether the user has picked; see :meth:`PickerClient.check_selection`.

        Sends one ``sessions.get`` (none once the deadline carried in ``after`` has come) and
        never sleeps.
        """
        sid = _session_id_of(session)
        limit = check_timeout(timeout)
        ended = due(sid, after, self._clock.now(), limit)
        if ended is not None:
            return ended
        outcome: PickingSession | BaseException
        try:
            request = self._sessions.get(sessionId=sid)
            data = await self._execute("sessions.get", request, session_id=sid, retry=False)
            outcome = read_session(sid, data)
        except Exception as exc:
            outcome = exc
        return decide(
            sid, outcome, after=after, now=self._clock.now(), timeout=limit, rules=self.poll_rules()
        )

    async def wait_for_selection(
        self,
        session: PickingSession | str,
        *,
        timeout: float | timedelta | None = None,
        on_poll: OnPoll | None = None,
        delete_on_cancel: bool = True,
    ) -> PickingSession:
        """Poll the session as the server asks until the user has picked; return that state.

        The rules are :meth:`PickerClient.wait_for_selection`'s. ``on_poll`` sees every state
        read (a plain function or a coroutine function).

        To stop waiting, cancel the task: the session is then deleted (the user can no longer
        pick in it, and it stops counting against their open sessions) before the
        cancellation goes on. The delete is shielded: a second cancellation while it runs
        does not stop it (the client's :meth:`aclose` waits for it), and a failure to delete
        is logged, never raised over the cancellation. Pass ``delete_on_cancel=False`` to
        keep the session when you mean to wait on it again (another task, another process,
        or :meth:`check_selection` later); you then delete it yourself. A wait that ends any
        other way (picked, timed out, an error) leaves the session as it is, as
        :meth:`PickerClient.wait_for_selection` does.

        Raises:
            PickingTimeout: the deadline came (``reason`` says which limit set it).
            SessionNotFound, PermissionDenied, PickerHttpError: as :meth:`get_session`.
            asyncio.CancelledError: the task was cancelled (the session was deleted first,
                unless ``delete_on_cancel`` is false).
        """
        sid = _session_id_of(session)
        limit = check_timeout(timeout)
        try:
            return await self._wait(sid, session, limit, on_poll)
        except asyncio.CancelledError as exc:
            if delete_on_cancel:
                logger.info("session %s: the wait was cancelled; deleting the session", sid)
                await self._delete_quietly(sid, exc)
            raise

    async def _wait(
        self,
        sid: str,
        session: PickingSession | str,
        limit: float | None,
        on_poll: OnPoll | None,
    ) -> PickingSession:
        clock = self._clock
        started = clock.monotonic()
        check: SelectionCheck | None = None
        if isinstance(session, PickingSession):
            check = decide(
                sid,
                session,
                after=None,
                now=clock.now(),
                timeout=limit,
                rules=self.poll_rules(),
                polled=False,
            )
        failure: BaseException | None = None
        while True:
            if check is not None:
                if check.status == READY and check.session is not None:
                    logger.info("session %s: picked after %d poll(s)", sid, check.polls)
                    return check.session
                if check.status == ENDED:
                    waited = round(clock.monotonic() - started, 6)
                    raise ended_error(check, waited=waited, failure=failure)
                failure = check.error if check.reason == RETRY else None
                await asleep(clock, check.delay)
            polls = check.polls if check is not None else 0
            check = await self.check_selection(sid, after=check, timeout=limit)
            if on_poll is not None and check.polls > polls and check.session is not None:
                result = on_poll(check.session)
                if result is not None:
                    await result
