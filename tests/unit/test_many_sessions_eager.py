"""AsyncPickerClient.wait_for_sessions polls in a task per poll (started eagerly on Python
3.12+, so that a poll whose transport answers at once ends without a turn of the event loop).
A poll answered at once and one that has to wait must give the same outcomes, errors and
retries; a wait cancelled while polls wait must leave no task behind; requests go only to the
service's origin. Over the in-process fake and a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from picker_discovery import (
    AsyncPickerClient,
    PickerError,
    RateLimit,
    RetryPolicy,
    WaitOutcome,
)
from picker_discovery.testing import Backend, FakeAsyncTransport, Fault

pytestmark = pytest.mark.anyio


class WaitingTransport(FakeAsyncTransport):
    """The fake, answering only after a turn of the event loop (as a network would): every
    poll has to wait, and goes on in a task."""

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.started = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.started += 1
        await asyncio.sleep(0)
        return await super().handle_async_request(request)


class StalledTransport(FakeAsyncTransport):
    """The fake, whose ``sessions.get`` never answers until released."""

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.waiting = 0
        self.cancelled = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            self.waiting += 1
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        return await super().handle_async_request(request)


def summary(outcomes: Iterable[WaitOutcome], order: list[str]) -> list[tuple[Any, ...]]:
    """What a user reads of each outcome, by the sessions' order (ids differ between fakes)."""
    out = []
    for outcome in sorted(outcomes, key=lambda o: order.index(o.session_id)):
        error = outcome.error
        out.append(
            (
                outcome.status,
                outcome.reason,
                outcome.polls,
                outcome.check.failures,
                type(error).__name__ if error is not None else None,
                getattr(error, "status", None),
                None if outcome.session is None else outcome.session.media_items_set,
            )
        )
    return out


FAULTS: dict[str, list[Any]] = {
    "server errors, retried": [503, 500, None],
    "a client error": [400],
    "not found": [404],
    "malformed JSON": [Fault(body=b"{not json", content_type="application/json")],
    "a JSON array": [Fault(body=b"[1, 2]", content_type="application/json")],
    "a malformed field": [Fault(body=b'{"id": "x", "mediaItemsSet": "yes"}')],
    "an unreadable pollInterval, dropped": [
        Fault(body=b'{"id": "x", "pollingConfig": {"pollInterval": "soon"}}')
    ],
    "rate limited": [Fault(status=429, retry_after=2)],
}


async def run(
    transport_type: type[FakeAsyncTransport], faults: list[Any]
) -> tuple[list[tuple[Any, ...]], int, FakeAsyncTransport]:
    backend = Backend(poll_interval="5s", polling_timeout="40s")
    transport = transport_type(backend)
    async with AsyncPickerClient(
        transport=transport,
        clock=backend.clock,
        journal=False,
        retry=RetryPolicy(jitter=0),
    ) as client:
        sessions = [await client.create_session() for _ in range(4)]
        order = [s.id for s in sessions if s.id is not None]
        backend.pick(order[1])
        backend.clear_attempts()
        backend.set_faults("sessions.get", faults)
        outcomes = [
            o async for o in client.wait_for_sessions(sessions, rate=50, timeout=30, jitter=0)
        ]
        polls = len(backend.attempts("sessions.get"))
    return summary(outcomes, order), polls, transport


@pytest.mark.parametrize("faults", list(FAULTS.values()), ids=list(FAULTS))
async def test_a_poll_answered_at_once_ends_as_one_that_waited(faults: list[Any]) -> None:
    before = len(asyncio.all_tasks())
    at_once, sent, _ = await run(FakeAsyncTransport, faults)
    waited, sent_waiting, transport = await run(WaitingTransport, faults)
    assert isinstance(transport, WaitingTransport) and transport.started >= sent_waiting > 0
    assert at_once == waited
    assert sent == sent_waiting
    assert len(asyncio.all_tasks()) == before


async def test_outcomes_of_bad_answers_are_the_poll_steps() -> None:
    malformed, _, _ = await run(FakeAsyncTransport, FAULTS["malformed JSON"])
    assert malformed[0][:2] == ("failed", None) and malformed[0][4] == "MalformedResponse"
    assert [o[:2] for o in malformed[1:]] == [("ready", None)] + [("ended", "timeout")] * 2
    retried, sent, _ = await run(FakeAsyncTransport, FAULTS["server errors, retried"])
    clean, sent_clean, _ = await run(FakeAsyncTransport, [])
    assert retried == clean  # each failed poll was retried, then read as without faults
    assert sent == sent_clean + 2


