"""The picking flow: create, wait as the server says, list everything, always clean up."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest

from picker_discovery._client import PickerClient
from picker_discovery._clock import FakeClock, SystemClock
from picker_discovery.errors import (
    FailedPrecondition,
    PermissionDenied,
    PickingCancelled,
    PickingTimeout,
    RepeatedPageToken,
    ResourceExhausted,
    SessionNotFound,
)
from picker_discovery.models import MediaType, PickingSession
from picker_discovery.testing import canned
from tests.fakes import RoutingHttp, ScriptedHttp, Step, page, session, stamp
from tests.waiting import wait_until

SID = canned.SESSION_ID


def client_for(*steps: Step, clock: FakeClock | None = None) -> tuple[PickerClient, ScriptedHttp]:
    http = ScriptedHttp(*steps)
    return PickerClient(http=http, clock=clock or FakeClock()), http


def calls(http: ScriptedHttp) -> list[tuple[str, str]]:
    return [(method, path) for method, path, _, _ in http.requests]


# -- the whole flow ----------------------------------------------------------------------


def test_the_whole_flow_in_a_few_lines_of_user_code() -> None:
    http = canned.sequence(
        "sessions.create",
        "sessions.get.polling",
        "sessions.get.picked",
        "mediaItems.list.first_page",
        "mediaItems.list.last_page",
        "sessions.delete",
    )
    clock = FakeClock()
    client = PickerClient(http=http, clock=clock)

    with client.picking_session(max_item_count=10) as picking:
        assert picking.picker_uri == canned.PICKER_URI
        picked = client.wait_for_selection(picking, timeout=600)
        items = client.list_media_items(picking)

    assert picked.media_items_set is True
    assert [item.type for item in items] == [MediaType.PHOTO, MediaType.VIDEO]
    assert clock.sleeps == [5.0, 5.0]  # the create answer's pollInterval, then the poll's
    made = [(m, u.split("?")[0]) for u, m, *_ in http.request_sequence]
    base = "https://photospicker.googleapis.com/v1"
    assert made == [
        ("POST", f"{base}/sessions"),
        ("GET", f"{base}/sessions/{SID}"),
        ("GET", f"{base}/sessions/{SID}"),
        ("GET", f"{base}/mediaItems"),
        ("GET", f"{base}/mediaItems"),
        ("DELETE", f"{base}/sessions/{SID}"),
    ]
    create_body = http.request_sequence[0][2]
    assert create_body == '{"pickingConfig": {"maxItemCount": "10"}}'
    assert http.remaining == 0


def test_create_without_arguments_sends_an_empty_body() -> None:
    client, http = client_for("sessions.create")
    created = client.create_session()
    assert created.id == SID
    assert http.requests == [("POST", "/v1/sessions", {"alt": ["json"]}, {})]


def test_create_sends_the_request_id() -> None:
    request_id = uuid.UUID("b7e9a0c2-5d4e-4f1a-9c3b-2a1d0e9f8c7b")
    client, http = client_for("sessions.create", "sessions.create")
    client.create_session(request_id=request_id)
    client.create_session(request_id=str(request_id).upper())
    assert [q["requestId"] for _, _, q, _ in http.requests] == [[str(request_id)]] * 2


# -- input checks: nothing is sent -------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_item_count": 0}, ValueError),
        ({"max_item_count": 2001}, ValueError),
        ({"max_item_count": -5}, ValueError),
        ({"max_item_count": True}, TypeError),
        ({"max_item_count": "24"}, TypeError),
        ({"max_item_count": 24.0}, TypeError),
        ({"request_id": "not-a-uuid"}, ValueError),
        ({"request_id": 1234}, ValueError),
        ({"request_id": "2ea3dc54f3524d9da6671b497bdf4e52"}, ValueError),
    ],
)
def test_create_checks_inputs_before_sending(
    kwargs: dict[str, Any], error: type[Exception]
) -> None:
    client, http = client_for()
    with pytest.raises(error, match=r"max_item_count|request_id"):
        client.create_session(**kwargs)
    assert http.requests == []


def test_limits_are_accepted() -> None:
    client, http = client_for("sessions.create", "sessions.create")
    client.create_session(max_item_count=1)
    client.create_session(max_item_count=2000)
    assert [body for *_, body in http.requests] == [
        {"pickingConfig": {"maxItemCount": "1"}},
        {"pickingConfig": {"maxItemCount": "2000"}},
    ]


@pytest.mark.parametrize(("size", "error"), [(0, ValueError), (101, ValueError), (True, TypeError)])
def test_page_size_is_checked_before_sending(size: Any, error: type[Exception]) -> None:
    client, http = client_for()
    with pytest.raises(error, match="page_size"):
        client.iter_media_items(SID, page_size=size)
    assert http.requests == []


@pytest.mark.parametrize("bad", ["", "a/b", "..", 7])
def test_session_ids_are_checked_before_sending(bad: Any) -> None:
    client, http = client_for()
    for call in (client.get_session, client.delete_session, client.list_media_items):
        with pytest.raises(ValueError, match="session id"):
            call(bad)
    with pytest.raises(ValueError, match="session id"):
        client.wait_for_selection(bad)
    assert http.requests == []


@pytest.mark.parametrize(("timeout", "error"), [(-1, ValueError), ("5", TypeError)])
def test_wait_timeout_is_checked(timeout: Any, error: type[Exception]) -> None:
    client, http = client_for()
    with pytest.raises(error, match="timeout"):
        client.wait_for_selection(SID, timeout=timeout)
    assert http.requests == []


# -- waiting as the server says ----------------------------------------------------------


def test_polling_follows_the_interval_of_the_latest_answer() -> None:
    clock = FakeClock()
    client, http = client_for(
        session(poll_interval="3.5s"),
        session(poll_interval="0.25s"),
        session(poll_interval="10s"),
        session(picked=True),
        clock=clock,
    )
    seen: list[bool] = []
    picked = client.wait_for_selection(SID, on_poll=lambda s: seen.append(s.media_items_set))
    assert picked.media_items_set is True
    assert clock.sleeps == [3.5, 0.25, 10.0]
    assert seen == [False, False, False, True]
    assert calls(http) == [("GET", f"/v1/sessions/{SID}")] * 4


def test_a_session_object_paces_the_first_poll_and_a_picked_one_returns_at_once() -> None:
    clock = FakeClock()
    client, http = client_for("sessions.get.picked", clock=clock)
    created = PickingSession.from_dict(canned.body("sessions.create"))
    client.wait_for_selection(created)
    assert clock.sleeps == [5.0]
    done = PickingSession.from_dict(canned.body("sessions.get.picked"))
    assert client.wait_for_selection(done) is done
    assert len(http.requests) == 1


def test_missing_zero_or_tiny_poll_interval_falls_back_without_spinning() -> None:
    clock = FakeClock()
    client, _ = client_for(
        session(poll_interval=None),
        session(poll_interval="0s"),
        session(poll_interval="0.001s"),
        session(picked=True),
        clock=clock,
    )
    client.wait_for_selection(SID)
    assert clock.sleeps == pytest.approx([5.0, 5.0, 0.1])


def test_server_timeout_in_ends_the_wait() -> None:
    clock = FakeClock()
    client, http = client_for(
        session(poll_interval="5s", timeout_in="12s"),
        session(poll_interval="5s", timeout_in="7s"),
        session(poll_interval="5s", timeout_in="2s"),
        clock=clock,
    )
    with pytest.raises(PickingTimeout) as caught:
        client.wait_for_selection(SID)
    assert caught.value.reason == "timeoutIn"
    assert caught.value.session_id == SID
    assert (caught.value.waited, caught.value.polls) == (12.0, 3)
    assert clock.sleeps == [5.0, 5.0, 2.0]
    assert len(http.requests) == 3
    assert SID in str(caught.value) and "timeoutIn" in str(caught.value)
    assert "create a new one" in str(caught.value)


def test_timeout_in_zero_stops_at_once() -> None:
    clock = FakeClock()
    client, _ = client_for(session(timeout_in="0s"), clock=clock)
    with pytest.raises(PickingTimeout, match="timeoutIn") as caught:
        client.wait_for_selection(SID)
    assert caught.value.polls == 1
    assert clock.sleeps == []


def test_expire_time_ends_the_wait() -> None:
    clock = FakeClock()
    expires = stamp(clock.now() + timedelta(seconds=7))
    client, _ = client_for(session(expire_time=expires), session(expire_time=expires), clock=clock)
    with pytest.raises(PickingTimeout, match="expired") as caught:
        client.wait_for_selection(SID)
    assert caught.value.reason == "expireTime"
    assert clock.sleeps == [5.0, 2.0]


def test_an_already_expired_session_is_not_waited_for() -> None:
    clock = FakeClock()
    expired = stamp(clock.now() - timedelta(minutes=1))
    client, _ = client_for(session(expire_time=expired), clock=clock)
    with pytest.raises(PickingTimeout) as caught:
        client.wait_for_selection(SID)
    assert caught.value.reason == "expireTime"
    assert clock.sleeps == []


def test_the_callers_timeout_ends_the_wait() -> None:
    clock = FakeClock()
    client, http = client_for(session(), session(), clock=clock)
    with pytest.raises(PickingTimeout, match="caller's timeout") as caught:
        client.wait_for_selection(SID, timeout=8)
    assert caught.value.reason == "timeout"
    assert (caught.value.waited, caught.value.polls) == (8.0, 2)
    assert clock.sleeps == [5.0, 3.0]
    assert len(http.requests) == 2


def test_errors_while_polling_are_domain_errors() -> None:
    client, _ = client_for("sessions.get.expired")
    with pytest.raises(PermissionDenied) as caught:
        client.wait_for_selection(SID)
    assert caught.value.session_id == SID
    assert caught.value.method_id == "photospicker.sessions.get"


def test_cancel_from_the_poll_loop() -> None:
    clock = FakeClock()
    cancel = threading.Event()
    clock.on_sleep = lambda _: cancel.set() if len(clock.sleeps) == 2 else None
    client, http = client_for(session(), session(), session(), clock=clock)
    with pytest.raises(PickingCancelled, match="cancelled") as caught:
        client.wait_for_selection(SID, cancel=cancel)
    assert caught.value.session_id == SID
    assert caught.value.polls == 2
    assert len(http.requests) == 2


def test_a_cancel_set_before_the_wait_sends_nothing() -> None:
    client, http = client_for()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(PickingCancelled):
        client.wait_for_selection(SID, cancel=cancel)
    assert http.requests == []


def test_cancel_from_another_thread_wakes_a_real_wait_promptly() -> None:
    slow = RoutingHttp(lambda *_: session(poll_interval="30s"))
    client = PickerClient(http=slow, clock=SystemClock())
    cancel = threading.Event()
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            client.wait_for_selection(SID, cancel=cancel)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=wait)
    started = time.monotonic()
    worker.start()
    wait_until(lambda: slow.count, what="the first poll")  # then the wait sleeps for 30 s
    cancel.set()
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert time.monotonic() - started < 5
    assert len(outcome) == 1 and isinstance(outcome[0], PickingCancelled)


# -- listing everything ------------------------------------------------------------------


def test_two_thousand_items_in_twenty_requests() -> None:
    pages = [page(i * 100, 100, f"token-{i + 1}" if i < 19 else None) for i in range(20)]
    client, http = client_for(*pages)
    items = client.list_media_items(SID)
    assert len(items) == 2000
    assert items[0].id == "item-0000" and items[-1].id == "item-1999"
    assert len({item.id for item in items}) == 2000
    assert len(http.requests) == 20
    for index, (_, path, query, _) in enumerate(http.requests):
        assert path == "/v1/mediaItems"
        assert query["sessionId"] == [SID]
        assert query["pageSize"] == ["100"]
        assert query.get("pageToken") == ([f"token-{index}"] if index else None)


def test_empty_pages_with_a_token_are_followed() -> None:
    client, http = client_for(
        "mediaItems.list.first_page", "mediaItems.list.empty_page", "mediaItems.list.last_page"
    )
    items = client.list_media_items(SID, page_size=1)
    assert [item.type for item in items] == [MediaType.PHOTO, MediaType.VIDEO]
    assert [q.get("pageToken") for _, _, q, _ in http.requests] == [None, ["CAEQAQ"], ["CAIQAg"]]
    assert {q["pageSize"][0] for _, _, q, _ in http.requests} == {"1"}


def test_a_repeated_page_token_is_an_error_not_a_loop() -> None:
    client, http = client_for(page(0, 2, "AAA"), page(2, 2, "BBB"), page(4, 0, "AAA"))
    listed: list[str] = []
    with pytest.raises(RepeatedPageToken, match=SID) as caught:
        listed.extend(item.id or "" for item in client.iter_media_items(SID))
    assert listed == ["item-0000", "item-0001", "item-0002", "item-0003"]
    assert caught.value.pages == 3
    assert len(http.requests) == 3


def test_listing_before_the_user_is_done_says_so() -> None:
    client, _ = client_for("mediaItems.list.not_picked_yet")
    with pytest.raises(FailedPrecondition, match="mediaItemsSet") as caught:
        client.list_media_items(SID)
    assert caught.value.session_id == SID


# -- the session is deleted on every exit ------------------------------------------------


def test_deleted_after_success() -> None:
    client, http = client_for("sessions.create", "sessions.delete")
    with client.picking_session() as created:
        assert created.id == SID
    assert calls(http)[-1] == ("DELETE", f"/v1/sessions/{SID}")


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt(), SystemExit(3)])
def test_deleted_when_the_block_raises(exc: BaseException) -> None:
    client, http = client_for("sessions.create", "sessions.delete")
    with pytest.raises(type(exc)), client.picking_session():
        raise exc
    assert calls(http) == [("POST", "/v1/sessions"), ("DELETE", f"/v1/sessions/{SID}")]


def test_deleted_after_a_picking_timeout() -> None:
    clock = FakeClock()
    client, http = client_for("sessions.create", session(), "sessions.delete", clock=clock)
    with pytest.raises(PickingTimeout), client.picking_session() as created:
        client.wait_for_selection(created, timeout=7)
    assert calls(http)[-1] == ("DELETE", f"/v1/sessions/{SID}")
    assert http.remaining == 0


def test_deleted_after_an_error_mid_flow() -> None:
    client, http = client_for(
        "sessions.create",
        "sessions.get.picked",
        "mediaItems.list.first_page",
        "insufficient_scopes",
        "sessions.delete",
    )
    with pytest.raises(PermissionDenied), client.picking_session() as created:
        client.wait_for_selection(created.id or "")
        client.list_media_items(created)
    assert calls(http)[-1] == ("DELETE", f"/v1/sessions/{SID}")


def test_a_failed_delete_never_masks_the_original_error(caplog: pytest.LogCaptureFixture) -> None:
    client, http = client_for("sessions.create", "insufficient_scopes")
    with (
        caplog.at_level(logging.WARNING, "picker_discovery._client"),
        pytest.raises(RuntimeError, match="the user's own error"),
        client.picking_session(),
    ):
        raise RuntimeError("the user's own error")
    assert calls(http)[-1] == ("DELETE", f"/v1/sessions/{SID}")
    assert any(SID in r.getMessage() and "RuntimeError" in r.getMessage() for r in caplog.records)


def test_a_failed_delete_after_success_is_raised() -> None:
    client, _ = client_for("sessions.create", "insufficient_scopes")
    with pytest.raises(PermissionDenied, match=r"sessions\.delete"), client.picking_session():
        pass


def test_a_session_deleted_inside_the_block_is_fine() -> None:
    client, http = client_for("sessions.create", "sessions.delete", "sessions.delete.not_found")
    with client.picking_session() as created:
        client.delete_session(created)
    assert len(http.requests) == 3


def test_nothing_to_delete_when_create_fails() -> None:
    client, http = client_for("sessions.create.too_many_sessions")
    with pytest.raises(ResourceExhausted, match="delete sessions"), client.picking_session():
        pytest.fail("the block must not run")
    assert calls(http) == [("POST", "/v1/sessions")]


def test_delete_session_missing_ok() -> None:
    client, _ = client_for("sessions.delete.not_found", "sessions.delete.not_found")
    client.delete_session(SID, missing_ok=True)
    with pytest.raises(SessionNotFound):
        client.delete_session(SID)


def test_timeout_may_be_a_timedelta() -> None:
    clock = FakeClock()
    client, _ = client_for(session(), clock=clock)
    with pytest.raises(PickingTimeout, match="caller's timeout"):
        client.wait_for_selection(SID, timeout=timedelta(seconds=2.5))
    assert clock.sleeps == [2.5]
