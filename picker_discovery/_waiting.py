"""Waiting for the user's pick: :meth:`PickerClient.check_selection` (one poll step, which never
sleeps), :meth:`PickerClient.wait_for_selection`, a loop around it, and
:meth:`PickerClient.wait_for_sessions`, many such waits on a few threads. The rules of all three
are the pure functions of :mod:`picker_discovery._step`; the many-sessions waiter is
:mod:`picker_discovery._many`.

A client imports the poll step, the scheduler and the thread pool on its first wait, not when
it is built: most programs create a session, and a process that only lists or cleans up never
waits (tests/e2e/test_lazy_imports.py keeps it so, bench/cold_start.py measures it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from datetime import timedelta
from typing import TYPE_CHECKING

from picker_discovery._arguments import _session_id_of
from picker_discovery._errors_session import PickingCancelled, PickingTimeout
from picker_discovery._execute import _Executing
from picker_discovery._pacing import (
    DEFAULT_JITTER,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_WORKERS,
    FALLBACK_WAIT,
    MAX_POLL_INTERVAL,
    MIN_POLL_INTERVAL,
)
from picker_discovery.models import PickingSession

if TYPE_CHECKING:
    from picker_discovery._many import SessionsWait
    from picker_discovery._ratelimit import RateLimit
    from picker_discovery._step import PollRules, SelectionCheck

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "FALLBACK_WAIT",
    "MAX_POLL_INTERVAL",
    "MIN_POLL_INTERVAL",
    "ended_error",
]

# The client's one logger: what users configure for PickerClient, whichever module logs.
logger = logging.getLogger("picker_discovery._client")


def ended_error(
    check: SelectionCheck, *, waited: float, failure: BaseException | None = None
) -> BaseException:
    """The exception a wait raises for an ended check: the ``SessionNotFound`` of a session
    gone, else :class:`PickingTimeout` (caused by the failure whose retry the deadline cut
    short, if any)."""
    from picker_discovery._step import DELETED

    if check.reason == DELETED and check.error is not None:
        return check.error
    error = PickingTimeout(
        check.session_id, check.reason or "timeout", waited=waited, polls=check.polls
    )
    error.__cause__ = check.error if check.error is not None else failure
    return error


class _Waiting(_Executing):
    """:meth:`PickerClient.check_selection`, :meth:`PickerClient.wait_for_selection` and
    :meth:`PickerClient.wait_for_sessions`."""

    min_poll_interval: float
    max_poll_interval: float
    fallback_wait: float

    def poll_rules(self) -> PollRules:
        """This client's pacing of a wait (its poll interval bounds, ``fallback_wait`` and the
        retry policy of ``sessions.get``), as the poll step takes it."""
        from picker_discovery._step import PollRules

        return PollRules(
            min_poll_interval=self.min_poll_interval,
            max_poll_interval=self.max_poll_interval,
            fallback_wait=self.fallback_wait,
            retry=self._policies["sessions.get"],
        )

    def check_selection(
        self,
        session: PickingSession | str,
        *,
        after: SelectionCheck | None = None,
        timeout: float | timedelta | None = None,
    ) -> SelectionCheck:
        """Check once whether the user has picked, and say what to do next. Never sleeps.

        Sends one ``sessions.get`` (none when the deadline carried in ``after`` has come) and
        returns a :class:`SelectionCheck`: ``status`` is ``"ready"`` (list the items),
        ``"wait"`` (check again in ``delay`` seconds, passing this check as ``after=``) or
        ``"ended"`` (``reason`` says why: ``"timeout"``, ``"timeoutIn"``, ``"expireTime"``,
        ``"fallback"``, or ``"deleted"`` when the session is gone). A failure the retry policy
        would retry is a wait too (reason ``"retry"``, the policy's backoff), counted in the
        check so that attempts stay bounded. The deadline is fixed at the first check as
        :meth:`wait_for_selection` fixes it, and ``timeout`` counts from the first check; the
        check serializes with :meth:`SelectionCheck.to_dict` to carry it across processes.

        Raises:
            TypeError, ValueError: an argument is invalid (``after`` is not a waiting check
                of this session); nothing was sent.
            PermissionDenied, PickerHttpError: an error answer that is not retried, or whose
                retries are spent, as :meth:`get_session` raises it.
        """
        from picker_discovery._step import check_timeout, decide, due, read_session

        sid = _session_id_of(session)
        limit = check_timeout(timeout)
        ended = due(sid, after, self._clock.now(), limit)
        if ended is not None:
            return ended
        outcome: PickingSession | BaseException
        try:
            request = self._sessions.get(sessionId=sid)
            data = self._execute("sessions.get", request, session_id=sid, retry=False)
            outcome = read_session(sid, data)
        except Exception as exc:
            outcome = exc
        return decide(
            sid, outcome, after=after, now=self._clock.now(), timeout=limit, rules=self.poll_rules()
        )

    def wait_for_selection(
        self,
        session: PickingSession | str,
        *,
        timeout: float | timedelta | None = None,
        on_poll: Callable[[PickingSession], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> PickingSession:
        """Poll the session as the server asks until the user has picked; return that state.

        Polls ``sessions.get`` every ``pollingConfig.pollInterval`` of the latest answer, kept
        between ``min_poll_interval`` and ``max_poll_interval``; a missing, unreadable, zero or
        negative interval means every :data:`DEFAULT_POLL_INTERVAL` seconds. Given a
        :class:`PickingSession` (say, from :meth:`create_session`), its polling config paces
        the first poll; given an id, the first poll is immediate. ``on_poll`` sees every state
        read. Setting ``cancel`` (from any thread) stops the wait promptly. Each poll is one
        :meth:`check_selection`.

        The deadline is fixed when the wait starts: the earliest of ``timeout``, the first
        answer's ``timeoutIn`` and its ``expireTime`` (or, when none of them is known,
        ``fallback_wait`` seconds). A later answer can bring it closer (a ``timeoutIn`` of 0
        stops the wait), never push it back, so a server whose ``timeoutIn`` never counts down
        still ends the wait. A timing field that cannot be read is ignored (and logged) rather
        than ending the wait, so the user's pick is not lost to it. A failed poll is retried
        as the client's policy says, but never past the deadline.

        Raises:
            PickingTimeout: the deadline came (``reason`` says which limit set it:
                ``"timeout"``, ``"timeoutIn"``, ``"expireTime"`` or ``"fallback"``).
            PickingCancelled: ``cancel`` was set.
            SessionNotFound, PermissionDenied, PickerHttpError: as :meth:`get_session`.
        """
        from picker_discovery._step import ENDED, READY, RETRY, check_timeout, decide

        sid = _session_id_of(session)
        limit = check_timeout(timeout)
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

        def stop_if_cancelled() -> None:
            if cancel is not None and cancel.is_set():
                polls = check.polls if check is not None else 0
                raise PickingCancelled(sid, waited=clock.monotonic() - started, polls=polls)

        while True:
            stop_if_cancelled()
            if check is not None:
                if check.status == READY and check.session is not None:
                    logger.info("session %s: picked after %d poll(s)", sid, check.polls)
                    return check.session
                if check.status == ENDED:
                    # To the microsecond, the resolution of the deadline (a UTC datetime).
                    waited = round(clock.monotonic() - started, 6)
                    raise ended_error(check, waited=waited, failure=failure)
                failure = check.error if check.reason == RETRY else None
                self._sleep(check.delay, cancel)
                stop_if_cancelled()
            polls = check.polls if check is not None else 0
            check = self.check_selection(sid, after=check, timeout=limit)
            if on_poll is not None and check.polls > polls and check.session is not None:
                on_poll(check.session)

    def wait_for_sessions(
        self,
        sessions: Collection[PickingSession | str],
        *,
        rate: RateLimit | float | None = None,
        timeout: float | timedelta | None = None,
        max_workers: int = DEFAULT_WORKERS,
        jitter: float = DEFAULT_JITTER,
        cancel: threading.Event | None = None,
    ) -> SessionsWait:
        """Wait on many sessions at once; iterate the result for each one's outcome.

        Every session is polled at its own ``pollInterval`` (plus up to ``jitter`` of it at
        random, so sessions made together spread out) by the same poll step as
        :meth:`wait_for_selection`, so each keeps its own deadline, interval bounds and
        retries. All polls share one request-rate cap, ``rate``: a :class:`RateLimit` (share
        one between waits to cap them together) or requests a second (default 10, burst 1).
        ``max_workers`` threads send the polls; the iterating thread schedules them.

        Yields one :class:`WaitOutcome` per session, as soon as it is known: ready (picked),
        ended (``reason`` as the poll step says: timed out, expired, deleted) or failed (a poll
        raised ``error``; the other sessions go on). ``timeout`` limits each session's wait
        from now, like ``wait_for_selection``'s. Setting ``cancel``, calling
        :meth:`SessionsWait.cancel` or leaving a ``with`` block stops the wait promptly; the
        sessions are not deleted (they are the caller's).

        Raises (before anything is sent):
            ValueError, TypeError: a session id is invalid or given twice, or a setting is.
        """
        from picker_discovery._many import wait_for_sessions

        return wait_for_sessions(
            self.check_selection,
            self.poll_rules,
            self._clock,
            sessions,
            rate=rate,
            timeout=timeout,
            max_workers=max_workers,
            jitter=jitter,
            cancel=cancel,
        )
