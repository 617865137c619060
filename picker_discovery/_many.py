"""Waiting on many sessions at once with a few threads: what :meth:`PickerClient.wait_for_sessions`
runs. The client imports this module (and the scheduler and thread pool under it) on the first
such wait, not when it is built.

One scheduler (the thread iterating the results) keeps a heap of next-poll times
(:class:`~picker_discovery._schedule.PollSchedule`) and hands due polls to a small pool of
threads, each sending one ``sessions.get`` through the poll step (``check_selection``). However
many sessions are waited on, the process runs ``max_workers`` threads more, never one per
session, and sends no more than its :class:`~picker_discovery.RateLimit` allows.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
from collections.abc import Callable, Collection, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING

from picker_discovery._errorbase import BadArgument, BadArgumentType
from picker_discovery._pacing import DEFAULT_WORKERS
from picker_discovery._ratelimit import RateLimit
from picker_discovery._schedule import PollSchedule, WaitOutcome, first_checks
from picker_discovery._step import PollRules, SelectionCheck, check_timeout

if TYPE_CHECKING:
    from picker_discovery._clock import Clock
    from picker_discovery.models import PickingSession

__all__ = ["DEFAULT_WORKERS", "SessionsWait", "wait_for_sessions"]

logger = logging.getLogger("picker_discovery._client")

_CANCEL_CHECK = 0.1
"""Seconds between looks at a ``cancel`` event while polls are in flight (a set event wakes an
idle scheduler at once)."""

Check = Callable[[SelectionCheck], SelectionCheck]
"""One poll: the check to follow -> the next check (the client's ``check_selection``)."""


def _rate_limit(rate: RateLimit | float | None) -> RateLimit:
    if rate is None:
        return RateLimit()
    if isinstance(rate, RateLimit):
        return rate
    return RateLimit(rate)


def _workers(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadArgumentType(f"max_workers must be an int, not {value!r}")
    if value < 1:
        raise BadArgument(f"max_workers must be at least 1, not {value}")
    return value


class SessionsWait(Iterator[WaitOutcome]):
    """An iterator over the outcomes of many waits, each as soon as it is known.

    Made by :meth:`PickerClient.wait_for_sessions`. Iterate it for one
    :class:`WaitOutcome` per session, ready ones as soon as a poll sees the pick. Stop early
    with :meth:`cancel` (from any thread: the iteration ends promptly) or :meth:`close` (from
    the iterating thread; also what leaving a ``with`` block does). Cancelling leaves the
    sessions as they are; :attr:`pending` names those not reported.
    """

    def __init__(
        self,
        check: Check,
        clock: Clock,
        schedule: PollSchedule,
        *,
        max_workers: int,
        cancel: threading.Event | None,
    ) -> None:
        self._check = check
        self._clock = clock
        self._schedule = schedule
        self._workers = max_workers
        self._cancel = cancel if cancel is not None else threading.Event()
        self._wake = threading.Event()
        self._answers: collections.deque[
            tuple[SelectionCheck, float, SelectionCheck | None, BaseException | None]
        ] = collections.deque()
        self._in_flight: set[str] = set()
        self._steps = self._run()

    def __iter__(self) -> SessionsWait:
        return self

    def __next__(self) -> WaitOutcome:
        return next(self._steps)

    def __enter__(self) -> SessionsWait:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def pending(self) -> list[str]:
        """Ids of the sessions not reported yet (being polled, or waiting for a poll)."""
        return sorted(self._in_flight) + self._schedule.session_ids()

    def cancel(self) -> None:
        """Stop waiting, from any thread; the iteration ends without reporting the rest."""
        self._cancel.set()
        self._wake.set()

    def close(self) -> None:
        """Stop waiting and let the pool's threads go. From another thread while the iteration
        runs, this is :meth:`cancel`: the iteration then ends (and lets them go) by itself."""
        self.cancel()
        with contextlib.suppress(ValueError):  # "generator already executing": another thread
            self._steps.close()

    def _poll(self, after: SelectionCheck) -> None:
        check: SelectionCheck | None = None
        error: BaseException | None = None
        try:
            check = self._check(after)
        except Exception as exc:
            error = exc
        self._answers.append((after, self._clock.monotonic(), check, error))
        self._wake.set()

    def _run(self) -> Generator[WaitOutcome, None, None]:
        schedule, clock, cancel = self._schedule, self._clock, self._cancel
        pool = ThreadPoolExecutor(self._workers, thread_name_prefix="picker-discovery-wait")
        try:
            while (schedule.open or schedule.finished) and not cancel.is_set():
                while schedule.finished:
                    yield schedule.finished.popleft()
                    if cancel.is_set():
                        return
                while self._answers:
                    after, received, check, error = self._answers.popleft()
                    self._in_flight.discard(after.session_id)
                    outcome = schedule.finish(after, received, check, error)
                    if outcome is not None:
                        yield outcome
                        if cancel.is_set():
                            return
                now = clock.monotonic()
                for after in schedule.due(now, self._workers - len(self._in_flight)):
                    self._in_flight.add(after.session_id)
                    pool.submit(self._poll, after)
                if self._answers or schedule.finished or not schedule.open:
                    continue
                delay = schedule.wake_in(now, self._workers - len(self._in_flight))
                if self._in_flight:
                    # A poll's answer wakes us; time passes as it does on this clock.
                    self._wake.wait(_CANCEL_CHECK if delay is None else min(delay, _CANCEL_CHECK))
                    self._wake.clear()
                elif delay is not None:
                    clock.sleep(delay, cancel)
        finally:
            self._cancel.set()
            pool.shutdown(wait=False, cancel_futures=True)
            if schedule.open:
                logger.info(
                    "stopped waiting on %d session(s) before they were ready or ended",
                    schedule.open,
                )


def wait_for_sessions(
    check_selection: Callable[..., SelectionCheck],
    poll_rules: Callable[[], PollRules],
    clock: Clock,
    sessions: Collection[PickingSession | str],
    *,
    rate: RateLimit | float | None,
    timeout: float | timedelta | None,
    max_workers: int,
    jitter: float,
    cancel: threading.Event | None,
) -> SessionsWait:
    """:meth:`PickerClient.wait_for_sessions` of a client whose ``check_selection``,
    ``poll_rules`` and clock these are; every argument is checked before anything is sent."""
    limit = _rate_limit(rate)
    workers = _workers(max_workers)
    seconds = check_timeout(timeout)
    checks = first_checks(sessions, now=clock.now(), timeout=seconds, rules=poll_rules())
    schedule = PollSchedule(checks, limit=limit, clock=clock, timeout=seconds, jitter=jitter)

    def check(after: SelectionCheck) -> SelectionCheck:
        return check_selection(after.session_id, after=after, timeout=seconds)

    return SessionsWait(check, clock, schedule, max_workers=workers, cancel=cancel)
