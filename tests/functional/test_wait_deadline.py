"""Every wait ends: pathological timing answers still end the wait on time, on the fake clock.

The deadline is fixed when the wait starts (the earliest of the caller's timeout, the first
``timeoutIn`` and the ``expireTime``); polls are spaced as the server asks, within a floor and
a ceiling; a listing that never ends is stopped. Each test runs on a :class:`FakeClock` and
asserts both when the wait ended and how far apart its polls were (``clock.sleeps``).
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httplib2
import pytest

from picker_discovery._client import PickerClient
from picker_discovery._clock import FakeClock
from picker_discovery._paging import MAX_PAGES, iter_pages
from picker_discovery._retry import RetryPolicy
from picker_discovery._service import build
from picker_discovery._waiting import (
    DEFAULT_POLL_INTERVAL,
    FALLBACK_WAIT,
    MAX_POLL_INTERVAL,
    MIN_POLL_INTERVAL,
)
from picker_discovery.errors import (
    MalformedResponse,
    PickingCancelled,
    PickingTimeout,
    TooManyPages,
    Unavailable,
)
from picker_discovery.testing import Backend, FakeHttp, canned
from picker_discovery.testing.canned import CannedResponse
from tests.fakes import ScriptedHttp, item_body, session, session_body, stamp

SID = canned.SESSION_ID


class Answering:
    """An ``httplib2.Http``-like object answering the n-th request (from 0) with ``answer(n)``.

    Endless, unlike a script: a wait that never ended would poll it forever (and the suite's
    per-test timeout would fail the test).
    """

    def __init__(self, answer: Callable[[int], dict[str, Any]]) -> None:
        self._answer = answer
        self.paths: list[str] = []

    def request(self, uri: str, method: str = "GET", **_: Any) -> tuple[httplib2.Response, bytes]:
        self.paths.append(urllib.parse.urlsplit(uri).path)
        headers, content = CannedResponse(200, self._answer(len(self.paths) - 1)).to_mock_pair()
        return httplib2.Response(headers), content

    def close(self) -> None:
        pass


def polling(
    *,
    poll_interval: str | None = "5s",
    timeout_in: str | None = "1800s",
    expire_time: str | None = None,
) -> dict[str, Any]:
    """An unpicked session answer; without ``expire_time`` it has no ``expireTime`` at all."""
    body = session_body(poll_interval=poll_interval, timeout_in=timeout_in)
    body.pop("expireTime", None)
    if expire_time is not None:
        body["expireTime"] = expire_time
    return body


def wait(
    answer: Callable[[int], dict[str, Any]], *, timeout: float | None = None
) -> tuple[PickingTimeout, FakeClock, Answering]:
    """Wait on a client over ``answer``; the wait must end with PickingTimeout."""
    clock = FakeClock()
    http = Answering(answer)
    client = PickerClient(http=http, clock=clock)
    with pytest.raises(PickingTimeout) as caught:
        client.wait_for_selection(SID, timeout=timeout)
    return caught.value, clock, http


def assert_spaced(sleeps: list[float], interval: float, total: float) -> None:
    """Every sleep was ``interval`` but the last, which ended the wait exactly at ``total``."""
    assert sleeps, "the wait never slept between polls"
    assert sleeps[:-1] == pytest.approx([interval] * (len(sleeps) - 1))
    assert 0 < sleeps[-1] <= interval + 1e-9
    assert sum(sleeps) == pytest.approx(total)


# -- the deadline is fixed when the wait starts ----------------------------------------------


def test_a_timeout_in_that_never_counts_down_still_ends_the_wait() -> None:
    caught, clock, http = wait(lambda _: polling(timeout_in="30s"))
    assert (caught.reason, caught.waited) == ("timeoutIn", 30.0)
    assert_spaced(clock.sleeps, 5.0, 30.0)
    assert caught.polls == len(http.paths) == 6


def test_a_timeout_in_that_grows_cannot_push_the_deadline_back() -> None:
    caught, clock, _ = wait(lambda n: polling(timeout_in=f"{30 + 100 * n}s"))
    assert (caught.reason, caught.waited) == ("timeoutIn", 30.0)
    assert_spaced(clock.sleeps, 5.0, 30.0)


def test_an_expire_time_that_moves_later_cannot_push_the_deadline_back() -> None:
    start = FakeClock().now()  # the wait's clock starts at the same whole second

    def answer(n: int) -> dict[str, Any]:
        return polling(timeout_in=None, expire_time=stamp(start + timedelta(seconds=20 + 60 * n)))

    caught, clock, _ = wait(answer)
    assert caught.reason == "expireTime"
    assert caught.waited == pytest.approx(20.0, abs=1.0)
    assert all(s == pytest.approx(5.0) for s in clock.sleeps[:-1])


def test_a_later_answer_can_bring_the_deadline_closer() -> None:
    caught, clock, _ = wait(lambda n: polling(timeout_in="1800s" if n < 2 else "0s"))
    assert (caught.reason, caught.polls, caught.waited) == ("timeoutIn", 3, 10.0)
    assert clock.sleeps == [5.0, 5.0]


def test_an_answer_without_timing_fields_ends_at_the_fallback_limit() -> None:
    caught, clock, http = wait(lambda _: polling(poll_interval=None, timeout_in=None))
    assert (caught.reason, caught.waited) == ("fallback", FALLBACK_WAIT)
    assert_spaced(clock.sleeps, DEFAULT_POLL_INTERVAL, FALLBACK_WAIT)
    assert len(http.paths) == FALLBACK_WAIT / DEFAULT_POLL_INTERVAL
    assert "default limit" in str(caught)


def test_without_timing_fields_the_callers_timeout_still_ends_the_wait() -> None:
    caught, clock, _ = wait(lambda _: polling(poll_interval=None, timeout_in=None), timeout=12)
    assert (caught.reason, caught.waited) == ("timeout", 12.0)
    assert_spaced(clock.sleeps, DEFAULT_POLL_INTERVAL, 12.0)


def test_the_fallback_limit_is_a_client_setting() -> None:
    clock = FakeClock()
    client = PickerClient(
        http=Answering(lambda _: polling(poll_interval=None, timeout_in=None)), clock=clock
    )
    client.fallback_wait = 7.0
    with pytest.raises(PickingTimeout) as caught:
        client.wait_for_selection(SID)
    assert (caught.value.reason, caught.value.waited) == ("fallback", 7.0)
    assert clock.sleeps == [5.0, 2.0]


def test_an_absurd_timeout_in_is_still_bounded_by_the_callers_timeout() -> None:
    caught, clock, _ = wait(lambda _: polling(timeout_in="315576000000s"), timeout=60)
    assert (caught.reason, caught.waited) == ("timeout", 60.0)
    assert_spaced(clock.sleeps, 5.0, 60.0)


UNAVAILABLE = CannedResponse(
    503, {"error": {"code": 503, "message": "Try later.", "status": "UNAVAILABLE"}}
)


def test_a_failing_poll_is_not_retried_past_the_deadline() -> None:
    clock = FakeClock()
    http = ScriptedHttp(session(), *[UNAVAILABLE] * 10)
    client = PickerClient(http=http, clock=clock, retry=RetryPolicy(jitter=0))
    with pytest.raises(PickingTimeout) as caught:
        client.wait_for_selection(SID, timeout=10)
    # a poll at 0 s, one at 5 s failing, retried after 1 and 2 s; the next retry (4 s) would
    # come after the deadline, so the wait sleeps to it and ends there
    assert (caught.value.reason, caught.value.waited) == ("timeout", 10.0)
    assert clock.sleeps == [5.0, 1.0, 2.0, 2.0]
    assert isinstance(caught.value.__cause__, Unavailable)
    assert len(http.requests) == 4


def test_a_retry_after_longer_than_the_time_left_ends_the_wait_at_the_deadline() -> None:
    clock = FakeClock()
    slow_down = UNAVAILABLE._replace(headers={"Retry-After": "120"})
    client = PickerClient(http=ScriptedHttp(session(), slow_down), clock=clock)
    with pytest.raises(PickingTimeout) as caught:
        client.wait_for_selection(SID, timeout=30)
    assert (caught.value.reason, caught.value.waited) == ("timeout", 30.0)
    assert clock.sleeps == [5.0, 25.0]


def test_a_cancel_during_a_retry_sleep_stops_the_retries() -> None:
    clock = FakeClock()
    cancel = threading.Event()
    clock.on_sleep = lambda _: cancel.set()  # the first sleep is the failed poll's retry wait
    http = ScriptedHttp(*[UNAVAILABLE] * 5)
    client = PickerClient(http=http, clock=clock, retry=RetryPolicy(jitter=0))
    with pytest.raises(PickingCancelled) as caught:
        client.wait_for_selection(SID, timeout=600, cancel=cancel)
    assert len(http.requests) == 1  # no further attempt after the cancel
    assert clock.sleeps == [1.0]
    assert caught.value.session_id == SID


# -- spacing between polls -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("poll_interval", "spacing"),
    [
        ("0s", DEFAULT_POLL_INTERVAL),  # proto3's zero: no advice
        ("-5s", DEFAULT_POLL_INTERVAL),
        ("-315576000000s", DEFAULT_POLL_INTERVAL),
        ("NaNs", DEFAULT_POLL_INTERVAL),  # unreadable: ignored, as if missing
        ("soon", DEFAULT_POLL_INTERVAL),
        ("1e30s", DEFAULT_POLL_INTERVAL),
        ("99999999999999999999s", DEFAULT_POLL_INTERVAL),
        (None, DEFAULT_POLL_INTERVAL),
        ("0.001s", MIN_POLL_INTERVAL),  # honoured, but never faster than the floor
        ("7.25s", 7.25),
        ("3600s", MAX_POLL_INTERVAL),  # honoured, but never slower than the ceiling
        ("315576000000s", MAX_POLL_INTERVAL),  # the largest Duration: no OverflowError
    ],
)
def test_a_pathological_poll_interval_still_ends_the_wait_on_time(
    poll_interval: str | None, spacing: float
) -> None:
    caught, clock, http = wait(lambda _: polling(poll_interval=poll_interval, timeout_in="300s"))
    assert (caught.reason, caught.waited) == ("timeoutIn", 300.0)
    assert_spaced(clock.sleeps, spacing, 300.0)
    assert len(http.paths) == caught.polls
    assert abs(caught.polls - 300 / spacing) <= 1  # one more where float steps fall short


def test_an_unreadable_poll_interval_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="picker_discovery._client"):
        wait(lambda _: polling(poll_interval="1e30s", timeout_in="10s"))
    assert f"session {SID}: ignoring" in caplog.text
    assert "pollingConfig.pollInterval" in caplog.text


@pytest.mark.parametrize("bad", ["soon", "1e30s", "99999999999999999999s"])
def test_an_unreadable_timeout_in_leaves_the_other_limits(bad: str) -> None:
    caught, clock, _ = wait(lambda _: polling(timeout_in=bad), timeout=20)
    assert (caught.reason, caught.waited) == ("timeout", 20.0)
    assert_spaced(clock.sleeps, 5.0, 20.0)
    caught, clock, _ = wait(lambda _: polling(timeout_in=bad))
    assert (caught.reason, caught.waited) == ("fallback", FALLBACK_WAIT)


def test_an_unreadable_expire_time_leaves_the_other_limits() -> None:
    caught, clock, _ = wait(lambda _: polling(timeout_in="15s", expire_time="next tuesday"))
    assert (caught.reason, caught.waited) == ("timeoutIn", 15.0)
    assert clock.sleeps == [5.0, 5.0, 5.0]


def test_other_malformed_fields_still_end_the_wait_as_malformed() -> None:
    body = polling(poll_interval="NaNs")
    body["mediaItemsSet"] = "yes"
    client = PickerClient(http=Answering(lambda _: body), clock=FakeClock())
    with pytest.raises(MalformedResponse, match="mediaItemsSet"):
        client.wait_for_selection(SID)


def test_the_spacing_bounds_are_client_settings() -> None:
    clock = FakeClock()
    client = PickerClient(http=Answering(lambda n: polling(poll_interval="1s")), clock=clock)
    client.min_poll_interval, client.max_poll_interval = 2.0, 3.0
    with pytest.raises(PickingTimeout):
        client.wait_for_selection(SID, timeout=10)
    assert clock.sleeps == [2.0] * 5
    client = PickerClient(http=Answering(lambda n: polling(poll_interval="30s")), clock=clock)
    client.max_poll_interval = 3.0
    with pytest.raises(PickingTimeout):
        client.wait_for_selection(SID, timeout=9)
    assert clock.sleeps[5:] == [3.0] * 3


# -- listing ends ----------------------------------------------------------------------------


def endless_pages(items_per_page: int) -> Callable[[int], dict[str, Any]]:
    """A service that sends a new page token with every page, forever."""

    def answer(n: int) -> dict[str, Any]:
        body: dict[str, Any] = {"nextPageToken": f"token-{n + 1}"}
        if items_per_page:
            body["mediaItems"] = [item_body(n * items_per_page + i) for i in range(items_per_page)]
        return body

    return answer


@pytest.mark.parametrize("items_per_page", [0, 1])
def test_a_listing_of_endless_new_page_tokens_stops(items_per_page: int) -> None:
    http = Answering(endless_pages(items_per_page))
    client = PickerClient(http=http, clock=FakeClock())
    items = client.iter_media_items(SID)
    got = 0
    with pytest.raises(TooManyPages) as caught:
        for _ in items:
            got += 1
    assert got == MAX_PAGES * items_per_page  # every page's items were seen before the error
    assert len(http.paths) == caught.value.pages == MAX_PAGES
    assert caught.value.session_id == SID
    assert SID in str(caught.value) and "never end" in str(caught.value)


def test_the_page_bound_leaves_room_for_a_full_session_with_empty_pages() -> None:
    # 2000 items one a page, an empty page after each, then an empty last page.
    def answer(n: int) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if n % 2 == 0 and n < 4000:
            body["mediaItems"] = [item_body(n // 2)]
        if n < MAX_PAGES - 1:
            body["nextPageToken"] = f"token-{n + 1}"
        return body

    client = PickerClient(http=Answering(answer), clock=FakeClock())
    assert len(client.list_media_items(SID, page_size=1)) == 2000


def test_iter_pages_takes_a_smaller_bound() -> None:
    pages = iter_pages(SID, lambda token: {"nextPageToken": f"{token}+"}, max_pages=3)
    with pytest.raises(TooManyPages) as caught:
        list(pages)
    assert caught.value.pages == 3


def test_on_the_in_process_fake_a_zero_poll_interval_is_paced_and_ends_on_time() -> None:
    clock = FakeClock()
    backend = Backend(clock=clock, poll_interval="0s", polling_timeout="20s")
    client = PickerClient(build(http=FakeHttp(backend)), clock=clock)
    with pytest.raises(PickingTimeout) as caught, client.picking_session() as created:
        client.wait_for_selection(created)
    assert (caught.value.reason, clock.monotonic()) == ("timeoutIn", 20.0)
    polled = [a.time for a in backend.attempts("sessions.get")]
    made = backend.attempts("sessions.create")[0].time
    assert [(t - made).total_seconds() for t in polled] == [5.0, 10.0, 15.0]
    assert backend.sessions() == []
