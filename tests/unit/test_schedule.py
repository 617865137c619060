"""PollSchedule: the heap, jitter and rate cap that the sync and async many-session waiters
share, driven here by hand with the poll step's checks (no requests, a fake clock)."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import pytest

from picker_discovery import (
    BadArgument,
    BadArgumentType,
    FakeClock,
    PickingSession,
    RateLimit,
)
from picker_discovery._schedule import PollSchedule, first_checks
from picker_discovery._step import PollRules, SelectionCheck

SIDS = [f"0000000{i}-aaaa-4bbb-8ccc-dddddddddddd" for i in range(5)]


def plan(
    sessions: Sequence[PickingSession | str],
    clock: FakeClock | None = None,
    *,
    timeout: float | None = None,
    **kwargs: object,
) -> PollSchedule:
    clock = clock or FakeClock()
    checks = first_checks(sessions, now=clock.now(), timeout=timeout, rules=PollRules())
    settings: dict[str, object] = {"limit": RateLimit(rate=1000, burst=1000)}
    settings.update(kwargs)
    return PollSchedule(checks, clock=clock, timeout=timeout, **settings)  # type: ignore[arg-type]


def waiting(check: SelectionCheck, delay: float) -> SelectionCheck:
    return replace(check, status="wait", delay=delay, polls=check.polls + 1)


def session(sid: str, interval: str = "3s", **fields: object) -> PickingSession:
    return PickingSession.from_dict(
        {"id": sid, "pollingConfig": {"pollInterval": interval}, **fields}
    )


def test_ids_are_due_at_once_and_sessions_after_their_own_interval() -> None:
    clock = FakeClock()
    schedule = plan([SIDS[0], session(SIDS[1])], clock, jitter=0)
    assert [c.session_id for c in schedule.due(0.0, 10)] == [SIDS[0]]
    assert schedule.wake_in(0.0, 10) == pytest.approx(3.0)
    assert [c.session_id for c in schedule.due(3.0, 10)] == [SIDS[1]]


def test_a_waiting_session_comes_back_after_its_delay_and_a_done_one_never() -> None:
    schedule = plan(SIDS[:2], jitter=0)
    first, second = schedule.due(0.0, 10)
    assert schedule.finish(first, 0.5, waiting(first, 5.0)) is None
    done = schedule.finish(second, 0.5, replace(second, status="ended", reason="timeoutIn"))
    assert done is not None and (done.status, done.reason) == ("ended", "timeoutIn")
    assert schedule.open == 1
    assert schedule.due(5.4, 10) == []
    (again,) = schedule.due(5.5, 10)
    assert again.session_id == SIDS[0] and again.polls == 1  # the check to pass as after=
    ready = schedule.finish(again, 6.0, replace(again, status="ready", polls=2))
    assert ready is not None and ready.ready and ready.reason is None and ready.polls == 2
    assert schedule.open == 0


def test_a_poll_that_raised_ends_that_session_as_failed() -> None:
    schedule = plan(SIDS[:1])
    (check,) = schedule.due(0.0, 1)
    error = RuntimeError("boom")
    outcome = schedule.finish(check, 0.1, error=error)
    assert outcome is not None and (outcome.status, outcome.error) == ("failed", error)
    assert outcome.check is check


def test_jitter_only_ever_delays_and_by_at_most_its_fraction() -> None:
    draws = iter([0.0, 0.5, 0.999])
    sessions: list[PickingSession | str] = [session(sid, "10s") for sid in SIDS[:3]]
    schedule = plan(sessions, jitter=0.2, random=lambda: next(draws))
    assert schedule.wake_in(0.0, 10) == pytest.approx(10.0)
    assert len(schedule.due(10.0, 10)) == 1
    assert len(schedule.due(11.0, 10)) == 1
    assert schedule.due(11.99, 10) == []
    assert len(schedule.due(11.999, 10)) == 1


def test_no_more_are_taken_than_there_are_free_slots_or_tokens() -> None:
    schedule = plan(SIDS, limit=RateLimit(rate=2, burst=2))
    assert len(schedule.due(0.0, 1)) == 1
    assert schedule.wake_in(0.0, 0) is None  # no slot: only an answer can change things
    assert len(schedule.due(0.0, 10)) == 1  # the burst's second token
    assert schedule.due(0.0, 10) == []
    assert schedule.wake_in(0.0, 10) == pytest.approx(0.5, rel=1e-5)
    assert len(schedule.due(0.5001, 10)) == 1
    assert schedule.scheduled == 2 and schedule.open == 5


def test_sessions_past_their_deadline_end_without_a_token() -> None:
    clock = FakeClock()
    schedule = plan(SIDS, clock, timeout=10, limit=RateLimit(rate=1))
    assert len(schedule.due(clock.monotonic(), 10)) == 1
    clock.advance(10)
    assert schedule.due(clock.monotonic(), 10) == []
    assert [(o.status, o.reason) for o in schedule.finished] == [("ended", "timeout")] * 4
    assert schedule.open == 1 and schedule.scheduled == 0


def test_sessions_handed_in_picked_or_past_their_time_are_finished_at_once() -> None:
    picked = session(SIDS[0], mediaItemsSet=True)
    over = PickingSession.from_dict({"id": SIDS[1], "pollingConfig": {"timeoutIn": "0s"}})
    schedule = plan([picked, over, SIDS[2]])
    assert [(o.session_id, o.status, o.reason, o.polls) for o in schedule.finished] == [
        (SIDS[0], "ready", None, 0),
        (SIDS[1], "ended", "timeoutIn", 0),
    ]
    assert schedule.open == 1


def test_each_session_once_and_well_formed_settings() -> None:
    with pytest.raises(BadArgument, match="given twice"):
        plan([SIDS[0], PickingSession.from_dict({"id": SIDS[0]})])
    with pytest.raises(BadArgumentType, match="collection of sessions"):
        plan(SIDS[0])
    with pytest.raises(BadArgument, match="between 0 and 1"):
        plan(SIDS[:1], jitter=2)
    with pytest.raises(ValueError):
        plan(["not a/valid id"])


class CountingLimit(RateLimit):
    """A RateLimit that counts how often it is asked for a token."""

    asked = 0

    def try_acquire(self, now: float) -> float:
        self.asked += 1
        return super().try_acquire(now)


def test_asked_again_at_the_same_time_without_a_token_it_answers_at_once() -> None:
    clock = FakeClock()
    limit = CountingLimit(rate=10)
    schedule = plan(SIDS[:3], clock, limit=limit)
    assert len(schedule.due(0.0, 10)) == 1 and limit.asked == 2  # one taken, one found none
    assert schedule.due(0.0, 10) == [] and limit.asked == 2  # nothing changed: not asked
    assert schedule.due(0.05, 10) == [] and limit.asked == 3  # a later time: asked again
    assert [c.session_id for c in schedule.due(0.1001, 10)] == [SIDS[1]]  # the token came
    assert schedule.scheduled == 1 and schedule.open == 3


def test_a_held_session_still_ends_at_its_deadline_without_a_token() -> None:
    clock = FakeClock()
    schedule = plan(SIDS[:3], clock, timeout=10, limit=RateLimit(rate=0.01))
    assert len(schedule.due(clock.monotonic(), 10)) == 1
    assert schedule.due(clock.monotonic(), 10) == []  # held: no token for 100 s
    clock.advance(10)
    assert schedule.due(clock.monotonic(), 10) == []
    assert [(o.status, o.reason) for o in schedule.finished] == [("ended", "timeout")] * 2
    assert schedule.scheduled == 0


def test_a_held_session_answered_before_its_token_comes_back_after_its_delay() -> None:
    schedule = plan(SIDS[:2], limit=RateLimit(rate=1), jitter=0)
    (first,) = schedule.due(0.0, 10)
    assert schedule.due(0.0, 10) == []  # the second is held
    assert schedule.finish(first, 0.0, waiting(first, 0.5)) is None
    assert schedule.due(0.0, 10) == []  # the first is back, behind the held one
    assert [c.session_id for c in schedule.due(1.0001, 10)] == [SIDS[1]]
    assert [c.session_id for c in schedule.due(2.0002, 10)] == [SIDS[0]]


def test_a_waiting_check_comes_back_as_it_went_in_and_leaves_nothing_to_collect() -> None:
    schedule = plan(SIDS[:2], jitter=0)
    first, second = schedule.due(0.0, 10)
    state = session(SIDS[1])
    deadline = FakeClock().now() + timedelta(seconds=60)
    later = replace(waiting(second, 5.0), session=state, deadline=deadline)
    assert schedule.finish(first, 0.0, waiting(first, 5.0)) is None
    assert schedule.finish(second, 0.0, later, keep_state=False) is None
    gc.collect()
    assert not any(gc.is_tracked(kept) for kept in schedule._waiting.values())
    assert not any(gc.is_tracked(entry) for entry in schedule._heap)
    back = {c.session_id: c for c in schedule.due(5.0, 10)}
    assert back[SIDS[0]] == waiting(first, 5.0)
    assert back[SIDS[1]] == replace(later, session=None)  # its state was not kept
    kept_state = plan(SIDS[:1], jitter=0)
    (check,) = kept_state.due(0.0, 10)
    assert kept_state.finish(check, 0.0, replace(waiting(check, 5.0), session=state)) is None
    assert kept_state.checks()[SIDS[0]].session is state  # kept unless told otherwise


@pytest.mark.parametrize(
    ("due_in", "rate", "wake_in"),
    [
        (0.105, 9.0, 1 / 9),  # due 6 ms before the next token: wake for the token
        (0.105, 5.0, 0.105),  # the token 95 ms after: wake when due (a deadline may end it)
        (0.3, 9.0, 0.3),  # the token free before the poll is due
        (None, 1000.0, 0.001),  # an id, due now: wake for the token
    ],
)
def test_a_poll_due_a_moment_before_the_next_token_waits_for_the_token(
    due_in: float | None, rate: float, wake_in: float
) -> None:
    # One wake-up instead of two when the rate cap would hold the poll back anyway.
    limit = RateLimit(rate=rate)
    assert limit.try_acquire(0.0) == 0.0  # a token just taken: the next in 1 / rate s
    first = SIDS[0] if due_in is None else session(SIDS[0], f"{due_in}s")
    schedule = plan([first], jitter=0, limit=limit)
    assert schedule.wake_in(0.0, 10) == pytest.approx(wake_in, rel=1e-3)
