"""Many sessions at once: memory per waiting session, CPU per poll and the request rate, for
``wait_for_sessions`` (``AsyncPickerClient``'s, and ``PickerClient``'s with a few threads)
against a thread per session calling ``wait_for_selection``.

Simulated (``--sessions``, 10,000): the in-process fake (``FakeAsyncTransport`` / ``FakeHttp``)
and one ``FakeClock`` shared by the client and the fake, so a wait of minutes takes seconds.
Created sessions are handed in, pollInterval 5 s, timeoutIn 30 s, a cap of ``--rate`` (1,000)
requests a second; a tenth are picked at 7 s. Memory: the growth of the Python heap
(``tracemalloc``, all of it) and of RSS, each in a fresh process,
once every session has been polled and waits for its next poll, per session; the fake's
records of the requests (its attempt log, the transport's list of requests) are dropped as the
wait goes, on both sides, since they are not the waiter's. CPU per poll:
process CPU time of the whole wait over the polls sent, against a bare GET + JSON parse on the
same stack and transport (``httpx.AsyncClient.get().json()`` for async, googleapiclient's
``execute()`` for sync). The async side runs ``--rounds`` rounds, each in a fresh process: the
whole wait, then as many bare GETs of the same sessions (round robin) on the same fake; it
prints min / median / max of the rounds and judges the ratio of the medians. Rate: the most
``sessions.get`` the fake received in any one second (half-open windows, fake time), against
the cap.

The thread-per-session side (``--threads``, 1,000) runs ``wait_for_selection`` in a thread per
session on the real clock, pollInterval 60 s, measured once every thread has polled once and
sleeps; its per-thread figure is compared with ours per session.

Loopback (``--loopback``, 1,000): the emulator in a child process, real time, pollInterval
1 s, timeoutIn 8 s, a fifth picked at 3 s; the async waiter under a cap of ``--loopback-rate``
(200/s) against a thread per session (no cap: what a naive poller does). RSS growth per waiting
session, CPU per poll of the waiting process, and the most requests the emulator saw in one
second.

    .venv/bin/python bench/many_sessions.py --sessions 10000 --threads 1000 --loopback 1000
"""

from __future__ import annotations

import argparse
import array
import contextlib
import gc
import json
import multiprocessing
import statistics
import threading
import time
import tracemalloc
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

import _common
import _many_async
import google.oauth2.credentials
from googleapiclient.discovery import build_from_document

from picker_discovery import (
    FakeClock,
    PickerClient,
    PickingCancelled,
    PickingSession,
    PickingTimeout,
    RateLimit,
)
from picker_discovery.testing import Backend, Emulator, FakeHttp

TOKEN = "bench-token"
KIB = 1024
MEMORY_TARGET = 4 * KIB  # bytes per waiting session
THREAD_RATIO_TARGET = 20.0  # a thread per session uses at least this many times more
CPU_TARGET = 1.5  # CPU per poll against a bare GET and parse