@pytest.fixture
async def stalled() -> AsyncIterator[tuple[AsyncPickerClient, StalledTransport, Backend]]:
    backend = Backend(poll_interval="5s", polling_timeout="60s")
    transport = StalledTransport(backend)
    async with AsyncPickerClient(transport=transport, clock=backend.clock, journal=False) as client:
        yield client, transport, backend


async def test_polls_that_wait_are_cancelled_with_the_wait(
    stalled: tuple[AsyncPickerClient, StalledTransport, Backend],
) -> None:
    client, transport, _ = stalled
    sessions = [await client.create_session() for _ in range(6)]
    before = len(asyncio.all_tasks())
    limit = RateLimit(rate=100, burst=10)  # the fake clock stands still while polls wait
    waiting = client.wait_for_sessions(sessions, rate=limit, max_concurrency=4, jitter=0)

    async def wait() -> list[WaitOutcome]:
        return [o async for o in waiting]

    task = asyncio.ensure_future(wait())
    for _ in range(100):
        await asyncio.sleep(0)
        if transport.waiting == 4:
            break
    assert transport.waiting == 4  # max_concurrency polls in flight, each in its own task
    assert len(asyncio.all_tasks()) - before == 1 + 4
    assert sorted(waiting.pending) == sorted(s.id for s in sessions if s.id is not None)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert transport.cancelled == 4  # the cancellation reached each poll where it waited
    assert len(asyncio.all_tasks()) == before


async def test_a_poll_that_waits_and_fails_is_reported_as_failed(
    stalled: tuple[AsyncPickerClient, StalledTransport, Backend],
) -> None:
    client, transport, backend = stalled
    (session,) = [await client.create_session()]

    async def refuse(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        raise httpx.ConnectError("refused", request=request)

    transport.handle_async_request = refuse  # type: ignore[method-assign]
    (outcome,) = [
        o
        async for o in client.wait_for_sessions(
            [session], rate=100, timeout=12, jitter=0, max_concurrency=1
        )
    ]
    assert outcome.status in {"failed", "ended"}
    assert backend.attempts("sessions.get") == []


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("https://photospicker.googleapis.com/v1/sessions/a?alt=json", True),
        ("HTTPS://PhotosPicker.GoogleAPIs.com/v1/sessions/a", True),
        ("https://photospicker.googleapis.com:443/v1/sessions/a", False),
        ("https://photospicker.googleapis.com.example.com/v1/sessions/a", False),
        ("https://photospicker.googleapis.com@example.com/v1/sessions/a", False),
        ("http://photospicker.googleapis.com/v1/sessions/a", False),
        ("https://example.com/https://photospicker.googleapis.com/", False),
    ],
)
async def test_requests_go_only_to_the_services_origin(url: str, sent: bool) -> None:
    backend = Backend()
    transport = FakeAsyncTransport(backend)
    async with AsyncPickerClient(transport=transport, journal=False) as client:
        session = await client.create_session()
        assert session.id is not None
        request: Any = client.service.sessions().get(sessionId=session.id)
        request.uri = url
        if sent:
            await client._sender.send(request)
            assert transport.requests[-1].uri == url.lower()  # httpx lowers scheme and host
        else:
            count = len(transport.requests)
            with pytest.raises(PickerError, match="off the service's base URL"):
                await client._sender.send(request)
            assert len(transport.requests) == count


async def test_a_body_with_a_dropped_field_is_not_read_again() -> None:
    backend = Backend(poll_interval="5s", polling_timeout="40s")
    async with AsyncPickerClient(
        transport=FakeAsyncTransport(backend), clock=backend.clock, journal=False
    ) as client:
        session = await client.create_session()
        assert session.id is not None
        bad = b'{"id": "%s", "pollingConfig": {"pollInterval": "soon"}}' % session.id.encode()
        backend.set_faults("sessions.get", [Fault(body=bad)] * 20)  # every poll
        waiting = client.wait_for_sessions([session], rate=50, timeout=12, jitter=0)
        outcomes = [o async for o in waiting]
        assert waiting._bodies == {}
    (outcome,) = outcomes
    assert (outcome.status, outcome.reason) == ("ended", "timeout")
    # the state as the poll read it: the unreadable pollInterval dropped, the rest kept
    assert outcome.session is not None and outcome.session.id == session.id
    assert outcome.session.polling_config is not None
    assert outcome.session.polling_config.poll_interval is None
    assert outcome.session.raw["pollingConfig"] == {}


