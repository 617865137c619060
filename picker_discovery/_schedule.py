"""When to poll which session, for a wait on many at once: a heap of next-poll times, jitter,
and one shared :class:`RateLimit`. No threads, no sockets, no sleeping.

The sync waiter (:mod:`picker_discovery._many`, a small pool of threads) and the async one (a
bounded set of tasks) both drive this one :class:`PollSchedule`: ask :meth:`~PollSchedule.due`
for what to send now, :meth:`~PollSchedule.wake_in` for how long to wait before asking again,
and hand every poll's answer to :meth:`~PollSchedule.finish`, which either re-schedules the
session at its own ``pollInterval`` (plus jitter) or says it is done with a
:class:`WaitOutcome`. The waiting rules of one session (deadline, interval bounds, retries)
stay in the poll step, ``check_selection``.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from picker_discovery._arguments import _session_id_of
from picker_discovery._clock import Clock
from picker_discovery._errorbase import BadArgument, BadArgumentType
from picker_discovery._pacing import DEFAULT_JITTER, MOMENT
from picker_discovery._ratelimit import RateLimit
from picker_discovery._step import (
    READY,
    WAIT,
    PollRules,
    SelectionCheck,
    decide,
    ended_by_deadline,
)
from picker_discovery.models import PickingSession

__all__ = ["DEFAULT_JITTER", "PollSchedule", "WaitOutcome", "first_checks"]

Status = Literal["ready", "ended", "failed"]
_Kept = tuple[
    Literal["ready", "wait", "ended"],
    float,
    "str | None",
    datetime,
    "datetime | None",
    "str | None",
    int,
    int,
]
"""A waiting check without session state or error, as its fields from ``status`` on."""


@dataclass(frozen=True)
class WaitOutcome:
    """How the wait for one of many sessions ended.

    Attributes:
        session_id: the session.
        status: ``"ready"`` (the user picked: list its items), ``"ended"`` (no pick will come;
            ``reason`` says why) or ``"failed"`` (a poll raised ``error``).
        reason: when ended, as the poll step says it: ``"timeout"``, ``"timeoutIn"``,
            ``"expireTime"``, ``"fallback"`` or ``"deleted"``; else None.
        session: the session's last state read, or None if none was.
        error: when failed, the exception the poll raised (a
            :class:`~picker_discovery.PickerHttpError`, a network error, ...); else None.
        polls: answers read for this session (a ``PickingSession`` handed in not counted).
        check: the session's last :class:`~picker_discovery.SelectionCheck` (for a failed
            one, the check before the poll that raised).
    """

    session_id: str
    status: Status
    reason: str | None
    session: PickingSession | None
    error: BaseException | None
    polls: int
    check: SelectionCheck

    @property
    def ready(self) -> bool:
        """Whether the user picked."""
        return self.status == "ready"


def first_checks(
    sessions: Iterable[PickingSession | str],
    *,
    now: datetime,
    timeout: float | None,
    rules: PollRules,
) -> list[SelectionCheck]:
    """The check each session's wait starts from, all started ``now`` (UTC).

    A :class:`PickingSession` (say, from ``create_session``) is read as a first answer that
    was not polled: its own ``pollInterval`` paces its first poll, its ``timeoutIn`` and
    ``expireTime`` set its deadline. An id is polled at once. Either way ``timeout`` counts from
    ``now``, however long the rate cap holds a first poll back.

    Raises:
        ValueError, TypeError: an id is invalid, or a session is given twice.
    """
    if isinstance(sessions, (str, PickingSession)):
        raise BadArgumentType(
            "sessions must be a collection of sessions or ids; for one session use "
            "wait_for_selection"
        )
    checks: list[SelectionCheck] = []
    seen: set[str] = set()
    for item in sessions:
        sid = _session_id_of(item)
        if sid in seen:
            raise BadArgument(f"session {sid!r} is given twice; wait on each session once")
        seen.add(sid)
        if isinstance(item, PickingSession):
            check = decide(
                sid, item, after=None, now=now, timeout=timeout, rules=rules, polled=False
            )
        else:
            check = SelectionCheck(sid, WAIT, 0.0, None, None, now)
        checks.append(check)
    return checks


def _check_jitter(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadArgumentType(f"jitter must be a number (a fraction, e.g. 0.1), not {value!r}")
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise BadArgument(
            f"jitter must be between 0 and 1 (a fraction of the interval), not {value}"
        )
    return float(value)


def _unpacked(session_id: str, kept: _Kept) -> SelectionCheck:
    """The check a waiting session was kept as (``_Kept``: its fields from ``status`` on)."""
    status, delay, reason, started, deadline, deadline_reason, failures, polls = kept
    return SelectionCheck(
        session_id, status, delay, reason, None, started, deadline, deadline_reason,
        failures, polls,
    )  # fmt: skip


def _outcome(check: SelectionCheck, error: BaseException | None = None) -> WaitOutcome:
    if error is not None:
        return WaitOutcome(
            check.session_id, "failed", None, check.session, error, check.polls, check
        )
    status: Status = "ready" if check.status == READY else "ended"
    reason = check.reason if status == "ended" else None
    return WaitOutcome(check.session_id, status, reason, check.session, None, check.polls, check)


class PollSchedule:
    """The next poll of every session still waited on, in time order, under one rate cap.

    Args:
        checks: the check each session starts from (:func:`first_checks`). A waiting one is
            polled after its ``delay`` (plus jitter); one already ready or ended is reported
            without a poll.
        limit: the rate cap every poll takes a token from.
        clock: the waiter's clock: its monotonic time is the ``now`` of every method, its UTC
            time decides when a session's deadline has come.
        timeout: the caller's timeout, seconds from each session's first check, or None.
        jitter: up to this fraction of each interval is added at random.
        random: returns a float in [0, 1); replace it to make jitter predictable.

    Sessions whose deadline has come end without a poll, and so without a token: the rate cap
    never holds back the end of a wait.
    """

    def __init__(
        self,
        checks: Iterable[SelectionCheck],
        *,
        limit: RateLimit,
        clock: Clock,
        timeout: float | None = None,
        jitter: float = DEFAULT_JITTER,
        random: Callable[[], float] = random.random,
    ) -> None:
        self._limit = limit
        self._clock = clock
        self._timeout = timeout
        self._jitter = _check_jitter(jitter)
        self._random = random
        self._order = itertools.count()
        # The heap holds (time of the next poll, order, session id), and the checks are kept
        # apart by id, those without a session state or an error as a tuple of their fields
        # (_Kept): numbers, strings and datetimes only, which the garbage collector stops
        # tracking. At thousands of waiting sessions, a poll then leaves nothing for it.
        self._heap: list[tuple[float, int, str]] = []
        self._waiting: dict[str, SelectionCheck | _Kept] = {}
        # The first in line that found no token, and when: asked again at that same time, it
        # still finds none (its deadline was checked then), so due() answers at once.
        self._held: tuple[float, int, str] | None = None
        self._held_at = math.nan
        self.finished: collections.deque[WaitOutcome] = collections.deque()
        """Outcomes known without a poll (ready or ended at the start, or a deadline come),
        for the waiter to report; :meth:`finish` returns the others."""
        now = clock.monotonic()
        for check in checks:
            if check.status == WAIT:
                self._push(now + self._jittered(check.delay), check)
            else:
                self.finished.append(_outcome(check))
        self._open = len(self._heap)  # sessions not yet reported

    def _jittered(self, delay: float) -> float:
        return delay * (1.0 + self._jitter * self._random()) if delay > 0 else 0.0

    def _push(self, when: float, check: SelectionCheck, keep_state: bool = True) -> None:
        sid = check.session_id
        if check.error is None and (check.session is None or not keep_state):
            self._waiting[sid] = (
                check.status,
                check.delay,
                check.reason,
                check.started,
                check.deadline,
                check.deadline_reason,
                check.failures,
                check.polls,
            )
        else:
            self._waiting[sid] = check
        heapq.heappush(self._heap, (when, next(self._order), sid))

    def _check(self, session_id: str) -> SelectionCheck:
        """The check kept for ``session_id``, kept as a check from now on: its turn has come
        (it is polled or ended soon)."""
        kept = self._waiting[session_id]
        if isinstance(kept, SelectionCheck):
            return kept
        check = self._waiting[session_id] = _unpacked(session_id, kept)
        return check

    def checks(self) -> dict[str, SelectionCheck]:
        """The check of every scheduled session, by id (as :meth:`due` would hand it out)."""
        return {
            sid: kept if isinstance(kept, SelectionCheck) else _unpacked(sid, kept)
            for sid, kept in self._waiting.items()
        }

    @property
    def timeout(self) -> float | None:
        """The caller's timeout, to pass to every check."""
        return self._timeout

    @property
    def open(self) -> int:
        """Sessions not yet reported by :meth:`finish` or in :attr:`finished`."""
        return self._open

    @property
    def scheduled(self) -> int:
        """Sessions waiting for their next poll (not being polled now)."""
        return len(self._heap)

    def session_ids(self) -> list[str]:
        """The ids of the scheduled sessions, soonest poll first."""
        return [session_id for _, _, session_id in sorted(self._heap)]

    def due(self, now: float, free: int) -> list[SelectionCheck]:
        """What to poll now: the due sessions' last checks (pass each as ``after=``), at most
        ``free`` of them, each with a token of the rate cap taken. Due sessions whose deadline
        has come go to :attr:`finished` instead, without a token."""
        taken: list[SelectionCheck] = []
        heap = self._heap
        if not heap or heap[0][0] > now or (heap[0] is self._held and now == self._held_at):
            return taken  # nothing due, or the same first in line at the same time, no token
        wall = self._clock.now()
        waiting = self._waiting
        while heap and heap[0][0] <= now:
            entry = heap[0]
            check = self._check(entry[2])
            ended = ended_by_deadline(check, wall, self._timeout)
            if ended is not None:
                heapq.heappop(heap)
                del waiting[entry[2]]
                self._open -= 1
                self.finished.append(_outcome(ended))
                continue
            if len(taken) >= free:
                break  # no slot: the rest wait
            if self._limit.try_acquire(now) > 0:
                self._held, self._held_at = entry, now  # no token yet: the rest wait
                break
            heapq.heappop(heap)
            del waiting[entry[2]]
            taken.append(check)
        return taken

    def wake_in(self, now: float, free: int) -> float | None:
        """Seconds until :meth:`due` may have something again, or None when only a poll's
        answer can change that (nothing scheduled, or no ``free`` slot to poll in).

        When the next poll is due a :data:`MOMENT` or less before the rate cap's next token,
        the wait is until the token (the poll cannot go sooner): one wake-up instead of two,
        and a deadline that comes meanwhile ends its wait at most a moment late."""
        if not self._heap or free <= 0:
            return None
        until_due = self._heap[0][0] - now
        token = self._limit.wait_time(now)
        if until_due <= 0 or until_due < token <= until_due + MOMENT:
            return token
        return until_due

    def finish(
        self,
        after: SelectionCheck,
        now: float,
        check: SelectionCheck | None = None,
        error: BaseException | None = None,
        *,
        keep_state: bool = True,
    ) -> WaitOutcome | None:
        """Take the answer of the poll made ``after`` a check: the new ``check``, or the
        ``error`` it raised; ``now`` is when it came. With ``keep_state=False`` a waiting
        check is kept without its session state (the caller keeps what it needs of it), and
        handed back by :meth:`due` with ``session`` None.

        Returns the session's outcome when it is done (ready, ended, or failed with
        ``error``); else schedules its next poll after the check's delay (plus jitter) and
        returns None.
        """
        if check is None or error is not None:
            self._open -= 1
            return _outcome(after, error or RuntimeError("the poll returned nothing"))
        if check.status == WAIT:
            self._push(now + self._jittered(check.delay), check, keep_state)
            return None
        self._open -= 1
        return _outcome(check)
