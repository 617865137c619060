"""AsyncPickerClient.wait_for_sessions: many sessions in one event loop, on the same schedule
as the sync waiter, over the in-process fake (FakeAsyncTransport) and a shared fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import pytest

from picker_discovery import AsyncPickerClient, FakeClock, PickingSession, RateLimit, WaitOutcome
from picker_discovery.testing import Backend, FakeAsyncTransport
from picker_discovery.testing.transport import DEFAULT_TOKEN

pytestmark = pytest.mark.anyio


@pytest.fixture
def backend() -> Backend:
    return Backend(max_live_sessions=1000, poll_interval="5s", polling_timeout="60s")


@pytest.fixture
async def client(backend: Backend) -> AsyncIterator[AsyncPickerClient]:
    async with AsyncPickerClient(
        transport=FakeAsyncTransport(backend), clock=backend.clock, journal=False
    ) as client:
        yield client


async def create(client: AsyncPickerClient, count: int) -> list[PickingSession]:
    return [await client.create_session() for _ in range(count)]


def ident(session: PickingSession) -> str:
    assert session.id is not None
    return session.id


def on_time(clock: FakeClock, events: dict[float, Callable[[], object]]) -> None:
    start = clock.monotonic()
    pending = sorted(events.items())

    def hook(_seconds: float) -> None:
        while pending and clock.monotonic() - start >= pending[0][0]:
            pending.pop(0)[1]()

    clock.on_sleep = hook


def most_in_one_second(times: list[datetime]) -> int:
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while (t - ordered[start]).total_seconds() >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_each_session_once_ready_ones_first_under_the_cap(
    client: AsyncPickerClient, backend: Backend
) -> None:
    sessions = await create(client, 60)
    picked = {ident(s) for s in sessions[:15]}
    gone = ident(sessions[15])

    def delete() -> None:  # as another process of the same user would
        backend.delete_session(DEFAULT_TOKEN, gone)

    # At 4 polls a second, a round of 60 sessions takes 15 s: every pick made at 10 s is read
    # by about 26 s (jitter included), before the delete at 40 s can end another session.
    on_time(
        backend.clock,
        {10.0: lambda: [backend.pick(sid) for sid in sorted(picked)], 40.0: delete},
    )
    backend.clear_attempts()
    limit = RateLimit(rate=4, burst=2)
    start = backend.clock.monotonic()
    seen: list[tuple[WaitOutcome, float]] = []
    async with client.wait_for_sessions(sessions, rate=limit) as waiting:
        async for outcome in waiting:
            seen.append((outcome, backend.clock.monotonic() - start))
    assert sorted(o.session_id for o, _ in seen) == sorted(ident(s) for s in sessions)
    by_id = {o.session_id: (o, at) for o, at in seen}
    assert {sid for sid, (o, _) in by_id.items() if o.ready} == picked
    assert by_id[gone][0].reason == "deleted"
    rest = [by_id[ident(s)][0] for s in sessions[16:]]
    assert {(o.status, o.reason) for o in rest} == {("ended", "timeoutIn")}
    assert [o.ready for o, _ in seen[:15]] == [True] * 15
    times = [a.time for a in backend.attempts("sessions.get")]
    assert most_in_one_second(times) <= limit.most_in(1.0) == 5
    span = (max(times) - min(times)).total_seconds()
    assert len(times) / span == pytest.approx(4, rel=0.1)  # the cap set the pace


async def test_polls_in_flight_stay_within_max_concurrency(
    client: AsyncPickerClient, backend: Backend
) -> None:
    backend.configure(polling_timeout="12s")
    sessions = await create(client, 200)
    before = len(asyncio.all_tasks())
    most = 0

    def count(_seconds: float) -> None:
        nonlocal most
        most = max(most, len(asyncio.all_tasks()) - before)

    backend.clock.on_sleep = count
    waiting = client.wait_for_sessions(sessions, rate=10_000, max_concurrency=5)
    outcomes = [o async for o in waiting]
    assert len(outcomes) == 200
    assert 0 <= most <= 5
    assert len(asyncio.all_tasks()) == before


async def test_cancel_stops_the_wait_and_leaves_the_sessions(
    client: AsyncPickerClient, backend: Backend
) -> None:
    sessions = await create(client, 20)
    backend.pick(ident(sessions[0]))
    waiting = client.wait_for_sessions(sessions, jitter=0)
    on_time(backend.clock, {12.0: waiting.cancel})
    outcomes = [o async for o in waiting]
    assert [o.session_id for o in outcomes] == [ident(sessions[0])]
    assert sorted(waiting.pending) == sorted(ident(s) for s in sessions[1:])
    sent = len(backend.attempts("sessions.get"))
    await asyncio.sleep(0.05)
    assert len(backend.attempts("sessions.get")) == sent
    live = {s.id for s in backend.sessions()}
    assert all(ident(s) in live for s in sessions)


async def test_cancelling_the_iterating_task_cancels_the_polls() -> None:
    backend = Backend(poll_interval="30s")
    async with AsyncPickerClient(transport=FakeAsyncTransport(backend), journal=False) as client:
        sessions = await create(client, 3)  # the real clock: a 30 s sleep comes first
        before = len(asyncio.all_tasks())

        async def wait() -> list[WaitOutcome]:
            return [o async for o in client.wait_for_sessions(sessions)]

        task = asyncio.ensure_future(wait())
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        assert len(asyncio.all_tasks()) == before


async def test_bad_input_is_refused_before_anything_is_sent(
    client: AsyncPickerClient, backend: Backend
) -> None:
    (session,) = await create(client, 1)
    backend.clear_attempts()
    with pytest.raises(ValueError, match="given twice"):
        client.wait_for_sessions([session, ident(session)])
    with pytest.raises(ValueError, match="max_concurrency"):
        client.wait_for_sessions([session], max_concurrency=0)
    assert backend.attempts() == []