async def test_polls_answered_at_once_are_each_taken_once_in_the_turn_they_end() -> None:
    backend = Backend(max_live_sessions=200, poll_interval="5s", polling_timeout="20s")
    async with AsyncPickerClient(
        transport=FakeAsyncTransport(backend), clock=backend.clock, journal=False
    ) as client:
        sessions = [await client.create_session() for _ in range(120)]
        picked = {s.id for s in sessions[:30]}
        to_pick = sorted(sid for sid in picked if sid)

        def pick(_seconds: float) -> None:  # at the first sleep: while the wait goes on
            while to_pick:
                backend.pick(to_pick.pop())

        backend.clock.on_sleep = pick
        backend.clear_attempts()
        loop = asyncio.get_running_loop()
        futures = 0
        create_future = loop.create_future

        def counted() -> asyncio.Future[Any]:
            nonlocal futures
            futures += 1
            return create_future()

        loop.create_future = counted  # type: ignore[method-assign]
        try:
            limit = RateLimit(rate=40)
            outcomes = [o async for o in client.wait_for_sessions(sessions, rate=limit)]
        finally:
            del loop.create_future
    assert futures == 0  # every poll's answer was taken without waiting to be woken
    assert sorted(o.session_id for o in outcomes) == sorted(s.id for s in sessions if s.id)
    assert {o.session_id for o in outcomes if o.ready} == picked
    times = sorted(a.time for a in backend.attempts("sessions.get"))
    assert sum(o.polls for o in outcomes) == len(times)  # each answer read once
    assert all(
        (times[i + limit.most_in(1.0)] - times[i]).total_seconds() >= 1.0
        for i in range(len(times) - limit.most_in(1.0))
    )  # never more than the cap in any one second


async def test_at_a_high_rate_a_poll_takes_its_first_step_in_the_sleep_to_the_next_token() -> None:
    # With the next poll a moment away (1 ms at 1,000/s), the sleep to it starts in the turn
    # in which the polls just started take their first step, and it lasts until the next token
    # rather than until the next session is due and then again until the token. On a fake
    # clock those polls still go out at their own time, before the clock moves, so the fake's
    # log keeps the cap.
    backend = Backend(max_live_sessions=300, poll_interval="5s", polling_timeout="12s")
    async with AsyncPickerClient(
        transport=FakeAsyncTransport(backend), clock=backend.clock, journal=False
    ) as client:
        sessions = [await client.create_session() for _ in range(300)]
        backend.clear_attempts()
        start = backend.clock.now()
        loop = asyncio.get_running_loop()
        turns = 0
        run_once = loop._run_once  # type: ignore[attr-defined]

        def counted() -> None:
            nonlocal turns
            turns += 1
            run_once()

        loop._run_once = counted  # type: ignore[attr-defined]
        try:
            limit = RateLimit(rate=1000)
            waiting = client.wait_for_sessions(sessions, rate=limit, jitter=0)
            outcomes = [o async for o in waiting]
        finally:
            del loop._run_once  # type: ignore[attr-defined]
    times = sorted(a.time for a in backend.attempts("sessions.get"))
    assert len(outcomes) == 300 and sum(o.polls for o in outcomes) == len(times)
    # About one turn a poll and one a session ended at its deadline (timeoutIn, no poll);
    # two a poll before (917 against 1,676 turns here).
    assert turns < 1.1 * (len(times) + len(outcomes))
    # Every session is due 5 s in (its pollInterval): the first poll goes out then, before
    # the clock moves on to the next token, and the others one token after another.
    assert times[0] == start + timedelta(seconds=5)
    assert times[1] - times[0] == timedelta(milliseconds=1)
    assert all(
        (times[i + limit.most_in(1.0)] - times[i]).total_seconds() >= 1.0
        for i in range(len(times) - limit.most_in(1.0))
    )