def rss() -> int:
    """This process's resident set size, in bytes."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * KIB
    raise RuntimeError("no VmRSS in /proc/self/status")


def heap() -> int:
    """Bytes the Python heap holds (traced by tracemalloc).

    Everything counts, wherever it was allocated: an answer's body kept by the waiter is
    made by the fake, yet it is the waiter's memory. What the fake keeps of its own (its log of
    requests) is dropped before measuring, on both sides."""
    return tracemalloc.get_traced_memory()[0]


def most_in_one_second(times: Sequence[float]) -> int:
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def spread(values: Sequence[float], digits: int = 0) -> str:
    """``min / median / max``."""
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{low:.{digits}f} / {mid:.{digits}f} / {high:.{digits}f}"


def ids(sessions: Sequence[PickingSession]) -> list[str]:
    return [s.id for s in sessions if s.id is not None]


# -- simulated: the in-process fake and a fake clock ---------------------------------------------


class Simulation:
    """A fake with ``count`` sessions, a client on its clock, and a log of get times."""

    def __init__(self, count: int) -> None:
        self.backend = Backend(max_live_sessions=count, poll_interval="5s", polling_timeout="30s")
        self.clock: FakeClock = self.backend.clock
        self.http = FakeHttp(self.backend)
        self.client = PickerClient(http=self.http, clock=self.clock, journal=False)
        self.sessions = [self.client.create_session() for _ in range(count)]
        self.backend.clear_attempts()
        self.start = self.clock.monotonic()
        self.start_time = self.clock.now()
        self.times = array.array("d")

    def harvest(self) -> None:
        """Move the fake's request log into ``times`` (seconds from the start), and drop the
        transport's record of the requests, so neither grows with the wait (nor counts as
        the waiter's memory)."""
        for attempt in self.backend.attempts("sessions.get"):
            self.times.append((attempt.time - self.start_time).total_seconds())
        self.backend.clear_attempts()
        del self.http.requests[:]

    def at(self, events: dict[float, Callable[[], object]]) -> None:
        pending = sorted(events.items())

        def hook(_seconds: float) -> None:
            self.harvest()
            while pending and self.clock.monotonic() - self.start >= pending[0][0]:
                pending.pop(0)[1]()

        self.clock.on_sleep = hook


def simulated_memory(count: int, rate: float, traced: bool) -> float:
    """Bytes per session while all ``count`` wait for their next poll: of the Python heap
    (``traced``: under tracemalloc) or of RSS (not traced: tracemalloc's own records would
    count)."""
    sim = Simulation(count)
    measured: list[float] = []
    if traced:
        tracemalloc.start()
    size = heap if traced else rss
    gc.collect()
    before = size()
    waiting = sim.client.wait_for_sessions(sim.sessions, rate=rate)
    first_polls_done = 5.5 + count / rate + 1  # the first at ~5 s (+ jitter), then the cap

    def measure() -> None:
        gc.collect()
        measured.append((size() - before) / count)
        waiting.cancel()

    sim.at({first_polls_done: measure})
    polled = list(waiting)
    tracemalloc.stop()
    sim.harvest()
    if polled or len(sim.times) < count:
        raise SystemExit(f"measured too early: {len(sim.times)} polls, {len(polled)} outcomes")
    return measured[0]


