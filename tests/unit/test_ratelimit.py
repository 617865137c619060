"""RateLimit: the token bucket that caps the requests of many waits together."""

from __future__ import annotations

import itertools
import logging
import math
import threading

import pytest
from hypothesis import given, settings, strategies as st

from picker_discovery import BadArgument, BadArgumentType, FakeClock, RateLimit


def most_in_any_window(times: list[float], seconds: float) -> int:
    """The most of ``times`` that fall in one half-open window ``[t, t + seconds)``."""
    times = sorted(times)
    best = 0
    start = 0
    for end, t in enumerate(times):
        while times[start] <= t - seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def drain(limit: RateLimit, clock: FakeClock, count: int) -> list[float]:
    """Take ``count`` tokens as fast as the bucket allows; the times they were taken."""
    taken = []
    for _ in range(count):
        assert limit.acquire(clock)
        taken.append(clock.monotonic())
    return taken


def test_defaults_are_ten_a_second_one_at_a_time() -> None:
    limit = RateLimit()
    assert (limit.rate, limit.burst) == (10.0, 1)
    assert limit.most_in(1.0) == 10
    assert limit.most_in(60.0) == 600  # 0.6 % of Google's 100,000 a minute


def test_a_full_bucket_lets_the_burst_through_then_spaces_requests_by_the_rate() -> None:
    clock = FakeClock()
    limit = RateLimit(rate=4, burst=3)
    start = clock.monotonic()
    taken = [t - start for t in drain(limit, clock, 7)]
    assert taken[:3] == [0.0, 0.0, 0.0]
    gaps = [b - a for a, b in itertools.pairwise(taken[2:])]
    assert gaps == pytest.approx([0.25] * 4, rel=1e-5)


def test_try_acquire_says_how_long_until_a_token_without_taking_one() -> None:
    limit = RateLimit(rate=2, burst=1)
    assert limit.try_acquire(100.0) == 0.0
    assert limit.try_acquire(100.0) == pytest.approx(0.5, rel=1e-5)
    assert limit.try_acquire(100.2) == pytest.approx(0.3, rel=1e-4)
    assert limit.wait_time(100.2) == pytest.approx(0.3, rel=1e-4)
    assert limit.try_acquire(100.5001) == 0.0  # nothing was taken by the refused tries
    assert limit.wait_time(100.5001) > 0


def test_an_idle_bucket_refills_only_up_to_the_burst() -> None:
    limit = RateLimit(rate=10, burst=2)
    assert limit.try_acquire(0.0) == 0.0
    # An hour idle: two tokens again, not 36,000.
    assert [limit.try_acquire(3600.0) for _ in range(2)] == [0.0, 0.0]
    assert limit.try_acquire(3600.0) > 0


@settings(max_examples=60, deadline=None)
@given(
    rate=st.floats(min_value=0.5, max_value=500, allow_nan=False),
    burst=st.integers(min_value=1, max_value=20),
    asks=st.lists(st.floats(min_value=0, max_value=0.3), min_size=1, max_size=300),
    window=st.sampled_from([0.5, 1.0, 3.0, 60.0]),
)
def test_no_window_ever_holds_more_than_promised(
    rate: float, burst: int, asks: list[float], window: float
) -> None:
    # Callers arrive at random gaps and each takes the first free token.
    limit = RateLimit(rate=rate, burst=burst)
    clock = FakeClock()
    taken = []
    for gap in asks:
        clock.advance(gap)
        assert limit.acquire(clock)
        taken.append(clock.monotonic())
    assert most_in_any_window(taken, window) <= limit.most_in(window)


def test_sustained_pace_is_the_rate() -> None:
    clock = FakeClock()
    limit = RateLimit(rate=10)
    taken = drain(limit, clock, 601)
    assert taken[-1] - taken[0] == pytest.approx(60.0, rel=1e-5)
    assert most_in_any_window(taken, 1.0) == 10


def test_threads_sharing_a_bucket_get_no_more_than_it_allows() -> None:
    limit = RateLimit(rate=5, burst=4)
    granted = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(50):
            if limit.try_acquire(0.0) == 0.0:
                with lock:
                    granted.append(1)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 4  # the burst at time 0, whoever asked


def test_acquire_gives_up_without_a_token_once_cancelled() -> None:
    clock = FakeClock()
    limit = RateLimit(rate=1)
    cancel = threading.Event()
    assert limit.acquire(clock, cancel)
    clock.on_sleep = lambda _seconds: cancel.set()
    assert not limit.acquire(clock, cancel)
    assert limit.try_acquire(clock.monotonic()) == 0.0  # the cancelled acquire took nothing


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"rate": 0}, BadArgument, "rate must be a positive"),
        ({"rate": -1}, BadArgument, "rate must be a positive"),
        ({"rate": math.inf}, BadArgument, "finite"),
        ({"rate": math.nan}, BadArgument, "finite"),
        ({"rate": "10"}, BadArgumentType, "rate must be a number"),
        ({"rate": True}, BadArgumentType, "rate must be a number"),
        ({"burst": 0}, BadArgument, "burst must be at least 1"),
        ({"burst": 2.5}, BadArgumentType, "burst must be an int"),
    ],
)
def test_bad_settings_are_refused(arguments: dict[str, object], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        RateLimit(**arguments)  # type: ignore[arg-type]


def test_a_rate_over_googles_quota_is_allowed_but_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="picker_discovery"):
        RateLimit(rate=2000)
    assert "over Google's quota of 100000 a minute" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="picker_discovery"):
        RateLimit(rate=1000)
    assert not caplog.records
