"""The asyncio side of bench/many_sessions.py: AsyncPickerClient.wait_for_sessions on
FakeAsyncTransport and a FakeClock (simulated) or over the loopback emulator (real time), and
a bare httpx GET + JSON parse on the same transport."""

from __future__ import annotations

import array
import asyncio
import gc
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import google.oauth2.credentials
import httpx

from picker_discovery import AsyncPickerClient, PickingSession, WaitOutcome
from picker_discovery.testing import Backend, FakeAsyncTransport

TOKEN = "bench-token"
LOG_EVERY = 100
"""Requests between two harvests of the fake's logs, on both sides: the wait's at the first
sleep after that many, the bare loop's after every that many."""


class AsyncSimulation:
    """A fake with ``count`` sessions, an async client on its clock, and a log of get times."""

    def __init__(self, count: int) -> None:
        self.backend = Backend(max_live_sessions=count, poll_interval="5s", polling_timeout="30s")
        self.clock = self.backend.clock
        self.transport = FakeAsyncTransport(self.backend)
        self.client = AsyncPickerClient(transport=self.transport, clock=self.clock, journal=False)
        self.sessions: list[PickingSession] = []
        self.count = count
        self.times = array.array("d")

    async def create(self) -> None:
        self.sessions = [await self.client.create_session() for _ in range(self.count)]
        self.backend.clear_attempts()
        self.start = self.clock.monotonic()
        self.start_time = self.clock.now()

    def harvest(self) -> None:
        """Move the fake's request log into ``times``, and drop the transport's record of the
        requests: neither is the waiter's memory."""
        for attempt in self.backend.attempts("sessions.get"):
            self.times.append((attempt.time - self.start_time).total_seconds())
        self.backend.clear_attempts()
        self.transport.requests.clear()

    def at(self, events: dict[float, Callable[[], object]]) -> None:
        """Run each event at its fake second of the wait (at the first sleep from then on),
        after a harvest; harvest as well once ``LOG_EVERY`` requests are logged."""
        pending = sorted(events.items())

        def hook(_seconds: float) -> None:
            due = pending and self.clock.monotonic() - self.start >= pending[0][0]
            if due or len(self.transport.requests) >= LOG_EVERY:
                self.harvest()
            while pending and self.clock.monotonic() - self.start >= pending[0][0]:
                pending.pop(0)[1]()

        self.clock.on_sleep = hook


def async_memory(count: int, rate: float, traced: bool, size: Callable[[], int]) -> float:
    """Bytes per session (``size``: heap or RSS) while ``count`` wait for their next poll."""

    async def run() -> float:
        sim = AsyncSimulation(count)
        await sim.create()
        measured: list[float] = []
        if traced:
            tracemalloc.start()
        gc.collect()
        before = size()
        waiting = sim.client.wait_for_sessions(sim.sessions, rate=rate)

        def measure() -> None:
            gc.collect()
            measured.append((size() - before) / count)
            waiting.cancel()

        sim.at({5.5 + count / rate + 1: measure})
        polled = [o async for o in waiting]
        tracemalloc.stop()
        sim.harvest()
        await sim.client.aclose()
        if polled or len(sim.times) < count:
            raise SystemExit(f"measured too early: {len(sim.times)} polls, {len(polled)} ended")
        return measured[0]

    return asyncio.run(run())


def async_round(count: int, rate: float) -> tuple[float, float, list[float], float]:
    """One round: a whole simulated wait on a fresh fake of ``count`` sessions, then as many
    bare GETs on the same fake (the same sessions, round robin, in the state the wait left
    them). CPU seconds per poll of each side, the get times of the wait, and its fake
    seconds."""

    async def run() -> tuple[float, float, list[float], float]:
        sim = AsyncSimulation(count)
        await sim.create()
        picked = [s.id for s in sim.sessions[: count // 10] if s.id is not None]
        sim.at({7.0: lambda: [sim.backend.pick(sid) for sid in picked]})
        gc.collect()
        cpu = time.process_time()
        outcomes: list[WaitOutcome] = [
            o async for o in sim.client.wait_for_sessions(sim.sessions, rate=rate)
        ]
        cpu = time.process_time() - cpu
        sim.clock.on_sleep = None
        sim.harvest()
        await sim.client.aclose()
        ready = sum(o.ready for o in outcomes)
        if len(outcomes) != count or ready != len(picked):
            raise SystemExit(f"{len(outcomes)} outcomes, {ready} ready")
        polls = len(sim.times)
        bare = await _bare(sim, polls)
        return cpu / polls, bare, list(sim.times), sim.clock.monotonic() - sim.start

    return asyncio.run(run())


async def _bare(sim: AsyncSimulation, polls: int) -> float:
    """CPU seconds per bare ``httpx.AsyncClient.get`` + ``.json()`` of the simulation's
    sessions, round robin, on a FakeAsyncTransport of its fake: the same async stack,
    transport and server state, no client of ours; ``polls`` of them after a warm-up."""
    urls = [f"{sim.backend.config.api_root}v1/sessions/{s.id}" for s in sim.sessions]
    transport = FakeAsyncTransport(sim.backend)
    async with httpx.AsyncClient(transport=transport) as http:
        for url in urls[:50]:
            (await http.get(url)).json()
        sim.backend.clear_attempts()
        transport.requests.clear()
        gc.collect()
        cpu = time.process_time()
        for index in range(polls):
            answer = await http.get(urls[index % len(urls)])
            answer.raise_for_status()
            answer.json()
            if index % LOG_EVERY == LOG_EVERY - 1:  # as the wait's logs are harvested
                sim.backend.clear_attempts()
                transport.requests.clear()
        return (time.process_time() - cpu) / polls


def async_loopback(
    url: str, count: int, rate: float, size: Callable[[], int], pick: Callable[[list[str]], Any]
) -> tuple[float, float]:
    """Wait on ``count`` sessions over the emulator at ``url``: size growth per session (at
    2.5 s) and CPU seconds of the wait."""

    async def run() -> tuple[float, float]:
        credentials = google.oauth2.credentials.Credentials(token=TOKEN)
        async with AsyncPickerClient(
            credentials=credentials, client_options={"api_endpoint": url}, journal=False
        ) as client:
            sessions = [await client.create_session() for _ in range(count)]
            sids = [s.id for s in sessions if s.id is not None]
            pick([])  # clears the emulator's request log
            gc.collect()
            before = size()
            sampled: list[float] = []
            loop = asyncio.get_running_loop()
            loop.call_later(2.5, lambda: sampled.append((size() - before) / count))
            loop.call_later(3.0, lambda: loop.run_in_executor(None, pick, sids[: count // 5]))
            cpu = time.process_time()
            outcomes = [o async for o in client.wait_for_sessions(sessions, rate=rate)]
            cpu = time.process_time() - cpu
            if len(outcomes) != count:
                raise SystemExit(f"{len(outcomes)} outcomes of {count}")
            for sid in sids:
                await client.delete_session(sid, missing_ok=True)
            return sampled[0], cpu

    return asyncio.run(run())
