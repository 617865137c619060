"""Bounded waits for tests: every wait on another thread, process or server has a deadline.

They wait on ``threading.Event.wait`` rather than ``time.sleep``, which fails under
libfaketime (``make datecheck``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from picker_discovery.testing import Emulator

T = TypeVar("T")

INTERVAL = 0.02


def wait_until(condition: Callable[[], T], *, what: str, timeout: float = 20.0) -> T:
    """The first truthy value of ``condition()``, checked every 20 ms for up to ``timeout`` s."""
    end = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= end:
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what}")
        pause.wait(INTERVAL)


@contextlib.contextmanager
def user_picks(emulator: Emulator, token: str, first: int, timeout: float = 60.0) -> Iterator[None]:
    """While the block runs, a user picks ``first`` items in the first unpicked session of
    ``token`` once one exists, as a person would; gives up after ``timeout`` seconds."""
    stop = threading.Event()

    def user() -> None:
        end = time.monotonic() + timeout
        while not stop.wait(0.05) and time.monotonic() < end:
            for session in emulator.backend.sessions(token):
                if not session.media_items_set:
                    with contextlib.suppress(ValueError, KeyError):  # deleted meanwhile
                        emulator.pick(session.id, first=first)
                    return

    thread = threading.Thread(target=user, name="user-picks", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
