"""GroupSync: every caller is covered by a flush that began after it asked; callers waiting
together share one flush; a failed flush raises where it ran and the others flush again."""

from __future__ import annotations

import threading
import time

import pytest

from picker_discovery._media.durable import GroupSync


def test_each_caller_is_covered_by_a_flush_that_began_after_it_asked() -> None:
    starts: list[float] = []
    ends: list[float] = []

    def flush() -> None:
        starts.append(time.monotonic())
        time.sleep(0.02)
        ends.append(time.monotonic())

    group = GroupSync(flush)
    asked: dict[int, float] = {}
    returned: dict[int, float] = {}

    def caller(index: int) -> None:
        asked[index] = time.monotonic()
        group.sync()
        returned[index] = time.monotonic()

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert group.flushes == len(starts) < 16  # shared: fewer flushes than callers
    for index, when in asked.items():
        # Some flush started after this caller asked and ended before it returned.
        assert any(
            start >= when and end <= returned[index]
            for start, end in zip(starts, ends, strict=True)
        ), index


def test_a_failed_flush_raises_in_its_caller_and_the_next_caller_flushes_again() -> None:
    calls: list[int] = []

    def flush() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk full")

    group = GroupSync(flush)
    with pytest.raises(OSError, match="disk full"):
        group.sync()
    group.sync()
    assert len(calls) == 2 and group.flushes == 1