def simulated_run(count: int, rate: float) -> tuple[float, int, int, float]:
    """A whole wait: CPU seconds, polls sent, the most in one second, and fake seconds."""
    sim = Simulation(count)
    picked = ids(sim.sessions)[: count // 10]
    sim.at({7.0: lambda: [sim.backend.pick(sid) for sid in picked]})
    gc.collect()
    cpu = time.process_time()
    outcomes = list(sim.client.wait_for_sessions(sim.sessions, rate=rate))
    cpu = time.process_time() - cpu
    sim.harvest()
    ready = sum(o.ready for o in outcomes)
    if len(outcomes) != count or ready != len(picked):
        raise SystemExit(
            f"{len(outcomes)} outcomes, {ready} ready; expected {count}, {len(picked)}"
        )
    return cpu, len(sim.times), most_in_one_second(sim.times), sim.clock.monotonic() - sim.start


def bare_get(calls: int) -> float:
    """CPU seconds per plain googleapiclient ``sessions.get`` + JSON parse on ``FakeHttp``."""
    backend = Backend()
    plain = build_from_document(_common.document(), http=FakeHttp(backend, token=TOKEN))
    sid = plain.sessions().create(body={}).execute()["id"]
    sessions = plain.sessions()
    for _ in range(50):
        sessions.get(sessionId=sid).execute()
    backend.clear_attempts()
    gc.collect()
    cpu = time.process_time()
    for index in range(calls):
        sessions.get(sessionId=sid).execute()
        if index % 1000 == 999:
            backend.clear_attempts()
    return (time.process_time() - cpu) / calls


def thread_per_session_memory(count: int, traced: bool) -> float:
    """Bytes per thread (heap if ``traced``, else RSS), ``count`` threads each waiting in
    ``wait_for_selection``."""
    backend = Backend(max_live_sessions=count, poll_interval="60s", polling_timeout="600s")
    http = FakeHttp(backend, token=TOKEN)
    client = PickerClient(http=http, journal=False)  # the real clock
    sids = ids([client.create_session() for _ in range(count)])
    backend.clear_attempts()
    cancel = threading.Event()

    def wait(sid: str) -> None:
        with contextlib.suppress(PickingCancelled):  # when the measurement is done
            client.wait_for_selection(sid, cancel=cancel)

    if traced:
        tracemalloc.start()
    size = heap if traced else rss
    gc.collect()
    before = size()
    threads = [threading.Thread(target=wait, args=(sid,), daemon=True) for sid in sids]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    while len(backend.attempts("sessions.get")) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # every thread past its first poll, into its 60 s sleep
    backend.clear_attempts()  # the fake's records of the requests: not the threads' memory
    del http.requests[:]
    gc.collect()
    per = (size() - before) / count
    tracemalloc.stop()
    cancel.set()
    for thread in threads:
        thread.join()
    return per


def _child(conn: Connection, measure: Callable[..., Any], args: tuple[Any, ...]) -> None:
    conn.send(measure(*args))


def in_child(measure: Callable[..., Any], *args: Any) -> Any:
    """``measure(*args)`` in a fresh process, so that memory freed by an earlier measurement
    (which Python keeps for reuse) cannot hide this one's growth."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_child, args=(child, measure, args))
    process.start()
    try:
        return parent.recv()
    finally:
        process.join()


# -- loopback: the emulator in a child process, real time ----------------------------------------


def _serve(conn: Connection, count: int, workers: int) -> None:
    with Emulator(
        clock=FakeClock(ticking=True),
        workers=workers,
        poll_interval="1s",
        polling_timeout="8s",
        max_live_sessions=count,
    ) as emulator:
        conn.send(emulator.url)
        conn.recv()


@contextmanager
def emulator_process(count: int, workers: int) -> Iterator[str]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(child, count, workers), daemon=True)
    process.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the emulator process did not start within 60 s")
        yield str(parent.recv())
    finally:
        parent.send("stop")
        process.join(30)
        if process.is_alive():
            process.terminate()
            process.join()


def control(url: str, action: str, body: Any = None, method: str = "POST") -> Any:
    data = json.dumps(body or {}).encode() if method == "POST" else None
    request = urllib.request.Request(
        f"{url}_control/{action}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read() or b"{}")


def get_times(url: str) -> list[float]:
    attempts = control(url, "attempts", method="GET")["attempts"]
    return [a["monotonic"] for a in attempts if a["method"] == "sessions.get"]


def loopback_client(url: str) -> PickerClient:
    credentials = google.oauth2.credentials.Credentials(token=TOKEN)
    return PickerClient(
        credentials=credentials, client_options={"api_endpoint": url}, journal=False
    )


def loopback(count: int, rate: float, side: str) -> tuple[float, float, int, int]:
    """RSS bytes per waiting session, CPU per poll, polls, and the most gets in one second;
    ``side`` is ``"async"`` (AsyncPickerClient.wait_for_sessions) or ``"threads"``."""
    with emulator_process(count, workers=count + 64 if side == "threads" else 64) as url:

        def pick(sids: list[str]) -> None:
            if not sids:
                control(url, "attempts", method="DELETE")
            for sid in sids:
                control(url, "pick", {"session_id": sid})

        if side == "async":
            per, cpu = _many_async.async_loopback(url, count, rate, rss, pick)
        else:
            per, cpu = _threads_loopback(url, count, pick)
        times = get_times(url)
    return per, cpu / len(times), len(times), most_in_one_second(times)


def _threads_loopback(
    url: str, count: int, pick: Callable[[list[str]], None]
) -> tuple[float, float]:
    client = loopback_client(url)
    sessions = [client.create_session() for _ in range(count)]
    sids = ids(sessions)
    pick([])
    picker = threading.Timer(3.0, pick, args=(sids[: count // 5],))
    sampled: list[float] = []
    gc.collect()
    before = rss()
    sampler = threading.Timer(2.5, lambda: sampled.append((rss() - before) / count))
    cpu = time.process_time()
    picker.start()
    sampler.start()
    _threads_wait(client, sessions)
    cpu = time.process_time() - cpu
    picker.join()
    for sid in sids:
        client.delete_session(sid, missing_ok=True)
    return sampled[0], cpu


def _threads_wait(client: PickerClient, sessions: Sequence[PickingSession]) -> None:
    def wait(session: PickingSession) -> None:
        with contextlib.suppress(PickingTimeout):  # for those nobody picks
            client.wait_for_selection(session)

    threads = [threading.Thread(target=wait, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# -- the report ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000, help="simulated sessions")
    parser.add_argument("--rate", type=float, default=1000.0, help="simulated cap, requests/s")
    parser.add_argument("--threads", type=int, default=1000, help="thread-per-session side")
    parser.add_argument("--bare-calls", type=int, default=3000, help="bare GETs timed (sync)")
    parser.add_argument("--rounds", type=int, default=3, help="async CPU rounds")
    parser.add_argument("--loopback", type=int, default=1000, help="loopback sessions (0: skip)")
    parser.add_argument("--loopback-rate", type=float, default=200.0, help="loopback cap")
    args = parser.parse_args()
    count, rate = args.sessions, args.rate
    cap = RateLimit(rate).most_in(1.0)
    mine = "AsyncPickerClient.wait_for_sessions"

    a_heap = in_child(_many_async.async_memory, count, rate, True, heap)
    a_rss = in_child(_many_async.async_memory, count, rate, False, rss)
    s_heap = in_child(simulated_memory, count, rate, True)
    s_rss = in_child(simulated_memory, count, rate, False)
    t_heap = in_child(thread_per_session_memory, args.threads, True)
    t_rss = in_child(thread_per_session_memory, args.threads, False)
    _common.note(
        f"simulated: {count} sessions on the in-process fake and a FakeClock, cap {rate:g}/s, "
        f"pollInterval 5 s, timeoutIn 30 s; thread per session: {args.threads} threads on the "
        "real clock, pollInterval 60 s. Bytes per waiting session, each side in a fresh "
        "process (heap: tracemalloc, all of it; the fake's records of the requests dropped on "
        "both sides)"
    )
    for label, ours_value, theirs_value in (
        ("heap", a_heap, t_heap),
        ("RSS", a_rss, t_rss),
    ):
        _common.figure(
            f"memory per waiting session, {label}",
            ours_value,
            theirs_value,
            "B",
            ours_label=mine,
            theirs_label="thread per session",
            precision=0,
        )
    for label, ours_value in (("heap", s_heap), ("RSS", s_rss)):
        _common.figure(
            f"memory per waiting session, {label}, sync waiter",
            ours_value,
            t_heap if label == "heap" else t_rss,
            "B",
            ours_label="PickerClient.wait_for_sessions",
            theirs_label="thread per session",
            precision=0,
        )
    ours_total, theirs_total = max(a_heap, a_rss), max(t_heap, t_rss)
    print(
        f"memory per waiting session (larger of heap and RSS), async: {ours_total:.0f} B | "
        f"target <= {MEMORY_TARGET} B: {_common.verdict(ours_total, None, MEMORY_TARGET)}",
        flush=True,
    )
    ratio = theirs_total / ours_total if ours_total > 0 else float("inf")
    print(
        f"thread per session / async, memory per waiting session: {ratio:.1f}x | target "
        f">= {THREAD_RATIO_TARGET:g}x: {_common.verdict(ratio, THREAD_RATIO_TARGET, None)}",
        flush=True,
    )

    rounds = [in_child(_many_async.async_round, count, rate) for _ in range(args.rounds)]
    times, span = rounds[0][2], rounds[0][3]
    ours_cpu = [r[0] * 1e6 for r in rounds]
    bare_cpu = [r[1] * 1e6 for r in rounds]
    ratios = [o / b for o, b in zip(ours_cpu, bare_cpu, strict=True)]
    _common.note(
        f"simulated async wait of {count} sessions: {len(times)} polls over {span:.0f} fake "
        f"seconds; {args.rounds} rounds, each a fresh process and fake: the wait, then as many "
        "bare polls (httpx.AsyncClient.get + .json() on FakeAsyncTransport, the same "
        "sessions round robin) on the same fake. CPU per poll, min / median / max of the "
        f"rounds: ours {spread(ours_cpu)} us, bare {spread(bare_cpu)} us, ratio "
        f"{spread(ratios, 2)}"
    )
    _common.figure(
        "CPU per poll, async, in-process (medians of the rounds)",
        statistics.median(ours_cpu),
        statistics.median(bare_cpu),
        "us",
        ours_label=mine,
        theirs_label="bare async GET and parse",
        target=f"<= {CPU_TARGET}",
        met=_common.verdict(
            statistics.median(ours_cpu) / statistics.median(bare_cpu), None, CPU_TARGET
        ),
        precision=1,
    )
    peak = max(most_in_one_second(r[2]) for r in rounds)
    _common.figure(
        "simulated async, most requests in one second",
        peak,
        cap,
        "requests",
        ours_label=mine,
        theirs_label="cap",
        target=f"<= {cap}",
        met=_common.verdict(peak, None, cap),
        precision=0,
    )
    s_cpu, s_polls, s_peak, _ = simulated_run(count, rate)
    s_bare = bare_get(args.bare_calls)
    _common.figure(
        "CPU per poll, sync waiter, in-process",
        s_cpu / s_polls * 1e6,
        s_bare * 1e6,
        "us",
        ours_label="PickerClient.wait_for_sessions",
        theirs_label="bare googleapiclient get().execute()",
        precision=1,
    )
    _common.figure(
        "simulated sync waiter, most requests in one second",
        s_peak,
        cap,
        "requests",
        ours_label="PickerClient.wait_for_sessions",
        theirs_label="cap",
        target=f"<= {cap}",
        met=_common.verdict(s_peak, None, cap),
        precision=0,
    )

    if args.loopback:
        lb = args.loopback
        ours = in_child(loopback, lb, args.loopback_rate, "async")
        theirs = in_child(loopback, lb, args.loopback_rate, "threads")
        _common.note(
            f"loopback: {lb} sessions, emulator in a child process, pollInterval 1 s, timeoutIn "
            f"8 s, a fifth picked at 3 s; ours capped at {args.loopback_rate:g}/s, theirs {lb} "
            f"threads and no cap; polls: ours {ours[2]}, theirs {theirs[2]}"
        )
        _common.figure(
            "loopback, RSS per waiting session",
            ours[0],
            theirs[0],
            "B",
            ours_label=mine,
            theirs_label="thread per session",
            precision=0,
        )
        _common.figure(
            "loopback, CPU per poll",
            ours[1] * 1e6,
            theirs[1] * 1e6,
            "us",
            ours_label=mine,
            theirs_label="thread per session",
            precision=1,
        )
        lb_cap = RateLimit(args.loopback_rate).most_in(1.0)
        _common.figure(
            "loopback, most requests in one second",
            ours[3],
            lb_cap,
            "requests",
            ours_label=mine,
            theirs_label="cap",
            target=f"<= {lb_cap} (+1: arrivals timed at the server)",
            met=_common.verdict(ours[3], None, lb_cap + 1),
            precision=0,
        )
        _common.figure(
            "loopback, most requests in one second, thread per session",
            theirs[3],
            lb_cap,
            "requests",
            ours_label="thread per session",
            theirs_label="the cap it does not have",
            precision=0,
        )


if __name__ == "__main__":
    main()
