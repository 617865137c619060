"""The whole flow against the stateful fake and the emulator, on one simulated clock.

The client and the backend share a FakeClock, so the intervals the server asks for are
asserted from the times requests reached the fake, with no real sleeping.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta

import pytest

from picker_discovery import FakeClock, PickerClient, RetryPolicy, build
from picker_discovery.errors import PickingTimeout, ServerError
from picker_discovery.models import PickingSession
from picker_discovery.testing import Backend, Emulator, FakeHttp


def gaps(backend: Backend, method: str) -> list[float]:
    """Seconds between the requests to ``method``, on the backend's (simulated) clock."""
    times = [a.time for a in backend.attempts(method)]
    return [(b - a).total_seconds() for a, b in itertools.pairwise(times)]


def picks_after(backend: Backend, polls: int) -> Callable[[PickingSession], None]:
    seen: list[PickingSession] = []

    def on_poll(state: PickingSession) -> None:
        seen.append(state)
        if len(seen) == polls and state.id is not None:
            backend.pick(state.id, first=4)

    return on_poll


def test_the_flow_in_a_few_lines(picker_client: PickerClient, picker_backend: Backend) -> None:
    with picker_client.picking_session(max_item_count=10) as session:
        picker_client.wait_for_selection(session, on_poll=picks_after(picker_backend, 3))
        items = picker_client.list_media_items(session)
    assert len(items) == 4
    assert picker_backend.attempts("sessions.delete")
    assert picker_backend.sessions() == []


@pytest.mark.parametrize("interval", ["5s", "0.5s", "3.25s"])
def test_polling_follows_the_servers_interval(interval: str) -> None:
    clock = FakeClock()
    backend = Backend(clock=clock, poll_interval=interval)
    client = PickerClient(build(http=FakeHttp(backend)), clock=clock)
    with client.picking_session() as session:
        client.wait_for_selection(session, on_poll=picks_after(backend, 4))
    seconds = float(interval[:-1])
    assert len(backend.attempts("sessions.get")) == 5  # 4 unpicked answers, then the picked one
    assert gaps(backend, "sessions.get") == [seconds] * 4
    first_get = backend.attempts("sessions.get")[0].time
    assert (first_get - backend.attempts("sessions.create")[0].time).total_seconds() == seconds


def test_the_servers_polling_timeout_ends_the_wait_and_the_session_is_deleted() -> None:
    clock = FakeClock()
    backend = Backend(clock=clock, poll_interval="5s", polling_timeout=timedelta(seconds=22))
    client = PickerClient(build(http=FakeHttp(backend)), clock=clock)
    with pytest.raises(PickingTimeout) as caught, client.picking_session() as session:
        client.wait_for_selection(session)
    assert caught.value.reason == "timeoutIn"
    assert len(backend.attempts("sessions.get")) == 4  # at 5, 10, 15 and 20 s; 22 s ends it
    assert clock.monotonic() == pytest.approx(22.0)
    assert backend.attempts("sessions.delete")
    assert backend.sessions() == []


def test_faults_mid_flow_are_retried_on_the_policy_schedule() -> None:
    clock = FakeClock()
    backend = Backend(clock=clock, poll_interval="1s")
    policy = RetryPolicy(random=lambda: 0.0)
    client = PickerClient(build(http=FakeHttp(backend)), clock=clock, retry=policy)
    with client.picking_session() as session:
        assert session.id is not None
        backend.pick(session.id, first=3)
        backend.set_faults("mediaItems.list", [503, {"status": 429, "retry_after": 45}, 500])
        items = client.list_media_items(session)
    assert len(items) == 3
    assert gaps(backend, "mediaItems.list") == [1.0, 45.0, 4.0]


def test_a_flow_that_fails_for_good_still_deletes_its_session() -> None:
    clock = FakeClock()
    backend = Backend(clock=clock)
    client = PickerClient(build(http=FakeHttp(backend)), clock=clock)
    backend.set_faults("mediaItems.list", [503] * 5)
    with pytest.raises(ServerError), client.picking_session() as session:
        assert session.id is not None
        backend.pick(session.id)
        client.list_media_items(session)
    assert len(backend.attempts("mediaItems.list")) == 5
    assert backend.sessions() == []


def test_two_thousand_items_in_twenty_requests() -> None:
    clock = FakeClock()
    backend = Backend(clock=clock, library_size=2000)
    client = PickerClient(build(http=FakeHttp(backend)), clock=clock)
    with client.picking_session(max_item_count=2000) as session:
        assert session.id is not None
        backend.pick(session.id)
        items = client.list_media_items(session)
    assert len(items) == 2000 and len({item.id for item in items}) == 2000
    assert len(backend.attempts("mediaItems.list")) == 20


def test_retry_timing_over_real_http_from_the_emulators_report() -> None:
    clock = FakeClock()
    with Emulator(clock=clock, poll_interval="2s") as emulator:
        client = PickerClient(
            emulator.build("alice"), clock=clock, retry=RetryPolicy(random=lambda: 0.0)
        )
        emulator.set_faults("sessions.get", [503, {"status": 503, "retry_after": 7}])
        with client.picking_session() as session:
            client.wait_for_selection(session, on_poll=picks_after(emulator.backend, 2))
        # 503, then 503 asking for 7 s, then two unpicked polls 2 s apart, then the picked one
        assert gaps(emulator.backend, "sessions.get") == [1.0, 7.0, 2.0, 2.0]
        assert emulator.backend.sessions("alice") == []


def test_a_create_whose_answer_is_lost_is_sent_once() -> None:
    """httplib2 would send the POST again by itself, leaving a second session behind."""
    from google.oauth2.credentials import Credentials

    with Emulator() as emulator:
        emulator.set_faults("sessions.create", [{"drop": True}])
        with emulator.build("carol") as plain:  # googleapiclient over httplib2, retries off
            plain.sessions().create(body={}).execute(num_retries=0)
        assert len(emulator.attempts("sessions.create")) == 2  # a silent resend hid the drop
        assert len(emulator.backend.sessions("carol")) == 2  # and left an orphan session

        emulator.backend.clear_attempts()
        client = PickerClient(
            credentials=Credentials(token="dave"), client_options={"api_endpoint": emulator.url}
        )
        emulator.set_faults("sessions.create", [{"drop": True}])
        with pytest.raises(ConnectionError, match="connection"):
            client.create_session()
        assert len(emulator.attempts("sessions.create")) == 1
        assert len(emulator.backend.sessions("dave")) == 1  # made, but its answer was lost
        assert client.create_session().id is not None  # the next create works as usual


def test_a_create_that_could_not_connect_is_retried() -> None:
    import socket

    from google.oauth2.credentials import Credentials

    with socket.socket() as probe:  # a port nobody listens on once this block ends
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clock = FakeClock()
    client = PickerClient(
        credentials=Credentials(token="erin"),
        client_options={"api_endpoint": f"http://127.0.0.1:{port}/"},
        clock=clock,
        retry=RetryPolicy(max_attempts=3, random=lambda: 0.0),
    )
    with pytest.raises(ConnectionRefusedError):
        client.create_session()
    assert clock.sleeps == [1.0, 2.0]
