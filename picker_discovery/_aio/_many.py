"""Waiting on many sessions at once in one event loop: ``AsyncPickerClient.wait_for_sessions``.

The same :class:`~picker_discovery._schedule.PollSchedule` as the sync waiter (heap of next
polls, jitter, one :class:`~picker_discovery.RateLimit`), driven by one coroutine that starts a
task per due poll (at most ``max_concurrency`` at once) and otherwise sleeps on the client's
clock. A waiting session costs its last check and a place in the heap, no task and no thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Collection
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING

from picker_discovery._clock import asleep
from picker_discovery._errorbase import BadArgument, BadArgumentType
from picker_discovery._many import _rate_limit
from picker_discovery._ratelimit import RateLimit
from picker_discovery._schedule import DEFAULT_JITTER, PollSchedule, WaitOutcome, first_checks
from picker_discovery._step import PollRules, SelectionCheck, check_timeout
from picker_discovery.models import PickingSession

if TYPE_CHECKING:
    from picker_discovery._clock import Clock

__all__ = ["DEFAULT_CONCURRENCY", "AsyncSessionsWait"]

logger = logging.getLogger("picker_discovery._client")

DEFAULT_CONCURRENCY = 32
"""Polls in flight at once by default (the rate cap usually allows far fewer)."""
_CANCEL_CHECK = 0.1

AsyncCheck = Callable[[SelectionCheck], Awaitable[SelectionCheck]]


class AsyncSessionsWait(AsyncIterator[WaitOutcome]):
    """An async iterator over the outcomes of many waits, each as soon as it is known.

    Made by ``AsyncPickerClient.wait_for_sessions``; see
    :meth:`PickerClient.wait_for_sessions` for the outcomes. Stop early with :meth:`cancel`
    (from the event loop's thread), by cancelling the task iterating it, or by leaving an
    ``async with`` block; polls in flight are cancelled, the sessions are left as they are.
    """

    def __init__(
        self, check: AsyncCheck, clock: Clock, schedule: PollSchedule, *, max_concurrency: int
    ) -> None:
        self._check = check
        self._clock = clock
        self._schedule = schedule
        self._limit = max_concurrency
        self._cancelled = False
        self._sleeper: asyncio.Future[None] | None = None
        self._tasks: dict[asyncio.Task[SelectionCheck], SelectionCheck] = {}
        self._steps = self._run()

    def __aiter__(self) -> AsyncSessionsWait:
        return self

    async def __anext__(self) -> WaitOutcome:
        return await self._steps.__anext__()

    async def __aenter__(self) -> AsyncSessionsWait:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def pending(self) -> list[str]:
        """Ids of the sessions not reported yet (being polled, or waiting for a poll)."""
        polling = sorted(after.session_id for after in self._tasks.values())
        return polling + self._schedule.session_ids()

    def cancel(self) -> None:
        """Stop waiting; the iteration ends without reporting the rest."""
        self._cancelled = True
        if self._sleeper is not None:
            self._sleeper.cancel()

    async def aclose(self) -> None:
        """Stop waiting and cancel the polls in flight."""
        self.cancel()
        await self._steps.aclose()

    async def _sleep(self, seconds: float) -> None:
        self._sleeper = asyncio.ensure_future(asleep(self._clock, seconds))
        try:
            await self._sleeper
        except asyncio.CancelledError:
            if not self._cancelled:
                raise  # the iterating task itself was cancelled
        finally:
            self._sleeper = None

    async def _run(self) -> AsyncGenerator[WaitOutcome, None]:
        schedule, clock, tasks = self._schedule, self._clock, self._tasks
        try:
            while (schedule.open or schedule.finished) and not self._cancelled:
                while schedule.finished:
                    yield schedule.finished.popleft()
                    if self._cancelled:
                        return
                now = clock.monotonic()
                for after in schedule.due(now, self._limit - len(tasks)):
                    tasks[asyncio.ensure_future(self._check(after))] = after
                if schedule.finished or not schedule.open:
                    continue
                delay = schedule.wake_in(now, self._limit - len(tasks))
                if not tasks:
                    if delay is not None:
                        await self._sleep(delay)
                    continue
                # A poll's answer wakes us; time passes as it does on this clock.
                done, _ = await asyncio.wait(
                    tasks,
                    timeout=_CANCEL_CHECK if delay is None else min(delay, _CANCEL_CHECK),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                received = clock.monotonic()
                for task in done:
                    after = tasks.pop(task)
                    error = task.exception()
                    check = None if error is not None else task.result()
                    if not isinstance(error, Exception) and error is not None:
                        raise error
                    outcome = schedule.finish(after, received, check, error)
                    if outcome is not None:
                        yield outcome
                        if self._cancelled:
                            return
        finally:
            self._cancelled = True
            for task in tasks:
                task.cancel()
            if tasks:
                with contextlib.suppress(BaseException):
                    await asyncio.gather(*tasks, return_exceptions=True)
            if schedule.open:
                logger.info(
                    "stopped waiting on %d session(s) before they were ready or ended",
                    schedule.open,
                )


def _concurrency(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadArgumentType(f"max_concurrency must be an int, not {value!r}")
    if value < 1:
        raise BadArgument(f"max_concurrency must be at least 1, not {value}")
    return value


class _AsyncManyWaiting:
    """``AsyncPickerClient.wait_for_sessions``."""

    _clock: Clock

    if TYPE_CHECKING:  # AsyncPickerClient's own, from the poll step

        async def check_selection(
            self,
            session: PickingSession | str,
            *,
            after: SelectionCheck | None = None,
            timeout: float | timedelta | None = None,
        ) -> SelectionCheck: ...

        def poll_rules(self) -> PollRules: ...

    def wait_for_sessions(
        self,
        sessions: Collection[PickingSession | str],
        *,
        rate: RateLimit | float | None = None,
        timeout: float | timedelta | None = None,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        jitter: float = DEFAULT_JITTER,
    ) -> AsyncSessionsWait:
        """Wait on many sessions at once; ``async for`` over the result for each one's outcome.

        As :meth:`PickerClient.wait_for_sessions`, in one event loop: at most
        ``max_concurrency`` polls in flight, the rest of the sessions costing no task. Cancel
        with :meth:`AsyncSessionsWait.cancel`, by cancelling the iterating task, or by
        leaving ``async with``.

        Raises (before anything is sent):
            ValueError, TypeError: a session id is invalid or given twice, or a setting is.
        """
        limit = _rate_limit(rate)
        concurrency = _concurrency(max_concurrency)
        seconds = check_timeout(timeout)
        clock = self._clock
        checks = first_checks(sessions, now=clock.now(), timeout=seconds, rules=self.poll_rules())
        schedule = PollSchedule(checks, limit=limit, clock=clock, timeout=seconds, jitter=jitter)

        async def check(after: SelectionCheck) -> SelectionCheck:
            return await self.check_selection(after.session_id, after=after, timeout=seconds)

        return AsyncSessionsWait(check, clock, schedule, max_concurrency=concurrency)
