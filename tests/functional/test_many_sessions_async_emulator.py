"""AsyncPickerClient.wait_for_sessions over real HTTP (httpx on sockets, the loopback
emulator, real time): many polls in flight at once on the same connection pool, none failing,
every session reported once."""

from __future__ import annotations

import asyncio

import google.oauth2.credentials
import pytest

from picker_discovery import AsyncPickerClient, FakeClock, RateLimit, WaitOutcome
from picker_discovery.testing import Emulator

COUNT = 24


@pytest.mark.parametrize("max_concurrency", [1, 8])
def test_many_polls_in_flight_over_loopback(max_concurrency: int) -> None:
    with Emulator(
        clock=FakeClock(ticking=True),
        poll_interval="0.25s",
        polling_timeout="3s",
        max_live_sessions=COUNT,
    ) as emulator:

        async def run() -> tuple[list[str], list[WaitOutcome]]:
            async with AsyncPickerClient(
                credentials=google.oauth2.credentials.Credentials(token="many"),
                client_options={"api_endpoint": emulator.url},
                journal=False,
            ) as client:
                sessions = [await client.create_session() for _ in range(COUNT)]
                ids = [s.id for s in sessions if s.id is not None]
                loop = asyncio.get_running_loop()
                loop.call_later(1.0, lambda: [emulator.backend.pick(sid) for sid in ids[:6]])
                waiting = client.wait_for_sessions(
                    sessions, rate=RateLimit(60.0), max_concurrency=max_concurrency
                )
                outcomes = [o async for o in waiting]
                for sid in ids:
                    await client.delete_session(sid, missing_ok=True)
                return ids, outcomes

        ids, outcomes = asyncio.run(run())
    assert sorted(o.session_id for o in outcomes) == sorted(ids)
    assert [o.error for o in outcomes] == [None] * COUNT
    assert {o.session_id for o in outcomes if o.ready} == set(ids[:6])
    assert {(o.status, o.reason) for o in outcomes if not o.ready} == {("ended", "timeoutIn")}
