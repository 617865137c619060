"""The poll step: one answer of ``sessions.get`` (or its failure), the state carried from the
checks before it, and the time now, turned into what to do next.

Everything here is pure: no request, no sleep, no clock of its own. The synchronous client,
the asyncio client and whatever polls many sessions at once (threads, an event loop, a task
queue) send the request their own way and hand the outcome to :func:`decide`, so the waiting
rules live in one place:

- The deadline is fixed at the first check: the earliest of the caller's ``timeout`` (counted
  from the first check), the first answer's ``timeoutIn`` and its ``expireTime``; when none of
  them is known, ``fallback_wait`` seconds after the first check. A later answer may bring it
  closer (a ``timeoutIn`` of 0 ends the wait), never push it back.
- Polls are spaced by the latest answer's ``pollInterval``, kept within the client's bounds; a
  missing, unreadable, zero or negative one means every :data:`DEFAULT_POLL_INTERVAL` seconds.
  A wait whose next poll would come at or after the deadline waits for the deadline instead,
  and the check after it ends without asking the server.
- A failure the retry policy calls transient is a wait of the policy's backoff (reason
  ``"retry"``), its count carried so that attempts stay bounded; a ``NOT_FOUND`` ends the wait
  (reason ``"deleted"``); anything else is raised.

The deadline is wall-clock UTC (from the client's clock), so a check serialized with
:meth:`SelectionCheck.to_dict` and read back in another process keeps its deadline.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from picker_discovery._pacing import (
    DEFAULT_POLL_INTERVAL,
    FALLBACK_WAIT,
    MAX_POLL_INTERVAL,
    MIN_POLL_INTERVAL,
)
from picker_discovery._retry import RetryPolicy, is_transport_error
from picker_discovery.errors import (
    BadArgument,
    BadArgumentType,
    MalformedResponse,
    PickerHttpError,
    SessionNotFound,
)
from picker_discovery.models import PickingSession, PollingConfig

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "FALLBACK_WAIT",
    "MAX_POLL_INTERVAL",
    "MIN_POLL_INTERVAL",
    "PollRules",
    "SelectionCheck",
    "check_timeout",
    "decide",
    "decided",
    "due",
    "ended_by_deadline",
    "read_session",
]

# The client's one logger: what users configure for PickerClient, whichever module logs.
logger = logging.getLogger("picker_discovery._client")

READY: Literal["ready"] = "ready"
WAIT: Literal["wait"] = "wait"
ENDED: Literal["ended"] = "ended"
RETRY = "retry"
DELETED = "deleted"

_SLACK = 1e-3
"""A deadline less than a millisecond away counts as come: the wait to a deadline is measured
on one clock and the deadline on another, and rounding must not cost an extra poll."""
_FORMAT = 1


def check_timeout(value: object) -> float | None:
    """``timeout`` as seconds (a number or a ``timedelta``), or None; checked before sending."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadArgumentType(f"timeout must be seconds (a number) or a timedelta, not {value!r}")
    if math.isnan(value) or value < 0:
        raise BadArgument(f"timeout must not be negative, not {value}")
    return float(value)


@dataclass(frozen=True)
class PollRules:
    """A client's pacing of a wait: the bounds of ``pollInterval``, the limit of a wait nothing
    else limits, and the retry policy of ``sessions.get``."""

    min_poll_interval: float = MIN_POLL_INTERVAL
    max_poll_interval: float = MAX_POLL_INTERVAL
    fallback_wait: float = FALLBACK_WAIT
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def poll_interval(self, state: PickingSession) -> float:
        """Seconds to the next poll: the server's ``pollInterval`` within these bounds."""
        config = state.polling_config
        seconds = None
        if config is not None and config.poll_interval is not None:
            seconds = config.poll_interval.total_seconds()
        if seconds is None or not seconds > 0:
            logger.debug(
                "session %s: no usable pollInterval (%s); polling every %g s",
                state.id,
                seconds,
                DEFAULT_POLL_INTERVAL,
            )
            seconds = DEFAULT_POLL_INTERVAL
        return min(max(seconds, self.min_poll_interval), self.max_poll_interval)


