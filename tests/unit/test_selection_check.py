"""The poll step: ``check_selection`` sends one ``sessions.get``, never sleeps, and says what to
do next; its state survives JSON between processes; the rules are one pure function."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import picker_discovery
from picker_discovery._client import PickerClient
from picker_discovery._clock import FakeClock
from picker_discovery._retry import RetryPolicy
from picker_discovery._service import build
from picker_discovery._step import PollRules, SelectionCheck, decide, due
from picker_discovery.errors import (
    BadArgument,
    BadArgumentType,
    PermissionDenied,
    SessionNotFound,
    Unavailable,
)
from picker_discovery.models import PickingSession
from picker_discovery.testing import Backend, FakeHttp, canned
from picker_discovery.testing.canned import CannedResponse
from tests.fakes import ScriptedHttp, Step, session, session_body, stamp

SID = canned.SESSION_ID
UNAVAILABLE = CannedResponse(
    503, {"error": {"code": 503, "message": "Try later.", "status": "UNAVAILABLE"}}
)
NOT_FOUND = CannedResponse(
    404, {"error": {"code": 404, "message": "No such session.", "status": "NOT_FOUND"}}
)
NO_JITTER = RetryPolicy(jitter=0)


def client_for(
    *steps: Step, clock: FakeClock | None = None, retry: RetryPolicy = NO_JITTER
) -> tuple[PickerClient, ScriptedHttp, FakeClock]:
    clock = clock or FakeClock()
    http = ScriptedHttp(*steps)
    return PickerClient(http=http, clock=clock, retry=retry, journal=False), http, clock


def test_the_check_is_public() -> None:
    assert picker_discovery.SelectionCheck is SelectionCheck
    assert "SelectionCheck" in picker_discovery.__all__


# -- one request, no sleeping ----------------------------------------------------------------


def test_an_unpicked_session_says_wait_the_servers_interval_without_sleeping() -> None:
    client, http, clock = client_for(session(poll_interval="3.5s", timeout_in="60s"))
    check = client.check_selection(SID)
    assert (check.status, check.delay, check.reason) == ("wait", 3.5, None)
    assert check.session is not None and check.session.media_items_set is False
    assert check.session_id == SID
    assert (check.polls, check.failures) == (1, 0)
    assert check.deadline == clock.now() + timedelta(seconds=60)
    assert check.deadline_reason == "timeoutIn"
    assert len(http.requests) == 1
    assert clock.sleeps == [] and clock.monotonic() == 0


def test_a_picked_session_is_ready() -> None:
    client, http, _ = client_for(session(picked=True))
    check = client.check_selection(PickingSession.from_dict(session_body()))
    assert (check.status, check.delay, check.reason) == ("ready", 0.0, None)
    assert check.ready and not check.ended
    assert check.session is not None and check.session.media_items_set
    assert len(http.requests) == 1


def test_the_interval_is_kept_within_the_clients_bounds() -> None:
    client, _, _ = client_for(session(poll_interval="0.001s"), session(poll_interval="3600s"))
    assert client.check_selection(SID).delay == client.min_poll_interval
    assert client.check_selection(SID).delay == client.max_poll_interval
    client, _, _ = client_for(session(poll_interval=None))
    assert client.check_selection(SID).delay == picker_discovery._step.DEFAULT_POLL_INTERVAL


# -- every way a wait ends -------------------------------------------------------------------


def loop(client: PickerClient, clock: FakeClock, **kwargs: Any) -> list[SelectionCheck]:
    """Check, advance the fake clock by each delay, until ready or ended."""
    checks = [client.check_selection(SID, **kwargs)]
    while checks[-1].status == "wait":
        clock.advance(checks[-1].delay)
        checks.append(client.check_selection(SID, after=checks[-1], **kwargs))
    return checks


def test_the_callers_timeout_ends_with_reason_timeout_and_no_request_at_the_deadline() -> None:
    client, http, clock = client_for(session(), session())
    checks = loop(client, clock, timeout=8)
    assert [(c.status, c.delay, c.reason) for c in checks] == [
        ("wait", 5.0, None),
        ("wait", 3.0, None),
        ("ended", 0.0, "timeout"),
    ]
    assert len(http.requests) == 2  # the check at the deadline asks nobody
    assert checks[-1].polls == 2 and checks[-1].session is not None


def test_timeout_in_ends_with_reason_timeout_in() -> None:
    client, _, clock = client_for(session(timeout_in="7s"), session(timeout_in="600s"))
    checks = loop(client, clock)
    assert [c.reason for c in checks] == [None, None, "timeoutIn"]
    assert clock.monotonic() == 7.0  # a later, longer timeoutIn did not push it back


def test_timeout_in_zero_ends_at_once() -> None:
    client, http, _ = client_for(session(timeout_in="0s"))
    check = client.check_selection(SID)
    assert (check.status, check.reason, check.delay) == ("ended", "timeoutIn", 0.0)
    assert len(http.requests) == 1


def test_expire_time_ends_with_reason_expire_time() -> None:
    clock = FakeClock()
    expired = stamp(clock.now() - timedelta(seconds=1))
    client, _, _ = client_for(session(expire_time=expired), clock=clock)
    check = client.check_selection(SID)
    assert (check.status, check.reason) == ("ended", "expireTime")


def test_nothing_known_ends_at_the_clients_fallback_limit() -> None:
    body = session_body(poll_interval=None, timeout_in=None)
    del body["expireTime"]
    client, _, clock = client_for(*[CannedResponse(200, body)] * 3)
    client.fallback_wait = 12.0
    checks = loop(client, clock)
    assert [(c.status, c.delay, c.reason) for c in checks] == [
        ("wait", 5.0, None),
        ("wait", 5.0, None),
        ("wait", 2.0, None),
        ("ended", 0.0, "fallback"),
    ]


def test_a_deleted_session_ends_with_reason_deleted() -> None:
    client, _, clock = client_for(session(), NOT_FOUND)
    first = client.check_selection(SID)
    clock.advance(first.delay)
    check = client.check_selection(SID, after=first)
    assert (check.status, check.reason, check.session) == ("ended", "deleted", None)
    assert isinstance(check.error, SessionNotFound)


def test_a_non_retryable_error_is_raised_as_its_domain_class() -> None:
    client, _, _ = client_for("sessions.get.expired")
    with pytest.raises(PermissionDenied) as caught:
        client.check_selection(SID)
    assert caught.value.session_id == SID


# -- failures: a wait of the policy's backoff, bounded ----------------------------------------


def test_a_transient_failure_is_a_retry_wait_and_the_count_is_carried() -> None:
    client, http, clock = client_for(UNAVAILABLE, ConnectionResetError("reset"), session())
    first = client.check_selection(SID, timeout=600)
    assert (first.status, first.reason, first.delay, first.failures) == ("wait", "retry", 1, 1)
    assert isinstance(first.error, Unavailable)
    assert first.session is None and first.polls == 0
    clock.advance(first.delay)
    second = client.check_selection(SID, after=first, timeout=600)
    assert (second.reason, second.delay, second.failures) == ("retry", 2.0, 2)
    clock.advance(second.delay)
    third = client.check_selection(SID, after=second, timeout=600)
    assert (third.status, third.reason, third.failures, third.polls) == ("wait", None, 0, 1)
    assert len(http.requests) == 3 and clock.sleeps == []


def test_retries_stop_when_the_policys_attempts_are_spent() -> None:
    policy = RetryPolicy(max_attempts=3, jitter=0)
    client, http, clock = client_for(*[UNAVAILABLE] * 3, retry=policy)
    check = client.check_selection(SID)
    clock.advance(check.delay)
    check = client.check_selection(SID, after=check)
    clock.advance(check.delay)
    with pytest.raises(Unavailable):
        client.check_selection(SID, after=check)
    assert len(http.requests) == 3


def test_a_429_waits_the_rate_limit_delay() -> None:
    busy = CannedResponse(
        429, {"error": {"code": 429, "message": "Slow down.", "status": "RESOURCE_EXHAUSTED"}}
    )
    client, _, _ = client_for(busy)
    check = client.check_selection(SID)
    assert (check.reason, check.delay) == ("retry", 30.0)


def test_a_retry_never_waits_past_the_deadline() -> None:
    client, _, clock = client_for(session(), UNAVAILABLE._replace(headers={"Retry-After": "120"}))
    first = client.check_selection(SID, timeout=30)
    clock.advance(first.delay)
    retry = client.check_selection(SID, after=first, timeout=30)
    assert (retry.status, retry.reason, retry.delay) == ("wait", "retry", 25.0)
    clock.advance(retry.delay)
    assert client.check_selection(SID, after=retry).reason == "timeout"


# -- the carried state -----------------------------------------------------------------------


def test_the_check_survives_json_and_a_restart_with_its_deadline() -> None:
    """A task queue's view: each check runs in a fresh process (a new client, a new clock on
    the same wall time), with only the JSON of the check before."""
    start = datetime(2031, 5, 4, 10, 0, tzinfo=timezone.utc)
    backend = Backend(clock=FakeClock(start=start), polling_timeout="20s", poll_interval="4s")
    made = build(http=FakeHttp(backend)).sessions().create(body={}).execute()

    def worker(carried: str | None) -> SelectionCheck:
        clock = FakeClock(start=backend.clock.now())
        client = PickerClient(build(http=FakeHttp(backend)), clock=clock, journal=False)
        after = SelectionCheck.from_dict(json.loads(carried)) if carried else None
        return client.check_selection(made["id"], after=after)

    carried = None
    seen = []
    while True:
        check = worker(carried)
        seen.append((check.status, check.reason))
        if check.status != "wait":
            break
        carried = json.dumps(check.to_dict())
        assert SelectionCheck.from_dict(json.loads(carried)) == check
        backend.clock.advance(check.delay)
    assert seen[-1] == ("ended", "timeoutIn")
    assert backend.clock.now() - start == timedelta(seconds=20)
    assert len(backend.attempts("sessions.get")) == 5  # at 0, 4, 8, 12 and 16 s; none at 20


def test_a_picked_session_after_a_restart_is_ready() -> None:
    backend = Backend(clock=FakeClock())
    http = FakeHttp(backend)
    client = PickerClient(build(http=http), clock=backend.clock, journal=False)
    created = client.create_session()
    first = client.check_selection(created)
    backend.pick(created.id or "", first=2)
    after = SelectionCheck.from_dict(json.loads(json.dumps(first.to_dict())))
    check = client.check_selection(created, after=after)
    assert check.status == "ready" and check.polls == 2
    assert len(client.list_media_items(created)) == 2
    client.delete_session(created)


def test_the_timeout_counts_from_the_first_check() -> None:
    client, _, clock = client_for(session(), session())
    first = client.check_selection(SID)
    clock.advance(first.delay)
    second = client.check_selection(SID, after=first, timeout=7)
    assert (second.deadline_reason, second.delay) == ("timeout", 2.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": 99}, "format"),
        ({"status": "maybe"}, "status"),
        ({"started": "yesterday"}, "started"),
        ({"started": "2031-05-04T10:00:00"}, "started"),
        ({"failures": "2"}, "failures"),
        ({"session_id": None}, "session_id"),
    ],
)
def test_a_carried_check_that_is_not_one_is_refused(change: dict[str, Any], message: str) -> None:
    client, _, _ = client_for(session())
    data = {**client.check_selection(SID).to_dict(), **change}
    with pytest.raises(BadArgument, match=message):
        SelectionCheck.from_dict(data)
    with pytest.raises(BadArgumentType):
        SelectionCheck.from_dict(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_after_must_be_a_waiting_check_of_the_same_session() -> None:
    client, http, _ = client_for(session(), session(picked=True))
    waiting = client.check_selection(SID)
    with pytest.raises(BadArgument, match="not of"):
        client.check_selection("another-session", after=waiting)
    ready = client.check_selection(SID, after=waiting)
    with pytest.raises(BadArgument, match="ready"):
        client.check_selection(SID, after=ready)
    with pytest.raises(BadArgumentType):
        client.check_selection(SID, after=waiting.to_dict())  # type: ignore[arg-type]
    assert len(http.requests) == 2


# -- the pure rules, without a client ---------------------------------------------------------


def test_decide_and_due_are_pure() -> None:
    now = FakeClock().now()  # the session body expires a week from the real now
    rules = PollRules(min_poll_interval=1, max_poll_interval=10, fallback_wait=100)
    state = PickingSession.from_dict(session_body(poll_interval="30s", timeout_in="15s"))
    first = decide(SID, state, after=None, now=now, rules=rules)
    assert (first.status, first.delay) == ("wait", 10.0)
    assert first.deadline == now + timedelta(seconds=15)
    assert decide(SID, state, after=None, now=now, rules=rules) == first
    later = now + timedelta(seconds=10)
    assert due(SID, first, later, None) is None
    second = decide(SID, state, after=first, now=later, rules=rules)
    assert second.delay == 5.0  # to the deadline, not the interval
    ended = due(SID, second, later + timedelta(seconds=5), None)
    assert ended is not None and (ended.status, ended.reason) == ("ended", "timeoutIn")
    with pytest.raises(ValueError, match="not JSON"):  # not a retryable failure: raised as is
        decide(SID, ValueError("not JSON"), after=None, now=now, rules=rules)
