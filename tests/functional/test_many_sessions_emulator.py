"""wait_for_sessions over real HTTP: tens of sessions on the loopback emulator, in real time,
some picked while the wait runs, all polled under one rate cap."""

from __future__ import annotations

import threading

import google.oauth2.credentials

from picker_discovery import FakeClock, PickerClient, PickingSession, RateLimit
from picker_discovery.testing import Emulator

COUNT = 40
RATE = 25.0


def most_in_one_second(times: list[float]) -> int:
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_tens_of_sessions_over_loopback_each_reported_once_under_the_cap() -> None:
    # 40 sessions polled every 0.25 s would send 160 requests a second; the cap allows 25.
    with Emulator(
        clock=FakeClock(ticking=True),
        poll_interval="0.25s",
        polling_timeout="4s",
        max_live_sessions=COUNT,
    ) as emulator:
        client = PickerClient(
            credentials=google.oauth2.credentials.Credentials(token="many"),
            client_options={"api_endpoint": emulator.url},
            journal=False,
        )
        sessions: list[PickingSession] = [client.create_session() for _ in range(COUNT)]
        ids = [s.id for s in sessions if s.id is not None]
        picked = set(ids[:10])
        emulator.backend.clear_attempts()
        timer = threading.Timer(1.0, lambda: [emulator.backend.pick(sid) for sid in picked])
        timer.start()
        try:
            outcomes = list(client.wait_for_sessions(sessions, rate=RateLimit(RATE)))
        finally:
            timer.cancel()
            for sid in ids:
                client.delete_session(sid, missing_ok=True)
        times = [a.monotonic for a in emulator.backend.attempts("sessions.get")]
    assert sorted(o.session_id for o in outcomes) == sorted(ids)
    assert {o.session_id for o in outcomes if o.ready} == picked
    assert all(o.session is not None and o.session.media_items_set for o in outcomes if o.ready)
    assert {(o.status, o.reason) for o in outcomes if o.session_id not in picked} == {
        ("ended", "timeoutIn")
    }
    assert [o.ready for o in outcomes[:10]] == [True] * 10
    # Arrivals are timed at the server, after threads and sockets: on a loaded machine a
    # request can arrive tens of ms after its token while the next one does not, so a window
    # of arrivals may hold a token or two more than a window of tokens (the unit tests check
    # the tokens exactly, on the fake's log). Over the whole wait the pace is the cap's.
    assert most_in_one_second(times) <= RATE + 3
    ordered = sorted(times)
    assert (len(ordered) - 1) / (ordered[-1] - ordered[0]) <= RATE * 1.05
    assert len(times) > 3 * RATE  # the cap, not the sessions, set the pace
