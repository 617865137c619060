"""Time, as the client sees it: a monotonic clock, the wall clock, and a cancellable sleep.

:class:`PickerClient <picker_discovery.client.PickerClient>` takes a ``clock=``; tests pass a
:class:`FakeClock` so that waiting and retrying take no real time and every sleep is recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Protocol

__all__ = ["Clock", "FakeClock", "SystemClock"]


class Clock(Protocol):
    """What the client needs to know about time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for intervals and deadlines."""

    def now(self) -> datetime:
        """The current time as an aware UTC ``datetime``, to compare with ``expireTime``."""

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> None:
        """Wait ``seconds``, returning early once ``cancel`` is set."""


class SystemClock:
    """The real clocks; sleeping is ``Event.wait``, so a set ``cancel`` wakes it at once."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> None:
        if seconds <= 0:
            return
        (cancel if cancel is not None else threading.Event()).wait(seconds)


class FakeClock:
    """A clock that moves only when slept on; thread-safe. For tests.

    ``sleeps`` records every requested sleep, in order. ``on_sleep`` (if set) is called with
    the seconds after the clock has moved, e.g. to set a cancel event at some point.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._elapsed = 0.0
        self._start = start or datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[float], None] | None = None

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=self._elapsed)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._elapsed += seconds

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._elapsed += max(0.0, seconds)
        if self.on_sleep is not None:
            self.on_sleep(seconds)
