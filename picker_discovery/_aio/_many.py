"""Waiting on many sessions at once in one event loop: ``AsyncPickerClient.wait_for_sessions``.

The same :class:`~picker_discovery._schedule.PollSchedule` as the sync waiter (heap of next
polls, jitter, one :class:`~picker_discovery.RateLimit`), driven by one coroutine that starts
each due poll itself (at most ``max_concurrency`` at once) and otherwise sleeps on the client's
clock. Each poll runs in a task of its own, started eagerly on Python 3.12+ (a poll that ends in
its first step, on a transport that answers at once, costs no turn of the event loop); before
3.12 the coroutine lets the polls it started take their first step in one turn and takes the
answers of those that ended there in that same turn, without a future to wake on.
Each poll is :class:`~picker_discovery._aio._poll.Poller`'s: ``check_selection``'s step without
re-checking what the wait checked once.

A waiting session costs a place in the heap and its last check with only the timing the next
poll needs (deadline, failures, polls; kept as a tuple the garbage collector does not track),
no task and no thread. The last state read is kept as
the answer's body (a few hundred bytes, not the parsed :class:`PickingSession`, which is ten
times that) and read again only for the session's :class:`WaitOutcome`, so that an outcome
carries the same ``session`` as if the model had been kept.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import sys
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Collection,
    Coroutine,
)
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

from picker_discovery._aio._poll import Poller, read_body
from picker_discovery._clock import asleep
from picker_discovery._errorbase import BadArgument, BadArgumentType
from picker_discovery._many import _rate_limit
from picker_discovery._pacing import MOMENT
from picker_discovery._ratelimit import RateLimit
from picker_discovery._schedule import DEFAULT_JITTER, PollSchedule, WaitOutcome, first_checks
from picker_discovery._step import DELETED, WAIT, PollRules, SelectionCheck, check_timeout
from picker_discovery.models import PickingSession

if TYPE_CHECKING:
    from picker_discovery._clock import Clock
    from picker_discovery._service_types import SessionsResource

__all__ = ["DEFAULT_CONCURRENCY", "AsyncSessionsWait"]

logger = logging.getLogger("picker_discovery._client")

DEFAULT_CONCURRENCY = 32
"""Polls in flight at once by default (the rate cap usually allows far fewer)."""

Answer = tuple[SelectionCheck, bytes | None]
"""What a poll returns: the next check, and the body of the answer it read."""
AsyncPoll = Callable[[SelectionCheck], Coroutine[Any, Any, Answer]]
"""One poll: the check to follow -> the next check, and the body of the answer it read."""
Answered = tuple[SelectionCheck, "Answer | None", "BaseException | None"]
"""A poll that ended: the check it followed, and its answer or what it raised."""
_EAGER = sys.version_info >= (3, 12)
"""Whether a poll's task takes its first step as it is made (``eager_start``)."""
Restore = Callable[[str, bytes], PickingSession]
"""Reads a session's last state again from the body of the answer it came in."""


