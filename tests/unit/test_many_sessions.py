"""PickerClient.wait_for_sessions: many sessions waited on at once, with a few threads, under
one rate cap, on the in-process fake and a fake clock the client and the fake share (a sleep of
the waiter moves the fake's time; picks are made from the clock's ``on_sleep`` hook)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime

import pytest

from picker_discovery import (
    BadArgument,
    FakeClock,
    PermissionDenied,
    PickerClient,
    PickingSession,
    RateLimit,
    WaitOutcome,
)
from picker_discovery.testing import Backend, FakeHttp, Fault

POLL = 5.0  # the fake's pollInterval
TIMEOUT_IN = 60.0  # the fake's polling timeout


@pytest.fixture
def backend() -> Backend:
    return Backend(
        max_live_sessions=10_000, poll_interval=f"{POLL:g}s", polling_timeout=f"{TIMEOUT_IN:g}s"
    )


@pytest.fixture
def client(backend: Backend) -> PickerClient:
    return PickerClient(http=FakeHttp(backend), clock=backend.clock, journal=False)


def create(client: PickerClient, count: int) -> list[PickingSession]:
    return [client.create_session() for _ in range(count)]


def ident(session: PickingSession) -> str:
    assert session.id is not None
    return session.id


def on_time(clock: FakeClock, events: dict[float, Callable[[], object]]) -> None:
    """Run each event once the clock has passed its time (seconds from now)."""
    start = clock.monotonic()
    pending = sorted(events.items())

    def hook(_seconds: float) -> None:
        while pending and clock.monotonic() - start >= pending[0][0]:
            pending.pop(0)[1]()

    clock.on_sleep = hook


def get_times(backend: Backend) -> list[datetime]:
    return [attempt.time for attempt in backend.attempts("sessions.get")]


def most_in_one_second(times: Iterable[datetime]) -> int:
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while (t - ordered[start]).total_seconds() >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_each_session_is_reported_once_ready_ones_first_ended_ones_with_their_reason(
    client: PickerClient, backend: Backend
) -> None:
    sessions = create(client, 30)
    picked = {ident(s) for s in sessions[:10]}
    gone = ident(sessions[10])
    on_time(
        backend.clock,
        {
            12.0: lambda: [backend.pick(sid) for sid in sorted(picked)],
            20.0: lambda: client.delete_session(gone),
        },
    )
    start = backend.clock.monotonic()
    seen: list[tuple[WaitOutcome, float]] = []
    for outcome in client.wait_for_sessions(sessions, rate=100):
        seen.append((outcome, backend.clock.monotonic() - start))
    ids = [outcome.session_id for outcome, _ in seen]
    assert sorted(ids) == sorted(ident(s) for s in sessions)  # each one, once
    by_id = {outcome.session_id: (outcome, at) for outcome, at in seen}
    for sid in picked:
        outcome, at = by_id[sid]
        assert outcome.ready and outcome.session is not None and outcome.session.media_items_set
        assert at <= 12.0 + POLL * 1.1 + 1  # seen within one (jittered) interval of the pick
    outcome, at = by_id[gone]
    assert (outcome.status, outcome.reason, outcome.session) == ("ended", "deleted", None)
    assert at <= 20.0 + POLL * 1.1 + 1
    rest = [by_id[ident(s)] for s in sessions[11:]]
    assert {(o.status, o.reason) for o, _ in rest} == {("ended", "timeoutIn")}
    assert all(TIMEOUT_IN <= at <= TIMEOUT_IN + 1 for _, at in rest)
    assert [o.status for o, _ in seen[:10]] == ["ready"] * 10  # picks come out first


def test_no_second_holds_more_requests_than_the_cap(client: PickerClient, backend: Backend) -> None:
    # 40 sessions polled every 5 s want 8 requests a second; the cap allows 3.
    backend.configure(poll_interval="5s", polling_timeout="40s")
    sessions = create(client, 40)
    backend.clear_attempts()
    outcomes = list(client.wait_for_sessions(sessions, rate=RateLimit(rate=3, burst=2)))
    assert len(outcomes) == 40
    times = get_times(backend)
    assert most_in_one_second(times) <= RateLimit(rate=3, burst=2).most_in(1.0) == 4
    # The cap was what held the pace: close to 3 a second for the whole wait.
    span = (max(times) - min(times)).total_seconds()
    assert len(times) / span == pytest.approx(3, rel=0.1)


def test_a_session_is_polled_at_its_own_interval_when_the_cap_allows(
    client: PickerClient, backend: Backend
) -> None:
    backend.configure(polling_timeout="30s")
    (session,) = create(client, 1)
    backend.clear_attempts()
    (outcome,) = client.wait_for_sessions([session], jitter=0)
    assert (outcome.status, outcome.reason) == ("ended", "timeoutIn")
    times = get_times(backend)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert gaps and all(gap == pytest.approx(POLL, abs=0.01) for gap in gaps)
    assert outcome.polls == len(times)


def test_jitter_spreads_the_polls_of_sessions_made_together(
    client: PickerClient, backend: Backend
) -> None:
    def first_polls(jitter: float) -> list[float]:
        backend.configure(polling_timeout="8s")
        sessions = create(client, 20)
        backend.clear_attempts()
        start = backend.clock.now()
        list(client.wait_for_sessions(sessions, rate=1000, jitter=jitter))
        seen: dict[str, datetime] = {}
        for attempt in backend.attempts("sessions.get"):
            seen.setdefault(attempt.path, attempt.time)
        return [(t - start).total_seconds() for t in seen.values()]

    together = first_polls(0)
    assert max(together) - min(together) < 0.1  # all at the first pollInterval
    spread = first_polls(0.5)
    assert all(POLL <= t <= POLL * 1.5 + 0.1 for t in spread)
    assert max(spread) - min(spread) > POLL * 0.25
    assert len({round(t, 3) for t in spread}) > 15


def test_threads_stay_bounded_whatever_the_number_of_sessions(
    client: PickerClient, backend: Backend
) -> None:
    backend.configure(polling_timeout="20s")
    sessions = create(client, 300)
    before = threading.active_count()
    most = before
    counts: list[int] = []

    def count(_seconds: float) -> None:
        counts.append(threading.active_count())

    backend.clock.on_sleep = count
    with client.wait_for_sessions(sessions, rate=1000, max_workers=3) as waiting:
        for _outcome in waiting:
            counts.append(threading.active_count())
    most = max(counts)
    assert before < most <= before + 3
    assert len(backend.attempts("sessions.get")) > 300  # the pool did poll them all
    deadline = time.monotonic() + 10
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before  # the pool's threads are gone


def test_cancel_stops_the_wait_promptly_and_leaves_the_sessions(
    client: PickerClient, backend: Backend
) -> None:
    sessions = create(client, 20)
    backend.pick(ident(sessions[0]))
    cancel = threading.Event()
    cancelled_at: list[float] = []

    def stop() -> None:
        cancelled_at.append(backend.clock.monotonic())
        cancel.set()

    on_time(backend.clock, {12.0: stop})
    waiting = client.wait_for_sessions(sessions, cancel=cancel, jitter=0)
    outcomes = list(waiting)
    assert [o.session_id for o in outcomes] == [ident(sessions[0])]
    assert sorted(waiting.pending) == sorted(ident(s) for s in sessions[1:])
    sent = len(backend.attempts("sessions.get"))
    time.sleep(0.2)
    assert len(backend.attempts("sessions.get")) == sent  # nothing more is sent
    assert backend.clock.monotonic() == cancelled_at[0]  # no sleep after the cancel
    live = {s.id for s in backend.sessions()}
    assert all(ident(s) in live for s in sessions)  # the caller's to delete


def test_cancel_from_another_thread_on_the_real_clock_ends_a_long_sleep_at_once() -> None:
    backend = Backend(poll_interval="30s")
    client = PickerClient(http=FakeHttp(backend), journal=False)  # the real clock
    sessions = create(client, 3)
    waiting = client.wait_for_sessions(sessions)
    threading.Timer(0.2, waiting.cancel).start()
    started = time.monotonic()
    assert list(waiting) == []
    assert time.monotonic() - started < 5  # not the 30 s pollInterval


def test_leaving_the_block_early_stops_polling(client: PickerClient, backend: Backend) -> None:
    sessions = create(client, 10)
    for session in sessions[:2]:
        backend.pick(ident(session))
    with client.wait_for_sessions([ident(s) for s in sessions], rate=1000) as waiting:
        first = next(waiting)
    assert first.ready
    sent = len(backend.attempts("sessions.get"))
    time.sleep(0.1)
    assert len(backend.attempts("sessions.get")) == sent
    with pytest.raises(StopIteration):
        next(waiting)


def test_a_failing_poll_fails_its_session_only_and_a_transient_one_is_retried(
    client: PickerClient, backend: Backend
) -> None:
    sessions = create(client, 3)
    backend.expire_session(ident(sessions[0]))  # its gets now answer 403 PERMISSION_DENIED
    backend.pick(ident(sessions[1]))
    backend.set_faults("sessions.get", [Fault(status=503)])  # the first get only
    outcomes = {o.session_id: o for o in client.wait_for_sessions([ident(s) for s in sessions])}
    expired = outcomes[ident(sessions[0])]
    assert expired.status == "failed" and isinstance(expired.error, PermissionDenied)
    assert ident(sessions[0]) in str(expired.error)
    assert outcomes[ident(sessions[1])].ready
    assert outcomes[ident(sessions[2])].reason == "timeoutIn"


def test_a_session_handed_in_already_picked_is_reported_without_a_poll(
    client: PickerClient, backend: Backend
) -> None:
    (session,) = create(client, 1)
    backend.pick(ident(session))
    picked = client.get_session(ident(session))
    backend.clear_attempts()
    (outcome,) = client.wait_for_sessions([picked])
    assert outcome.ready and outcome.polls == 0
    assert backend.attempts() == []


def test_the_callers_timeout_counts_from_the_start_even_when_the_cap_holds_polls_back(
    client: PickerClient, backend: Backend
) -> None:
    sessions = create(client, 30)
    start = backend.clock.monotonic()
    ends = []
    for outcome in client.wait_for_sessions([ident(s) for s in sessions], rate=1, timeout=10):
        ends.append(backend.clock.monotonic() - start)
        assert (outcome.status, outcome.reason) == ("ended", "timeout")
    assert len(ends) == 30 and max(ends) <= 10 + 1.5


def test_bad_input_is_refused_before_anything_is_sent(
    client: PickerClient, backend: Backend
) -> None:
    (session,) = create(client, 1)
    backend.clear_attempts()
    with pytest.raises(BadArgument, match="given twice"):
        client.wait_for_sessions([session, ident(session)])
    with pytest.raises(ValueError):
        client.wait_for_sessions([ident(session), "../other"])
    with pytest.raises(BadArgument, match="max_workers"):
        client.wait_for_sessions([session], max_workers=0)
    with pytest.raises(BadArgument, match="rate"):
        client.wait_for_sessions([session], rate=0)
    with pytest.raises(BadArgument, match="timeout"):
        client.wait_for_sessions([session], timeout=-1)
    assert backend.attempts() == []
    assert list(client.wait_for_sessions([])) == []
