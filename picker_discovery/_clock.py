"""Time, as the client sees it: a monotonic clock, the wall clock, and a cancellable sleep.

:class:`PickerClient <picker_discovery.PickerClient>` takes a ``clock=``; tests pass a
:class:`FakeClock` so that waiting and retrying take no real time and every sleep is recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Protocol

from picker_discovery._errorbase import BadArgument

__all__ = ["Clock", "FakeClock", "SystemClock", "asleep"]


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

    async def asleep(self, seconds: float) -> None:
        """Wait ``seconds`` without blocking the event loop (``asyncio.sleep``)."""
        import asyncio  # here, so that the command line's cold start never loads it

        await asyncio.sleep(max(0.0, seconds))


async def asleep(clock: Clock, seconds: float) -> None:
    """Wait ``seconds`` on ``clock`` from a coroutine: its own ``asleep`` if it has one, else
    ``asyncio.sleep`` (a clock of the user's own that only knows how to block)."""
    import asyncio

    method = getattr(clock, "asleep", None)
    if method is not None:
        await method(seconds)
    else:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock tests control; thread-safe. The client and the test kit's backend both take it.

    Frozen by default: time moves only when :meth:`advance`, :meth:`set` or :meth:`sleep` is
    called, so waiting and retrying take no real time, and a client and a fake backend sharing
    one clock see the same simulated time. ``sleeps`` records every requested sleep in order;
    ``on_sleep`` (if set) is called with the seconds after the clock has moved, e.g. to set a
    cancel event at some point.

    It starts at the real current time (UTC; whole seconds when frozen) unless given ``start``,
    so it works on any date; a test that asserts exact timestamps pins ``start``.

    With ``ticking=True`` it follows real time and :meth:`advance` jumps ahead of it (what a
    long-running emulator wants: polling counts down, yet a test can skip an hour); sleeping on
    a ticking clock really waits. Its :meth:`now` keeps the distance it started at (or was
    :meth:`set` to) from the wall clock, plus what it was advanced by, so an emulator on it
    agrees with a client on the real clock for as long as it runs, even across a suspend or a
    wall-clock correction; its :meth:`monotonic` follows ``time.monotonic``.
    """

    def __init__(self, start: datetime | None = None, *, ticking: bool = False) -> None:
        wall = datetime.now(timezone.utc)
        if start is None:
            start = wall if ticking else wall.replace(microsecond=0)
        if start.tzinfo is None:
            raise BadArgument("give the clock an aware datetime (with tzinfo), e.g. in UTC")
        self._lock = threading.Lock()
        self._start = start  # frozen: the time at offset 0
        self._from_wall = start - wall  # ticking: how far ahead of the wall clock it runs
        self._offset = 0.0
        self._ticking = ticking
        self._origin = time.monotonic()
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[float], None] | None = None

    @property
    def ticking(self) -> bool:
        return self._ticking

    def _elapsed(self) -> float:
        real = time.monotonic() - self._origin if self._ticking else 0.0
        return self._offset + real

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed()

    def now(self) -> datetime:
        with self._lock:
            if self._ticking:
                return (
                    datetime.now(timezone.utc) + self._from_wall + timedelta(seconds=self._offset)
                )
            return self._start + timedelta(seconds=self._offset)

    def advance(self, seconds: float | timedelta) -> datetime:
        """Move the clock forward (never back) and return the new time."""
        step = seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
        if step < 0:
            raise BadArgument(f"the clock only moves forward; cannot advance by {step} s")
        with self._lock:
            self._offset += step
        return self.now()

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (a frozen clock stays there)."""
        if when.tzinfo is None:
            raise BadArgument("give the clock an aware datetime (with tzinfo), e.g. in UTC")
        with self._lock:
            if self._ticking:
                wall = datetime.now(timezone.utc) + timedelta(seconds=self._offset)
                self._from_wall = when - wall
            else:
                self._start = when - timedelta(seconds=self._offset)

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if not self._ticking:
                self._offset += max(0.0, seconds)
        if self._ticking and seconds > 0:
            (cancel if cancel is not None else threading.Event()).wait(seconds)
        if self.on_sleep is not None:
            self.on_sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        """:meth:`sleep` for a coroutine: a frozen clock lets the tasks ready to run take their
        turn at the time it shows, then moves; a ticking one waits with ``asyncio.sleep``.
        Recorded in ``sleeps`` either way.

        A frozen clock moves by every sleep of every task that shares it, one after another:
        it simulates one wait at a time well, not many overlapping ones."""
        import asyncio

        with self._lock:
            self.sleeps.append(seconds)
        if self._ticking:
            await asyncio.sleep(max(0.0, seconds))
        else:
            await asyncio.sleep(0)  # what was ready before this sleep runs before time moves
            with self._lock:
                self._offset += max(0.0, seconds)
        if self.on_sleep is not None:
            self.on_sleep(seconds)
