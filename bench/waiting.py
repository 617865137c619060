"""Waiting: requests sent and CPU used while waiting for a pick that never comes.

Simulated: ``PickerClient.wait_for_selection(session, timeout=60)`` against the in-process fake
(pollInterval 5 s), on one FakeClock the client and the fake share (a client sleep moves
the fake's time), so 60 s pass in no real time. Printed: the ``sessions.get`` requests the fake
received against the 60 / 5 = 12 the server asked for (target 12 +- 1), and the process CPU
time of the wait (``time.process_time``, the fake's serving included) as a share of the 60
simulated seconds (target: well under 1 %), next to a plain googleapiclient loop that sends
the same polls (get, check mediaItemsSet, sleep pollInterval) on the same kind of clock.

Real: one short real wait, ``--real-seconds`` (3 s) at a 0.5 s pollInterval over the loopback
emulator, ours against the same plain loop with ``time.sleep``. Printed: the waiting thread's
CPU time (``time.thread_time``: the client alone, not the emulator's threads) as a share of the
wall time.

    .venv/bin/python bench/waiting.py --rounds 20 --real-seconds 3
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import _common
import google.oauth2.credentials
from googleapiclient.discovery import build_from_document

from picker_discovery import PickerClient, PickingTimeout
from picker_discovery._clock import Clock, FakeClock, SystemClock
from picker_discovery.testing import Backend, Emulator, FakeHttp

TOKEN = "bench-token"
CPU_TARGET = 0.01


def plain_wait(service: Any, sid: str, clock: Clock, timeout: float) -> int:
    """The plain loop: get, stop once picked, else sleep the pollInterval; returns polls."""
    started = clock.monotonic()
    polls = 0
    while True:
        session = service.sessions().get(sessionId=sid).execute()
        polls += 1
        if session.get("mediaItemsSet"):
            return polls
        interval = float(session["pollingConfig"]["pollInterval"].rstrip("s"))
        if clock.monotonic() + interval >= started + timeout:
            clock.sleep(started + timeout - clock.monotonic())
            return polls
        clock.sleep(interval)


def our_wait(client: PickerClient, session: Any, timeout: float) -> None:
    try:
        client.wait_for_selection(session, timeout=timeout)
    except PickingTimeout:
        pass
    else:
        raise SystemExit("the wait ended with a pick; nobody picks in this benchmark")


def simulated(rounds: int, seconds: float) -> None:
    backend = Backend(max_live_sessions=10**9)
    plain = build_from_document(_common.document(), http=FakeHttp(backend, token=TOKEN))

    def ours() -> tuple[float, int, float]:
        clock = backend.clock
        client = PickerClient(http=FakeHttp(backend, token=TOKEN), clock=clock)
        session = client.create_session()
        backend.clear_attempts()
        start = clock.monotonic()
        cpu = time.process_time()
        our_wait(client, session, seconds)
        cpu = time.process_time() - cpu
        return cpu, len(backend.attempts("sessions.get")), clock.monotonic() - start

    def theirs() -> tuple[float, int, float]:
        clock = backend.clock
        sid = plain.sessions().create(body={}).execute()["id"]
        backend.clear_attempts()
        start = clock.monotonic()
        cpu = time.process_time()
        plain_wait(plain, sid, clock, seconds)
        cpu = time.process_time() - cpu
        return cpu, len(backend.attempts("sessions.get")), clock.monotonic() - start

    mine, other = _common.interleaved(rounds, ours, theirs)
    interval = backend.config.poll_interval.total_seconds()
    expected = seconds / interval
    _common.note(
        f"simulated wait: {seconds:g} s on a shared fake clock, pollInterval {interval:g} s, "
        f"{rounds} rounds; the fake's serving counts as CPU on both sides. Ours is given the "
        "created session, whose pollingConfig paces the first poll (polls at 5 .. 55 s); the "
        "plain loop polls at once (0 .. 55 s)"
    )
    requests = _common.median([r[1] for r in mine])
    _common.figure(
        f"simulated {seconds:g} s wait, sessions.get requests",
        requests,
        expected,
        "requests",
        ours_label="PickerClient",
        theirs_label="asked for (wait / pollInterval)",
        target=f"{expected:g} +- 1",
        met=_common.verdict(requests, expected - 1, expected + 1),
        precision=0,
    )
    _common.figure(
        f"simulated {seconds:g} s wait, requests of the plain loop",
        requests,
        _common.median([r[1] for r in other]),
        "requests",
        ours_label="PickerClient",
        theirs_label="plain googleapiclient loop",
        precision=0,
    )
    waited = _common.median([r[2] for r in mine])
    share = _common.median([r[0] for r in mine]) / waited
    _common.figure(
        f"simulated {seconds:g} s wait, CPU share of the wait",
        share * 100,
        _common.median([r[0] for r in other]) / _common.median([r[2] for r in other]) * 100,
        "%",
        ours_label="PickerClient",
        theirs_label="plain googleapiclient loop",
        target=f"< {CPU_TARGET * 100:g} %",
        met=_common.verdict(share, None, CPU_TARGET),
        precision=4,
    )


def real(seconds: float, interval: float) -> None:
    with Emulator(clock=FakeClock(ticking=True), poll_interval=interval) as emulator:
        credentials = google.oauth2.credentials.Credentials(token=TOKEN)
        options = {"api_endpoint": emulator.url}
        client = PickerClient(credentials=credentials, client_options=options)
        plain = build_from_document(
            _common.document(), credentials=credentials, client_options=options
        )
        backend = emulator.backend

        def ours() -> tuple[float, int, float]:
            session = client.create_session()
            backend.clear_attempts()
            return _real_run(lambda: our_wait(client, session, seconds), backend)

        def theirs() -> tuple[float, int, float]:
            sid = plain.sessions().create(body={}).execute()["id"]
            backend.clear_attempts()
            return _real_run(lambda: plain_wait(plain, sid, SystemClock(), seconds), backend)

        (mine,), (other,) = _common.interleaved(1, ours, theirs)
    _common.note(
        f"real wait: {seconds:g} s at pollInterval {interval:g} s over the loopback emulator; "
        f"requests: ours {mine[1]}, plain loop {other[1]}; CPU of the waiting thread only"
    )
    share = mine[0] / mine[2]
    _common.figure(
        f"real {seconds:g} s wait, CPU share of the wait",
        share * 100,
        other[0] / other[2] * 100,
        "%",
        ours_label="PickerClient",
        theirs_label="plain googleapiclient loop",
        target=f"< {CPU_TARGET * 100:g} %",
        met=_common.verdict(share, None, CPU_TARGET),
        precision=3,
    )


def _real_run(wait: Callable[[], object], backend: Backend) -> tuple[float, int, float]:
    start = time.perf_counter()
    cpu = time.thread_time()
    wait()
    cpu = time.thread_time() - cpu
    wall = time.perf_counter() - start
    return cpu, len(backend.attempts("sessions.get")), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="simulated waits per side")
    parser.add_argument("--seconds", type=float, default=60.0, help="simulated wait (60 s)")
    parser.add_argument("--real-seconds", type=float, default=3.0, help="real wait (0: skip)")
    parser.add_argument("--real-interval", type=float, default=0.5, help="real pollInterval")
    args = parser.parse_args()
    simulated(args.rounds, args.seconds)
    if args.real_seconds:
        real(args.real_seconds, args.real_interval)


if __name__ == "__main__":
    main()
