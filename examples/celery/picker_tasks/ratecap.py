"""One cap on the polls of all workers together: Google counts requests per project.

A worker with the client's in-process :class:`~picker_discovery.RateLimit` caps only its own
polls; ten workers would send ten times the rate. Here every worker takes a place in one
moving window kept in Redis (the broker's) before it polls, so that in any period at most the
configured number of polls are sent by the whole fleet. The window is limits'
``MovingWindowRateLimiter`` on ``RedisStorage``: one atomic Lua script per poll, no lock.

``PICKER_CELERY_POLL_RATE`` sets the cap in limits' notation: ``"100/second"`` (the default,
about 6 % of Google's usual quota of 100,000 requests a minute per project, which every user
of the app shares), ``"3000/minute"``, or ``"off"`` for none. A poll that finds the window
full does not wait in its worker: it is queued again for when a place frees, plus a random
part of one period so that the polls put off together do not all come back at once. Only
polls are capped; creating, listing and deleting are one per import.

The window's times are the workers' own clocks (``time.time()``): keep the machines on NTP.
"""

from __future__ import annotations

import functools
import os
import random
import time

from limits import RateLimitItem, parse
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

RATE_VARIABLE = "PICKER_CELERY_POLL_RATE"
DEFAULT_RATE = "100/second"


class PollCap:
    """A moving window of polls shared through Redis at ``url``; ``rate`` as ``"N/period"``.

    Caps with the same ``name`` share one window (one per Google Cloud project the app uses).
    """

    def __init__(self, url: str, rate: str, *, name: str = "sessions.get") -> None:
        self.item = parse_rate(rate)
        self.name = name
        self._limiter = MovingWindowRateLimiter(RedisStorage(url, key_prefix="picker-tasks"))

    def admit(self) -> float:
        """Take a place for one poll: ``0.0`` when it may be sent now, or else the seconds to
        put it off for (when the oldest place in the window frees, plus jitter)."""
        if self._limiter.hit(self.item, self.name):
            return 0.0
        stats = self._limiter.get_window_stats(self.item, self.name)
        period = float(self.item.get_expiry())
        return max(stats.reset_time - time.time(), 0.0) + random.uniform(0.0, period)


def parse_rate(rate: str) -> RateLimitItem:
    """``"100/second"`` and the like as limits' item; a clear error naming the setting."""
    try:
        item = parse(rate)
    except ValueError:
        item = None
    if item is None or item.amount < 1:
        raise ValueError(
            f"{RATE_VARIABLE}={rate!r} is not a rate: write it as '100/second' or "
            f"'3000/minute' (polls that all workers together may send), or 'off'"
        )
    return item


def configured_rate() -> str | None:
    """The cap from the environment (checked), or ``None`` when it is ``off``."""
    rate = os.environ.get(RATE_VARIABLE, DEFAULT_RATE).strip()
    if rate.lower() == "off":
        return None
    parse_rate(rate)
    return rate


@functools.lru_cache(maxsize=4)
def poll_cap(url: str, rate: str) -> PollCap:
    """The cap for the broker at ``url`` (one connection pool per worker process)."""
    return PollCap(url, rate)
