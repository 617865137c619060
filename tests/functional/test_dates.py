"""The kit works on any date: fake clocks, canned answers and the emulator follow the real now.

Every test here runs with the wall clock the package reads (``picker_discovery._clock``, where
``SystemClock`` and ``FakeClock`` take the time) ten years ahead of the real one, while
monotonic time is left alone, as after a long suspend. A timestamp built from a date written
in the code, or read from anywhere else, then disagrees with a client on the real clock.
``make datecheck`` runs this file again with the whole process's date moved by ``faketime``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

import google.oauth2.credentials
import pytest

import picker_discovery._clock
from picker_discovery._client import PickerClient
from picker_discovery._clock import FakeClock, SystemClock
from picker_discovery.errors import PickingTimeout
from picker_discovery.models import PickingSession
from picker_discovery.testing import Emulator, canned

TOKEN = "emulator-token"
AHEAD = timedelta(days=3650)
WEEK = timedelta(days=7)


class WallClock:
    """How far the package's wall clock runs ahead of the real one; :meth:`jump` moves it."""

    def __init__(self, ahead: timedelta) -> None:
        self.ahead = ahead

    def jump(self, by: timedelta) -> None:
        self.ahead += by


@pytest.fixture(autouse=True)
def wall(monkeypatch: pytest.MonkeyPatch) -> WallClock:
    shift = WallClock(AHEAD)

    class ShiftedDatetime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> ShiftedDatetime:
            moved = datetime.now(tz) + shift.ahead
            return cls.fromtimestamp(moved.timestamp(), tz)

    monkeypatch.setattr(picker_discovery._clock, "datetime", ShiftedDatetime)
    assert SystemClock().now() - datetime.now(timezone.utc) > AHEAD - timedelta(minutes=1)
    return shift


def close_to(when: datetime, expected: datetime, slack: float = 5.0) -> bool:
    return abs((when - expected).total_seconds()) <= slack


def real_clock_client(emulator: Emulator) -> PickerClient:
    """What a user writes: a client on the real clock (its default), aimed at the emulator."""
    return PickerClient(
        credentials=google.oauth2.credentials.Credentials(token=TOKEN),
        client_options={"api_endpoint": emulator.url},
    )


def pick_list_and_delete(emulator: Emulator, client: PickerClient) -> None:
    """The whole flow: create, the user picks while the client waits, list, delete."""
    session = client.create_session(max_item_count=3)
    assert session.id is not None and session.expire_time is not None
    assert close_to(session.expire_time, SystemClock().now() + WEEK)
    sid = session.id

    def user_picks(state: PickingSession) -> None:  # while the client waits: after a poll
        if not state.media_items_set:
            emulator.pick(sid, first=3)

    done = client.wait_for_selection(session, timeout=30, on_poll=user_picks)
    assert done.media_items_set
    assert len(list(client.iter_media_items(session))) == 3
    client.delete_session(session)


# -- FakeClock ------------------------------------------------------------------------------


def test_a_frozen_fake_clock_starts_at_the_real_now() -> None:
    clock = FakeClock()
    assert close_to(clock.now(), SystemClock().now(), slack=1.0)
    assert clock.now() == clock.now()  # and stays there until told
    start = datetime(2031, 5, 4, 10, 0, tzinfo=timezone.utc)
    assert FakeClock(start=start).now() == start  # unless a test pins it


def test_a_ticking_fake_clock_keeps_up_with_a_wall_clock_that_jumps(wall: WallClock) -> None:
    clock = FakeClock(ticking=True)
    clock.advance(60)  # a test skipped a minute
    wall.jump(timedelta(days=8))  # the machine slept for 8 days; monotonic time did not move
    assert close_to(clock.now(), SystemClock().now() + timedelta(seconds=60))
    pinned = datetime(2031, 5, 4, 10, 0, tzinfo=timezone.utc)
    clock.set(pinned)
    wall.jump(timedelta(hours=1))
    assert close_to(clock.now(), pinned + timedelta(hours=1))


