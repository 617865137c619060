"""The Celery recipe's poll cap (``PICKER_CELERY_POLL_RATE``): one limit for all workers
together, as Google's quota is one for the whole project. Two real workers on one Redis, the
loopback emulator, many people picking at once.

What a user relies on: however many workers run, the polls they send together stay within
the cap; a poll put off by the cap is not lost (every session is still polled, imported and
deleted); and a cap that is not a rate stops the worker from starting, saying what to write.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from pathlib import Path

import pytest

from picker_discovery.testing import Emulator
from picker_tasks import local
from picker_tasks.app import app
from picker_tasks.ratecap import PollCap, configured_rate
from picker_tasks.tasks import start_import
from tests.celery_kit import finished, photos, polls_of, sessions_all_deleted, wait_until, workers
from tests.control import post_control

CAP = 5
"""Polls a second for the two workers together; fifteen sessions at 0.3 s would send 50."""


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(poll_interval="0.3s", max_live_sessions=100) as running:
        yield running


@pytest.fixture(scope="module")
def two_workers(
    emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[local.Worker]]:
    env = {"PICKER_CELERY_POLL_RATE": f"{CAP}/second"}
    with workers(emulator, tmp_path_factory, count=2, env=env) as running:
        yield running


def most_in_any_window(times: list[float], width: float) -> int:
    """The most of ``times`` (sorted) inside any window ``[t, t + width)``."""
    return max(bisect.bisect_left(times, t + width) - i for i, t in enumerate(times))


@pytest.mark.timeout(240)
def test_two_workers_together_poll_within_the_cap_and_lose_no_session(
    emulator: Emulator, two_workers: list[local.Worker], tmp_path: Path
) -> None:
    first, second = two_workers
    user = "celery-capped"
    items = photos(user, emulator, 3)
    ids = [str(start_import(user, tmp_path / f"s{n}").id) for n in range(15)]

    wait_until(
        lambda: all(polls_of(emulator, sid) >= 3 for sid in ids),
        first,
        "every session polled three times",
        timeout=120,
    )
    times = sorted(
        attempt.monotonic
        for attempt in emulator.attempts("sessions.get")
        if any(f"/sessions/{sid}" in attempt.path for sid in ids)
    )
    # The cap holds where the workers take their places (Redis). Requests reach the emulator
    # a little after, each a different little, so the check here is on half-second windows
    # (their places then lie within one second of each other as long as no send lags another
    # by more than half a second), and on the whole span.
    assert most_in_any_window(times, 0.5) <= CAP, times
    span = times[-1] - times[0]
    assert len(times) <= CAP * (span + 1) + 1, (len(times), span)
    # Both workers polled: the cap is one for the two of them, not one each.
    assert "picker_tasks.poll" in first.log_text() and "picker_tasks.poll" in second.log_text()

    for n, sid in enumerate(ids):
        post_control(emulator, "pick", {"session_id": sid, "ids": [items[n % 3].id]})
    jobs = [finished(sid, first, timeout=120) for sid in ids]
    assert [job["status"] for job in jobs] == ["done"] * 15
    sessions_all_deleted(emulator, user, first)


def test_places_free_as_the_window_moves(two_workers: list[local.Worker]) -> None:
    cap = PollCap(str(app.conf.broker_url), "3/second", name="a test's own window")
    delays = [cap.admit() for _ in range(4)]
    assert delays[:3] == [0.0, 0.0, 0.0]
    # The fourth waits for the oldest place to free (within a second) plus up to a period.
    assert 0.0 < delays[3] <= 2.0


@pytest.mark.parametrize("rate", ["fast", "0/second", "5/fortnight"])
def test_a_cap_that_is_not_a_rate_is_refused_naming_the_setting(
    rate: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PICKER_CELERY_POLL_RATE", rate)
    with pytest.raises(ValueError, match=r"PICKER_CELERY_POLL_RATE=.* '100/second'"):
        configured_rate()


def test_off_turns_the_cap_off_and_unset_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PICKER_CELERY_POLL_RATE", "off")
    assert configured_rate() is None
    monkeypatch.delenv("PICKER_CELERY_POLL_RATE")
    assert configured_rate() == "100/second"


def test_a_worker_with_a_bad_cap_does_not_start(
    emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> None:
    bad = {"PICKER_CELERY_POLL_RATE": "fast"}
    with (
        pytest.raises(local.LocalServiceError, match="PICKER_CELERY_POLL_RATE='fast'"),
        workers(emulator, tmp_path_factory, env=bad),
    ):
        pass