@dataclass(frozen=True, slots=True)
class SelectionCheck:
    """What one check of a session says to do next, and the state the next check needs.

    Attributes:
        session_id: the session checked.
        status: ``"ready"`` (the user has picked: list the items), ``"wait"`` (check again
            after ``delay`` seconds, passing this check as ``after=``) or ``"ended"`` (stop:
            ``reason`` says why).
        delay: seconds to wait before the next check; more than 0 only when waiting.
        reason: when ended, ``"timeout"`` (the caller's), ``"timeoutIn"`` (the server's),
            ``"expireTime"``, ``"fallback"`` (nothing else limited the wait) or
            ``"deleted"`` (the session is gone); when waiting after a transient failure,
            ``"retry"``; otherwise None.
        session: the latest state of the session read (None before any was read, or once
            it is gone).
        started: when the first check was made (UTC).
        deadline: when the wait ends (UTC), and ``deadline_reason`` which limit set it; None
            until the first answer or a timeout fixed it.
        failures: failed checks in a row (the retry policy's attempt count).
        polls: answers read so far.
        error: the failure behind a ``"retry"`` wait or a ``"deleted"`` end, in this process
            only (not serialized, not compared).
    """

    session_id: str
    status: Literal["ready", "wait", "ended"]
    delay: float
    reason: str | None
    session: PickingSession | None
    started: datetime
    deadline: datetime | None = None
    deadline_reason: str | None = None
    failures: int = 0
    polls: int = 0
    error: BaseException | None = field(default=None, compare=False, repr=False)

    @property
    def ready(self) -> bool:
        return self.status == READY

    @property
    def ended(self) -> bool:
        return self.status == ENDED

    def to_dict(self) -> dict[str, Any]:
        """This check as plain JSON, to carry to the next check in another process."""
        return {
            "format": _FORMAT,
            "session_id": self.session_id,
            "status": self.status,
            "delay": self.delay,
            "reason": self.reason,
            "session": self.session.to_dict() if self.session is not None else None,
            "started": self.started.isoformat(),
            "deadline": self.deadline.isoformat() if self.deadline is not None else None,
            "deadline_reason": self.deadline_reason,
            "failures": self.failures,
            "polls": self.polls,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SelectionCheck:
        """A check from :meth:`to_dict`'s output (say, after a JSON round trip).

        Raises:
            BadArgument: ``data`` is not a check this version wrote; the message says which
                field is wrong.
        """
        if not isinstance(data, Mapping):
            raise BadArgumentType(f"a SelectionCheck is read from a mapping, not {data!r}")
        if data.get("format") != _FORMAT:
            raise BadArgument(
                f"not a SelectionCheck of format {_FORMAT} (format {data.get('format')!r}): "
                "pass what SelectionCheck.to_dict() returned"
            )
        status = data.get("status")
        if status not in (READY, WAIT, ENDED):
            raise BadArgument(f"SelectionCheck status must be ready, wait or ended: {status!r}")
        session = data.get("session")
        return cls(
            session_id=_field(data, "session_id", str),
            status=status,
            delay=float(_field(data, "delay", (int, float))),
            reason=_field(data, "reason", str, optional=True),
            session=PickingSession.from_dict(session) if session is not None else None,
            started=_time(data, "started"),
            deadline=_time(data, "deadline", optional=True),
            deadline_reason=_field(data, "deadline_reason", str, optional=True),
            failures=_field(data, "failures", int),
            polls=_field(data, "polls", int),
        )


def _field(data: Mapping[str, Any], name: str, kind: Any, *, optional: bool = False) -> Any:
    value = data.get(name)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise BadArgument(f"SelectionCheck field {name!r} is not valid: {value!r}")
    return value


def _time(data: Mapping[str, Any], name: str, *, optional: bool = False) -> Any:
    text = _field(data, name, str, optional=optional)
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise BadArgument(f"SelectionCheck field {name!r} is not an aware ISO time: {text!r}")
    return when


def read_session(session_id: str, data: Mapping[str, Any]) -> PickingSession:
    """A polled session; timing fields that cannot be read (``pollInterval``, ``timeoutIn``,
    ``expireTime``) are dropped with a warning, so that a bad one cannot end a wait and lose
    the user's pick. Any other malformed field still raises :class:`MalformedResponse`."""
    try:
        return PickingSession.from_dict(data)
    except MalformedResponse as exc:
        problem = exc
    readable = dict(data)
    dropped: list[str] = []
    config = data.get("pollingConfig")
    if isinstance(config, Mapping):
        kept = {}
        for name, value in config.items():
            try:
                PollingConfig.from_dict({name: value})
            except MalformedResponse:
                dropped.append(f"pollingConfig.{name}")
            else:
                kept[name] = value
        readable["pollingConfig"] = kept
    elif config is not None:
        dropped.append("pollingConfig")
        del readable["pollingConfig"]
    if "expireTime" in data:
        try:
            PickingSession.from_dict({"expireTime": data["expireTime"]})
        except MalformedResponse:
            dropped.append("expireTime")
            del readable["expireTime"]
    if not dropped:
        raise problem
    state = PickingSession.from_dict(readable)
    logger.warning(
        "session %s: ignoring what cannot be read in sessions.get's answer (%s: %s); "
        "waiting as if it were not there",
        session_id,
        ", ".join(dropped),
        problem,
    )
    return state


def _later(start: datetime, seconds: float) -> datetime | None:
    """``start`` plus ``seconds``, or None when that is past any date (no limit at all)."""
    try:
        return start + timedelta(seconds=seconds)
    except OverflowError:
        return None


def _after(start: datetime, span: timedelta) -> datetime | None:
    """``start`` plus ``span``, or None when that is past any date (no limit at all)."""
    try:
        return start + span
    except OverflowError:
        return None


def _earliest(
    current: tuple[datetime | None, str | None], when: datetime | None, reason: str
) -> tuple[datetime | None, str | None]:
    """The earlier of two limits; on a tie the reason that sorts first, as a tuple would."""
    if when is None:
        return current
    if current[0] is None:
        return when, reason
    return min((current[0], current[1] or ""), (when, reason))


def _check_after(session_id: str, after: SelectionCheck | None) -> None:
    if after is None:
        return
    if not isinstance(after, SelectionCheck):
        raise BadArgumentType(f"after must be the SelectionCheck before, not {after!r}")
    if after.session_id != session_id:
        raise BadArgument(
            f"after is a check of session {after.session_id!r}, not of {session_id!r}"
        )
    if after.status != WAIT:
        raise BadArgument(
            f"session {session_id!r}: the check passed as after= said {after.status!r}, so "
            "there is nothing to check next; start a new wait without after="
        )


def due(
    session_id: str, after: SelectionCheck | None, now: datetime, timeout: float | None
) -> SelectionCheck | None:
    """The check that ends a wait without asking the server, when the deadline carried in
    ``after`` (or the caller's ``timeout`` from its first check) has come; else None.

    Raises:
        BadArgument: ``after`` is not a waiting check of this session.
    """
    _check_after(session_id, after)
    return None if after is None else ended_by_deadline(after, now, timeout)


def ended_by_deadline(
    after: SelectionCheck, now: datetime, timeout: float | None
) -> SelectionCheck | None:
    """:func:`due` for a waiting check known to be one (a schedule's own)."""
    deadline = (after.deadline, after.deadline_reason)
    if timeout is not None:
        deadline = _earliest(deadline, _later(after.started, timeout), "timeout")
    when, reason = deadline
    if when is None or (when - now).total_seconds() > _SLACK:
        return None
    return SelectionCheck(
        after.session_id,
        ENDED,
        0.0,
        reason,
        after.session,
        after.started,
        when,
        reason,
        after.failures,
        after.polls,
    )


def decide(
    session_id: str,
    outcome: PickingSession | BaseException,
    *,
    after: SelectionCheck | None,
    now: datetime,
    timeout: float | None = None,
    rules: PollRules | None = None,
    polled: bool = True,
) -> SelectionCheck:
    """The check that follows one ``sessions.get``: its answer (read with
    :func:`read_session`) or the exception sending it raised.

    ``after`` is the check before (None for the first), ``now`` the client's UTC time when the
    outcome came, ``timeout`` the caller's limit in seconds from the first check. With
    ``polled=False`` the answer was not read by this check (a session handed to the wait) and
    is not counted as a poll.

    Raises:
        the ``outcome`` exception itself, when the rules do not make it a wait or an end: not
        a transport failure or a status the retry policy retries, or its attempts are spent.
        BadArgument: ``after`` is not a waiting check of this session.
    """
    _check_after(session_id, after)
    rules = rules if rules is not None else PollRules()
    return decided(session_id, outcome, after, now, timeout, rules, polled)


def decided(
    session_id: str,
    outcome: PickingSession | BaseException,
    after: SelectionCheck | None,
    now: datetime,
    timeout: float | None,
    rules: PollRules,
    polled: bool = True,
) -> SelectionCheck:
    """:func:`decide` after a check known to be a waiting one of this session (a schedule's
    own, or one checked before)."""
    if after is None:
        started, deadline, reason, polls = now, None, None, 0
    else:
        started, deadline, reason = after.started, after.deadline, after.deadline_reason
        polls = after.polls
    if timeout is not None:
        deadline, reason = _earliest((deadline, reason), _later(started, timeout), "timeout")

    if isinstance(outcome, BaseException):
        return _failed(session_id, outcome, after, now, rules, (started, deadline, reason, polls))

    state = outcome
    if polled:
        polls += 1
    if state.media_items_set:
        return SelectionCheck(
            session_id, READY, 0.0, None, state, started, deadline, reason, 0, polls
        )
    config = state.polling_config
    if config is not None and config.timeout_in is not None:
        deadline, reason = _earliest(
            (deadline, reason), _after(now, config.timeout_in), "timeoutIn"
        )
    if state.expire_time is not None:
        deadline, reason = _earliest((deadline, reason), state.expire_time, "expireTime")
    if deadline is None:
        deadline, reason = _later(started, rules.fallback_wait), "fallback"
        logger.info(
            "session %s: no timeout, timeoutIn or expireTime; waiting at most %g s",
            session_id,
            rules.fallback_wait,
        )
    left = _left(deadline, now)
    if left <= 0:
        return SelectionCheck(
            session_id, ENDED, 0.0, reason, state, started, deadline, reason, 0, polls
        )
    delay = min(rules.poll_interval(state), left)
    return SelectionCheck(session_id, WAIT, delay, None, state, started, deadline, reason, 0, polls)


def _failed(
    session_id: str,
    error: BaseException,
    after: SelectionCheck | None,
    now: datetime,
    rules: PollRules,
    carried: tuple[datetime, datetime | None, str | None, int],
) -> SelectionCheck:
    """:func:`decide` for a poll that raised ``error``: an end, a retry, or ``error`` raised."""
    started, deadline, reason, polls = carried
    last = after.session if after is not None else None
    if isinstance(error, SessionNotFound):
        logger.info("session %s: gone while waiting (NOT_FOUND)", session_id)
        return SelectionCheck(
            session_id, ENDED, 0.0, DELETED, None, started, deadline, reason, 0, polls, error
        )
    failures = (after.failures if after is not None else 0) + 1
    delay = _retry_delay(rules.retry, failures, error, now)
    if delay is None:
        raise error
    left = _left(deadline, now)
    if left <= 0:
        return SelectionCheck(
            session_id, ENDED, 0.0, reason, last, started, deadline, reason, failures, polls, error
        )
    logger.warning(
        "sessions.get for session %s failed (%s), attempt %d of %d; checking again in %.1f s",
        session_id,
        _why(error),
        failures,
        rules.retry.max_attempts,
        min(delay, left),
    )
    return SelectionCheck(
        session_id, WAIT, min(delay, left), RETRY, last, started, deadline, reason, failures,
        polls, error,
    )  # fmt: skip


def _left(deadline: datetime | None, now: datetime) -> float:
    """Seconds to the deadline (``inf`` with none); a deadline within the slack has come."""
    if deadline is None:
        return math.inf
    left = (deadline - now).total_seconds()
    return left if left > _SLACK else 0.0


def _retry_delay(
    policy: RetryPolicy, failures: int, error: BaseException, now: datetime
) -> float | None:
    if isinstance(error, PickerHttpError):
        return policy.retry_delay(failures, status=error.code, headers=error.resp, now=now)
    if isinstance(error, Exception) and is_transport_error(error):
        return policy.retry_delay(failures, exception=error, now=now)
    return None


def _why(error: BaseException) -> str:
    if isinstance(error, PickerHttpError):
        return f"HTTP {error.code} {error.status or ''}".rstrip()
    return type(error).__name__
