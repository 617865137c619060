"""RateLimit: one request-rate cap shared by everything that sends under it (a token bucket).

Google allows about 100,000 Picker API requests a minute per project, and answers 429 (then
asks for 30 s of quiet) past it. A process waiting on many sessions at once spends its requests
through one :class:`RateLimit`, so however many sessions it holds, it sends at most ``rate``
requests a second once its ``burst`` is spent::

    limit = RateLimit(rate=10, burst=1)
    delay = limit.try_acquire(clock.monotonic())   # 0.0: a token was taken, send now
    if delay:                                      # else: seconds until one is free
        ...

The bucket never sleeps by itself (the waiters schedule around :meth:`try_acquire`, sync and
async alike); :meth:`acquire` is the blocking form for a caller of its own.

Why not a library: aiolimiter is asyncio-only and reads the event loop's clock; pyrate-limiter
(sync and async) sleeps on the real clock itself and says whether, not when, a permit comes. The
waiters need "when is the next token" on the client's :class:`~picker_discovery.Clock`, so that
tests and benchmarks run it on a :class:`~picker_discovery.FakeClock`: that is the few lines of
GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp) below.
"""

from __future__ import annotations

import logging
import math
import numbers
import threading

from picker_discovery._clock import Clock, SystemClock
from picker_discovery._errorbase import BadArgument, BadArgumentType

__all__ = ["DEFAULT_BURST", "DEFAULT_RATE", "GOOGLE_QUOTA_PER_MINUTE", "RateLimit"]

logger = logging.getLogger(__name__)

GOOGLE_QUOTA_PER_MINUTE = 100_000
"""Google's Picker API quota: requests a minute for one Cloud project (all its processes)."""
DEFAULT_RATE = 10.0
"""Requests a second one waiter sends by default: 600 a minute, 0.6 % of the project's quota,
so about 160 processes can each wait at full pace before a project comes near it. At Google's
usual 5 s pollInterval that keeps 50 sessions polled on time; more sessions are each polled a
little less often rather than pushing the project into 429s. Raise it for more."""
DEFAULT_BURST = 1
"""Requests that may go back to back by default: one, so no second ever holds more than
``rate`` requests."""

# Each token comes this hair (one part in a million) later than 1 / rate, so rounding in float
# arithmetic or in a clock never lets one request more into a window than promised.
_SLACK = 1.0 + 1e-6


def _positive_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise BadArgumentType(f"{name} must be a number, not {value!r}")
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise BadArgument(f"{name} must be a positive, finite number, not {value}")
    return number


class RateLimit:
    """A token bucket: at most ``burst`` requests at once, then ``rate`` requests a second.

    In any window of ``t`` seconds it lets through at most :meth:`most_in` ``(t)`` =
    ``burst - 1 + ceil(rate * t)`` requests; with the default ``burst`` of 1 no second holds
    more than ``rate``. Thread-safe: share one between threads, and between the waiters of one
    process, to cap them together. Times are seconds on one monotonic clock, the caller's
    (``clock.monotonic()``); everyone sharing a bucket must use the same clock.
    """

    def __init__(self, rate: float = DEFAULT_RATE, burst: int = DEFAULT_BURST) -> None:
        self._rate = _positive_number("rate", rate)
        if isinstance(burst, bool) or not isinstance(burst, int):
            raise BadArgumentType(f"burst must be an int, not {burst!r}")
        if burst < 1:
            raise BadArgument(f"burst must be at least 1, not {burst}")
        self._burst = burst
        self._interval = _SLACK / self._rate
        self._tolerance = (burst - 1) * self._interval
        self._tat = -math.inf  # when the bucket is next empty of spent tokens: full at first
        self._lock = threading.Lock()
        if self._rate * 60 > GOOGLE_QUOTA_PER_MINUTE:
            logger.warning(
                "a rate limit of %g requests/s is %d a minute, over Google's quota of %d a "
                "minute per project; expect 429 answers unless the project's quota was raised",
                self._rate,
                round(self._rate * 60),
                GOOGLE_QUOTA_PER_MINUTE,
            )

    @property
    def rate(self) -> float:
        """Requests a second, once the burst is spent."""
        return self._rate

    @property
    def burst(self) -> int:
        """Requests that may go back to back."""
        return self._burst

    def __repr__(self) -> str:
        return f"RateLimit(rate={self._rate:g}, burst={self._burst})"

    def most_in(self, seconds: float) -> int:
        """The most requests this bucket lets through in any window of ``seconds``."""
        return self._burst - 1 + math.ceil(self._rate * seconds)

    def try_acquire(self, now: float) -> float:
        """Take a token if one is free at ``now``: return 0.0. Else take nothing and return
        the seconds until one will be free."""
        with self._lock:
            tat = max(self._tat, now)
            allowed = tat - self._tolerance
            if now >= allowed:
                self._tat = tat + self._interval
                return 0.0
            return allowed - now

    def wait_time(self, now: float) -> float:
        """Seconds from ``now`` until a token is free (0.0 if one is), taking none."""
        with self._lock:
            return max(0.0, max(self._tat, now) - self._tolerance - now)

    def acquire(self, clock: Clock | None = None, cancel: threading.Event | None = None) -> bool:
        """Take a token, sleeping on ``clock`` (the real one by default) until one is free.

        Returns False, without a token, once ``cancel`` is set.
        """
        clock = clock if clock is not None else SystemClock()
        while cancel is None or not cancel.is_set():
            delay = self.try_acquire(clock.monotonic())
            if not delay:
                return True
            clock.sleep(delay, cancel)
        return False
