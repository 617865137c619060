"""Waiting for the user's pick: the deadline rules, the spacing of polls, and the timing
fields of an answer that are ignored rather than fatal when they cannot be read."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from picker_discovery._arguments import _session_id_of
from picker_discovery._execute import _Executing, _RetryPastDeadline
from picker_discovery.errors import (
    BadArgument,
    BadArgumentType,
    MalformedResponse,
    PickingCancelled,
    PickingTimeout,
)
from picker_discovery.models import PickingSession, PollingConfig

# The client's one logger: what users configure for PickerClient, whichever module logs.
logger = logging.getLogger("picker_discovery._client")

DEFAULT_POLL_INTERVAL = 5.0
"""Seconds between polls when an answer carries no usable ``pollingConfig.pollInterval``
(missing, unreadable, zero or negative): Google's own answers say 3 to 5 s."""
MIN_POLL_INTERVAL = 0.1
"""The shortest wait between polls, whatever the server says, so a tiny interval never spins.
At most ten requests a second from one wait: far inside Google's quota of 100,000 requests a
minute per project, and short enough for an emulator's quick test sessions (which ask 0.1 s)."""
MAX_POLL_INTERVAL = 60.0
"""The longest wait between polls, whatever the server says: a user who tapped Done is noticed
within a minute, and a wait never sleeps for an absurd interval (``"315576000000s"``)."""
FALLBACK_WAIT = 1800.0
"""How long a wait lasts when nothing else limits it: no ``timeout`` from the caller, and no
``timeoutIn`` or ``expireTime`` in the session's first answer. 30 minutes, the longest
``timeoutIn`` seen from Google."""


def _check_timeout(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadArgumentType(f"timeout must be seconds (a number) or a timedelta, not {value!r}")
    if math.isnan(value) or value < 0:
        raise BadArgument(f"timeout must not be negative, not {value}")
    return float(value)


def _without_unreadable_timing(session_id: str, data: Mapping[str, Any]) -> PickingSession:
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


class _Waiting(_Executing):
    """:meth:`PickerClient.wait_for_selection` and its polls."""

    min_poll_interval: float
    max_poll_interval: float
    fallback_wait: float

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
        read. Setting ``cancel`` (from any thread) stops the wait promptly.

        The deadline is fixed when the wait starts: the earliest of ``timeout``, the first
        answer's ``timeoutIn`` and its ``expireTime`` (or, when none of them is known,
        ``fallback_wait`` seconds). A later answer can bring it closer (a ``timeoutIn`` of 0
        stops the wait), never push it back, so a server whose ``timeoutIn`` never counts down
        still ends the wait. A timing field that cannot be read is ignored (and logged) rather
        than ending the wait, so the user's pick is not lost to it.

        Raises:
            PickingTimeout: the deadline came (``reason`` says which limit set it:
                ``"timeout"``, ``"timeoutIn"``, ``"expireTime"`` or ``"fallback"``).
            PickingCancelled: ``cancel`` was set.
            SessionNotFound, PermissionDenied, PickerHttpError: as :meth:`get_session`.
        """
        sid = _session_id_of(session)
        limit = _check_timeout(timeout)
        clock = self._clock
        started = clock.monotonic()
        state = session if isinstance(session, PickingSession) else None
        polls = 0
        received = started
        deadline = (started + limit, "timeout") if limit is not None else (math.inf, "")
        fixed = False  # whether the first answer has set the deadline

        def check_cancel() -> None:
            if cancel is not None and cancel.is_set():
                raise PickingCancelled(sid, waited=clock.monotonic() - started, polls=polls)

        while True:
            check_cancel()
            if state is None:
                try:
                    state = self._poll(sid, cancel, deadline[0])
                except PickingCancelled:  # while a failed poll waited for its retry
                    raise PickingCancelled(
                        sid, waited=clock.monotonic() - started, polls=polls
                    ) from None
                except _RetryPastDeadline as exc:  # a failed poll's retry would come too late
                    self._sleep(max(0.0, deadline[0] - clock.monotonic()), cancel)
                    check_cancel()
                    raise PickingTimeout(
                        sid, deadline[1], waited=clock.monotonic() - started, polls=polls
                    ) from exc.__cause__
                received = clock.monotonic()
                polls += 1
                if on_poll is not None:
                    on_poll(state)
            if state.media_items_set:
                logger.info("session %s: picked after %d poll(s)", sid, polls)
                return state
            deadline = min([deadline, *self._session_deadlines(state, received)])
            if not fixed and deadline[0] == math.inf:
                deadline = (started + self.fallback_wait, "fallback")
                logger.info(
                    "session %s: no timeout, timeoutIn or expireTime; waiting at most %g s",
                    sid,
                    self.fallback_wait,
                )
            fixed = True
            next_poll = received + self._poll_interval(state)
            now = clock.monotonic()
            if now >= deadline[0]:
                raise PickingTimeout(sid, deadline[1], waited=now - started, polls=polls)
            if next_poll >= deadline[0]:
                self._sleep(deadline[0] - now, cancel)
                check_cancel()
                now = clock.monotonic()
                raise PickingTimeout(sid, deadline[1], waited=now - started, polls=polls)
            self._sleep(next_poll - now, cancel)
            state = None

    def _poll(self, sid: str, cancel: threading.Event | None, until: float) -> PickingSession:
        """One ``sessions.get`` for the wait, retried only while the deadline allows;
        unreadable timing fields are dropped, not fatal."""
        request = self._sessions.get(sessionId=sid)
        data = self._execute(
            "sessions.get",
            request,
            session_id=sid,
            cancel=cancel,
            until=until if until < math.inf else None,
        )
        return _without_unreadable_timing(sid, data)

    def _session_deadlines(self, state: PickingSession, received: float) -> list[tuple[float, str]]:
        """When the session's own limits run out, on the monotonic clock."""
        deadlines = []
        config = state.polling_config
        if config is not None and config.timeout_in is not None:
            deadlines.append((received + config.timeout_in.total_seconds(), "timeoutIn"))
        if state.expire_time is not None:
            left = (state.expire_time - self._clock.now()).total_seconds()
            deadlines.append((self._clock.monotonic() + left, "expireTime"))
        return deadlines

    def _poll_interval(self, state: PickingSession) -> float:
        """Seconds to the next poll: the server's ``pollInterval`` within this client's bounds."""
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