# -- the emulator ---------------------------------------------------------------------------


def test_the_emulator_serves_a_client_on_the_real_clock() -> None:
    with Emulator(poll_interval="0.1s") as emulator:
        pick_list_and_delete(emulator, real_clock_client(emulator))


@pytest.mark.parametrize("ticking", [False, True], ids=["Emulator()", "the command line's clock"])
def test_a_running_emulator_stays_in_step_with_the_real_clock(
    wall: WallClock, ticking: bool
) -> None:
    clock = FakeClock(ticking=True) if ticking else None
    with Emulator(clock=clock, poll_interval="0.1s") as emulator:
        client = real_clock_client(emulator)
        pick_list_and_delete(emulator, client)
        wall.jump(timedelta(days=8))  # it keeps running across a week-long suspend
        pick_list_and_delete(emulator, client)


def test_the_plugin_emulator_serves_a_client_on_the_real_clock(picker_emulator: Emulator) -> None:
    """Code under test often makes its own client; the fixtures' clock starts at the real now."""
    picker_emulator.backend.configure(poll_interval="0.1s")
    pick_list_and_delete(picker_emulator, real_clock_client(picker_emulator))


def test_the_plugin_clock_starts_at_the_real_now(
    picker_clock: FakeClock, picker_emulator_client: PickerClient
) -> None:
    assert close_to(picker_clock.now(), SystemClock().now())
    session = picker_emulator_client.create_session()
    assert session.expire_time == picker_clock.now() + WEEK


# -- canned answers -------------------------------------------------------------------------


@pytest.fixture
def canned_client() -> Iterator[tuple[PickerClient, Any]]:
    http = canned.sequence(
        "sessions.create", "sessions.get.picked", "mediaItems.list", "sessions.delete"
    )
    yield PickerClient(http=http), http  # on the real clock: no clock= anywhere


def test_a_canned_answer_client_without_a_clock_works(
    canned_client: tuple[PickerClient, Any],
) -> None:
    client, http = canned_client
    with client.picking_session() as session:
        assert session.id is not None and session.expire_time is not None
        assert close_to(session.expire_time, SystemClock().now() + WEEK)
        with pytest.raises(PickingTimeout) as caught:  # the user takes longer than we wait...
            client.wait_for_selection(session, timeout=0.2)
        assert caught.value.reason == "timeout"  # ...and the session is still alive
        client.wait_for_selection(session.id)  # picked at the first poll
        assert len(list(client.iter_media_items(session))) == 2
    assert http.remaining == 0


def test_canned_timestamps_are_made_when_asked_for() -> None:
    for made in (
        canned.RESPONSES["sessions.get.polling"].body,
        canned.response("sessions.create").body,
        canned.body("sessions.get.picked"),
    ):
        expires = datetime.fromisoformat(made["expireTime"].replace("Z", "+00:00"))
        assert close_to(expires, SystemClock().now() + canned.SESSION_LIFETIME)


def test_canned_answers_follow_a_clock_they_are_given() -> None:
    clock = FakeClock(start=datetime(2031, 5, 4, 10, 0, 0, 123456, tzinfo=timezone.utc))
    assert canned.body("sessions.create", clock=clock)["expireTime"] == (
        "2031-05-11T10:00:00.123456Z"
    )
    http = canned.sequence("sessions.create", clock=clock)
    client = PickerClient(http=http, clock=clock)
    session = client.create_session()
    clock.advance(WEEK + timedelta(seconds=1))  # the session has aged past its expireTime
    with pytest.raises(PickingTimeout) as caught:
        client.wait_for_selection(session)
    assert caught.value.reason == "expireTime"
    assert http.remaining == 0
    fresh = canned.mock("sessions.get.polling", clock=clock)
    assert '"2031-05-18T10:00:01.123456Z"' in fresh.data.decode()
