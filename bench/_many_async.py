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


class AsyncSimulation:
    """A fake with ``count`` sessions, an async client on its clock, and a log of get times."""

    def __init__(self, count: int) -> None:
        self.backend = Backend(max_live_sessions=count, poll_interval="5s", polling_timeout="30s")
        self.clock = self.backend.clock
        self.client = AsyncPickerClient(
            transport=FakeAsyncTransport(self.backend), clock=self.clock, journal=False
        )
        self.sessions: list[PickingSession] = []
        self.count = count
        self.times = array.array("d")

    async def create(self) -> None:
        self.sessions = [await self.client.create_session() for _ in range(self.count)]
        self.backend.clear_attempts()
        self.start = self.clock.monotonic()
        self.start_time = self.clock.now()

    def harvest(self) -> None:
        for attempt in self.backend.attempts("sessions.get"):
            self.times.append((attempt.time - self.start_time).total_seconds())
        self.backend.clear_attempts()

    def at(self, events: dict[float, Callable[[], object]]) -> None:
        pending = sorted(events.items())

        def hook(_seconds: float) -> None:
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


def async_run(count: int, rate: float) -> tuple[float, list[float], float]:
    """A whole simulated wait: CPU seconds, the get times, and fake seconds."""

    async def run() -> tuple[float, list[float], float]:
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
        sim.harvest()
        await sim.client.aclose()
        ready = sum(o.ready for o in outcomes)
        if len(outcomes) != count or ready != len(picked):
            raise SystemExit(f"{len(outcomes)} outcomes, {ready} ready")
        return cpu, list(sim.times), sim.clock.monotonic() - sim.start

    return asyncio.run(run())


def async_bare(calls: int) -> float:
    """CPU seconds per bare ``httpx.AsyncClient.get`` + ``.json()`` of a session on
    FakeAsyncTransport: the same async stack and transport, no client of ours."""

    async def run() -> float:
        backend = Backend()
        transport = FakeAsyncTransport(backend, token=TOKEN)
        async with AsyncPickerClient(
            transport=FakeAsyncTransport(backend, token=TOKEN), journal=False
        ) as ours:
            sid = (await ours.create_session()).id
        url = f"{backend.config.api_root}v1/sessions/{sid}"
        async with httpx.AsyncClient(transport=transport) as http:
            for _ in range(50):
                (await http.get(url)).json()
            backend.clear_attempts()
            gc.collect()
            cpu = time.process_time()
            for index in range(calls):
                answer = await http.get(url)
                answer.raise_for_status()
                answer.json()
                if index % 1000 == 999:
                    backend.clear_attempts()
            return (time.process_time() - cpu) / calls

    return asyncio.run(run())


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