class AsyncSessionsWait(AsyncIterator[WaitOutcome]):
    """An async iterator over the outcomes of many waits, each as soon as it is known.

    Made by ``AsyncPickerClient.wait_for_sessions``; see
    :meth:`PickerClient.wait_for_sessions` for the outcomes. Stop early with :meth:`cancel`
    (from the event loop's thread), by cancelling the task iterating it, or by leaving an
    ``async with`` block; polls in flight are cancelled, the sessions are left as they are.
    """

    def __init__(
        self,
        poll: AsyncPoll,
        clock: Clock,
        schedule: PollSchedule,
        *,
        max_concurrency: int,
        restore: Restore,
    ) -> None:
        self._poll = poll
        self._restore = restore
        self._bodies: dict[str, bytes] = {}
        self._clock = clock
        self._schedule = schedule
        self._limit = max_concurrency
        self._cancelled = False
        self._sleeping: asyncio.Task[object] | None = None  # the task asleep in _sleep
        self._interrupted = False  # cancel() cancelled that task's sleep
        self._wake: asyncio.Future[None] | None = None  # resolved by a poll's end or cancel()
        self._tasks: dict[str, asyncio.Task[None]] = {}  # polls in flight, by session id
        self._answered: collections.deque[Answered] = collections.deque()  # polls that ended
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
        polling = sorted([*self._tasks, *(after.session_id for after, _, _ in self._answered)])
        return polling + self._schedule.session_ids()

    def cancel(self) -> None:
        """Stop waiting; the iteration ends without reporting the rest."""
        self._cancelled = True
        self._wake_up()
        sleeping = self._sleeping
        if sleeping is not None and not self._interrupted and sleeping is not _current_task():
            self._interrupted = True
            sleeping.cancel()

    async def aclose(self) -> None:
        """Stop waiting and cancel the polls in flight."""
        self.cancel()
        await self._steps.aclose()

    async def _sleep(self, seconds: float) -> None:
        """Sleep on the client's clock in the iterating task itself (no task per sleep);
        :meth:`cancel` from elsewhere cuts it short by cancelling that task, and the
        cancellation is taken back here (a cancellation of the task by anyone else goes on)."""
        task = asyncio.current_task()
        self._sleeping = task
        try:
            await asleep(self._clock, seconds)
        except asyncio.CancelledError:
            if not self._interrupted:
                raise  # the iterating task itself was cancelled
            uncancel = getattr(task, "uncancel", None)  # Python 3.11+
            if uncancel is not None:
                uncancel()
        finally:
            self._sleeping = None
            self._interrupted = False

    def _start(self, after: SelectionCheck, loop: asyncio.AbstractEventLoop) -> bool:
        """Poll ``after``'s session in a task of its own. From Python 3.12 the task starts
        eagerly: its first step runs here, as the task, and a poll that ends there (a
        transport that answers at once) costs no turn of the event loop. Before 3.12 the first
        step cannot run here: the poll would start in the waiting task and go on in another,
        and httpcore's connection locks (anyio's, held per task) would take the waiting task
        for the owner of a lock the poll took.

        Returns whether the task is yet to take its first step (before 3.12)."""
        coro = self._polled(after)
        if sys.version_info >= (3, 12):  # as _EAGER, spelled so that type checkers see it
            task: asyncio.Task[None] = asyncio.Task(coro, loop=loop, eager_start=True)
        else:
            task = loop.create_task(coro)
        if not task.done():  # else it has handed its answer on already
            self._tasks[after.session_id] = task
        return not _EAGER

    async def _polled(self, after: SelectionCheck) -> None:
        """A poll's task: poll, then hand the answer or the exception to the iteration and
        wake it (the poll itself, not a callback of its task, so that the iteration learns of
        it one turn of the event loop sooner). A cancellation or ``KeyboardInterrupt`` ends
        the task as well, and the iteration raises it."""
        try:
            answer = await self._poll(after)
        except Exception as exc:
            self._hand_on(after, None, exc)
        except BaseException as exc:
            self._hand_on(after, None, exc)
            raise
        else:
            self._hand_on(after, answer, None)

    def _hand_on(
        self, after: SelectionCheck, answer: Answer | None, error: BaseException | None
    ) -> None:
        self._tasks.pop(after.session_id, None)
        self._answered.append((after, answer, error))
        self._wake_up()

    def _wake_up(self) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    async def _answer(self, timeout: float | None) -> None:
        """Wait until a poll ends, :meth:`cancel`, or ``timeout`` (seconds, real time as on
        the event loop: a poll's answer is what moves time on a fake clock)."""
        loop = asyncio.get_running_loop()
        self._wake = wake = loop.create_future()
        timer = None if timeout is None else loop.call_later(timeout, self._wake_up)
        try:
            await wake
        finally:
            self._wake = None
            if timer is not None:
                timer.cancel()

    def _keep(self, check: SelectionCheck, body: bytes | None) -> bool:
        """Whether to keep a waiting ``check``'s session state until its next poll: not
        when the body it was read from is kept instead."""
        if check.status != WAIT or check.session is None or body is None:
            return True
        self._bodies[check.session_id] = body
        return False

    def _reported(self, outcome: WaitOutcome) -> WaitOutcome:
        """``outcome`` with the last state read, when only its body was kept."""
        body = self._bodies.pop(outcome.session_id, None)
        if body is None or outcome.session is not None or outcome.reason == DELETED:
            return outcome
        session = self._restore(outcome.session_id, body)
        check = dataclasses.replace(outcome.check, session=session)
        return dataclasses.replace(outcome, session=session, check=check)

    async def _run(self) -> AsyncGenerator[WaitOutcome, None]:
        schedule, clock, tasks, answered = self._schedule, self._clock, self._tasks, self._answered
        loop = asyncio.get_running_loop()
        try:
            while (schedule.open or schedule.finished) and not self._cancelled:
                while schedule.finished:
                    yield self._reported(schedule.finished.popleft())
                    if self._cancelled:
                        return
                if answered:
                    received = clock.monotonic()
                    while answered:
                        after, result, error = answered.popleft()
                        if error is not None and not isinstance(error, Exception):
                            raise error  # a poll cancelled, or KeyboardInterrupt
                        if result is None:
                            outcome = schedule.finish(after, received, None, error)
                        else:
                            check, body = result
                            keep = self._keep(check, body)
                            outcome = schedule.finish(after, received, check, keep_state=keep)
                        if outcome is not None:
                            yield self._reported(outcome)
                            if self._cancelled:
                                return
                now = clock.monotonic()
                started = False
                for after in schedule.due(now, self._limit - len(tasks)):
                    started = self._start(after, loop) or started
                if started:
                    # Before 3.12 a poll's task takes its first step at the loop's next turn:
                    # let it, and take the answers of the polls that ended there (a transport
                    # that answers at once) in that same turn, without a future to wake on.
                    # When the next poll is only a moment (MOMENT) away, that turn is the
                    # first of the sleep until it (one turn a poll less at a high rate): an
                    # answer that comes meanwhile is taken when the sleep ends, soon enough.
                    delay = schedule.wake_in(now, self._limit - len(tasks))
                    if delay is not None and 0 < delay <= MOMENT and not schedule.finished:
                        await self._sleep(delay)
                    else:
                        await asyncio.sleep(0)
                    continue
                if answered or schedule.finished or not schedule.open:
                    continue
                delay = schedule.wake_in(now, self._limit - len(tasks))
                if not tasks:
                    if delay is not None:
                        await self._sleep(delay)
                    continue
                await self._answer(delay)  # a poll's answer, a free token, or cancel()
        finally:
            self._cancelled = True
            polls = list(tasks.values())
            for task in polls:
                task.cancel()
            if polls:
                with contextlib.suppress(BaseException):
                    await asyncio.gather(*polls, return_exceptions=True)
            if schedule.open:
                logger.info(
                    "stopped waiting on %d session(s) before they were ready or ended",
                    schedule.open,
                )


def _current_task() -> asyncio.Task[object] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running event loop in this thread
        return None


def _concurrency(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadArgumentType(f"max_concurrency must be an int, not {value!r}")
    if value < 1:
        raise BadArgument(f"max_concurrency must be at least 1, not {value}")
    return value


class _AsyncManyWaiting:
    """``AsyncPickerClient.wait_for_sessions``."""

    _clock: Clock

    if TYPE_CHECKING:  # AsyncPickerClient's own: the poll step's rules, sending

        def poll_rules(self) -> PollRules: ...

        _sessions: SessionsResource

        async def _execute(
            self, method: str, request: Any, *, session_id: str | None, retry: bool = True
        ) -> Any: ...

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

        poll = Poller(self._execute, self._sessions, clock, self.poll_rules(), seconds)

        def restore(session_id: str, body: bytes) -> PickingSession:
            return read_body(poll.template, session_id, body)

        return AsyncSessionsWait(
            poll, clock, schedule, max_concurrency=concurrency, restore=restore
        )
