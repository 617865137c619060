"""RetryPolicy on its own, and the retries PickerClient makes with it (recorded, never slept)."""

from __future__ import annotations

import http.client
import logging
import socket
from datetime import datetime, timezone

import httplib2
import pytest

from picker_discovery._client import PickerClient
from picker_discovery._clock import FakeClock
from picker_discovery._retry import (
    RetryPolicy,
    is_transport_error,
    is_unsent_error,
    retry_after_seconds,
)
from picker_discovery.errors import (
    InvalidArgument,
    ResourceExhausted,
    ServerError,
    SessionNotFound,
    Unavailable,
)
from picker_discovery.testing import canned
from picker_discovery.testing.canned import CannedResponse
from tests.fakes import ScriptedHttp, Step

SID = canned.SESSION_ID
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)
NO_JITTER = RetryPolicy(random=lambda: 0.0)


def with_headers(name: str, **headers: str) -> CannedResponse:
    answer = canned.response(name)
    return answer._replace(headers={**answer.headers, **headers})


def client_for(
    *steps: Step, policy: RetryPolicy = NO_JITTER
) -> tuple[PickerClient, ScriptedHttp, FakeClock]:
    http = ScriptedHttp(*steps)
    clock = FakeClock(start=NOW)
    return PickerClient(http=http, clock=clock, retry=policy), http, clock


# -- the policy --------------------------------------------------------------------------


def test_backoff_grows_from_one_second_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=10, random=lambda: 0.0)
    assert [policy.backoff(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 32, 32]


def test_jitter_adds_up_to_its_fraction_with_injectable_random() -> None:
    policy = RetryPolicy(jitter=0.5, random=lambda: 0.5)
    assert policy.backoff(1) == 1.25
    assert policy.backoff(3) == 5.0
    assert RetryPolicy(random=lambda: 0.999).backoff(1) == pytest.approx(1.0999)


def test_attempts_are_counted() -> None:
    policy = RetryPolicy(max_attempts=3, random=lambda: 0.0)
    assert policy.retry_delay(1, status=503) == 1.0
    assert policy.retry_delay(2, status=503) == 2.0
    assert policy.retry_delay(3, status=503) is None
    assert RetryPolicy.none().retry_delay(1, status=503) is None


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_statuses(status: int) -> None:
    assert NO_JITTER.retry_delay(1, status=status) is not None
    assert NO_JITTER.retry_delay(1, status=status, idempotent=False) is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 501])
def test_statuses_that_are_not_retried(status: int) -> None:
    assert NO_JITTER.retry_delay(1, status=status) is None


def test_after_a_429_the_wait_is_at_least_30_seconds() -> None:
    assert NO_JITTER.retry_delay(1, status=429) == 30.0
    assert NO_JITTER.retry_delay(1, status=429, headers={"retry-after": "5"}) == 30.0
    assert NO_JITTER.retry_delay(1, status=429, headers={"Retry-After": "45"}) == 45.0


def test_retry_after_seconds_and_http_date() -> None:
    assert retry_after_seconds({"retry-after": "7"}) == 7.0
    assert retry_after_seconds({"Retry-After": "Mon, 30 Nov 2026 10:00:45 GMT"}, NOW) == 45.0
    assert retry_after_seconds({"retry-after": "Mon, 30 Nov 2026 09:00:00 GMT"}, NOW) == 0.0
    assert retry_after_seconds({"retry-after": "soon"}, NOW) is None
    assert retry_after_seconds({}, NOW) is None
    assert retry_after_seconds(None) is None
    headers = {"retry-after": "Mon, 30 Nov 2026 10:00:12 GMT"}
    assert NO_JITTER.retry_delay(1, status=503, headers=headers, now=NOW) == 12.0


def test_a_retry_after_beyond_the_limit_gives_up() -> None:
    policy = RetryPolicy(max_retry_after=60, random=lambda: 0.0)
    assert policy.retry_delay(1, status=503, headers={"retry-after": "61"}) is None
    assert policy.retry_delay(1, status=503, headers={"retry-after": "60"}) == 60.0


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionResetError(),
        ConnectionRefusedError(),
        ConnectionAbortedError(),
        BrokenPipeError(),
        TimeoutError(),
        TimeoutError(),
        socket.gaierror(),
        http.client.RemoteDisconnected("closed"),
        http.client.IncompleteRead(b""),
        httplib2.ServerNotFoundError("no such host"),
    ],
)
def test_transport_errors_are_retried_for_idempotent_requests(exc: BaseException) -> None:
    assert is_transport_error(exc)
    assert NO_JITTER.retry_delay(1, exception=exc) == 1.0


@pytest.mark.parametrize(
    "exc", [ValueError("x"), KeyError("x"), httplib2.RelativeURIError("x"), FileNotFoundError()]
)
def test_other_exceptions_are_not_retried(exc: BaseException) -> None:
    assert not is_transport_error(exc)
    assert NO_JITTER.retry_delay(1, exception=exc) is None


def test_only_unsent_failures_are_retried_for_non_idempotent_requests() -> None:
    for unsent in (ConnectionRefusedError(), socket.gaierror(), httplib2.ServerNotFoundError()):
        assert is_unsent_error(unsent)
        assert NO_JITTER.retry_delay(1, exception=unsent, idempotent=False) == 1.0
    for maybe_sent in (
        ConnectionResetError(),
        TimeoutError(),
        http.client.RemoteDisconnected("closed"),
    ):
        assert not is_unsent_error(maybe_sent)
        assert NO_JITTER.retry_delay(1, exception=maybe_sent, idempotent=False) is None


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_attempts": 0}, ValueError),
        ({"max_attempts": True}, TypeError),
        ({"initial_delay": -1}, ValueError),
        ({"multiplier": 0.5}, ValueError),
    ],
)
def test_policy_checks_its_settings(kwargs: dict[str, int], error: type[Exception]) -> None:
    with pytest.raises(error, match=next(iter(kwargs))):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


# -- the client's retries ----------------------------------------------------------------


def test_get_retries_503_with_backoff() -> None:
    client, http, clock = client_for("unavailable", "bad_gateway_html", "sessions.get.picked")
    assert client.get_session(SID).media_items_set is True
    assert clock.sleeps == [1.0, 2.0]
    assert len(http.requests) == 3


def test_get_honours_retry_after_on_503_and_429() -> None:
    client, _, clock = client_for(
        with_headers("unavailable", **{"retry-after": "7"}),
        "rate_limited",  # Retry-After: 30
        with_headers("rate_limited", **{"retry-after": "Mon, 30 Nov 2026 10:01:30 GMT"}),
        "sessions.get.picked",
    )
    client.get_session(SID)
    # 7 s asked; 30 s asked after a 429; an HTTP date 90 s after the fake clock's "now" (which
    # has moved 37 s by then), so 53 s.
    assert clock.sleeps == [7.0, 30.0, 53.0]


def test_a_429_without_retry_after_waits_30_seconds() -> None:
    rate_limited = canned.response("rate_limited")._replace(headers={})
    client, _, clock = client_for(rate_limited, "sessions.get.picked")
    client.get_session(SID)
    assert clock.sleeps == [30.0]


def test_get_gives_up_after_max_attempts_with_the_last_error() -> None:
    client, http, clock = client_for(*["unavailable"] * 5)
    with pytest.raises(Unavailable) as caught:
        client.get_session(SID)
    assert caught.value.session_id == SID
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]
    assert len(http.requests) == 5


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError("timed out"),
        http.client.RemoteDisconnected("Remote end closed connection"),
        httplib2.ServerNotFoundError("Unable to find the server"),
    ],
)
def test_list_and_delete_retry_transport_errors(exc: BaseException) -> None:
    client, http, clock = client_for(exc, "mediaItems.list", exc, "sessions.delete")
    assert len(client.list_media_items(SID)) == 2
    client.delete_session(SID)
    assert clock.sleeps == [1.0, 1.0]
    assert len(http.requests) == 4


def test_a_retried_list_page_asks_for_the_same_token() -> None:
    client, http, _ = client_for(
        "mediaItems.list.first_page", "internal", "mediaItems.list.last_page"
    )
    assert len(client.list_media_items(SID)) == 2
    assert [q.get("pageToken") for _, _, q, _ in http.requests] == [None, ["CAEQAQ"], ["CAEQAQ"]]


def test_errors_that_are_not_transient_are_not_retried() -> None:
    client, http, clock = client_for("mediaItems.list.negative_page_size", ValueError("bug"))
    with pytest.raises(InvalidArgument):
        client.list_media_items(SID)
    with pytest.raises(ValueError, match="bug"):
        client.get_session(SID)
    assert clock.sleeps == []
    assert len(http.requests) == 2


@pytest.mark.parametrize("answer", ["unavailable", "internal", "bad_gateway_html"])
def test_create_is_never_retried_after_a_5xx(answer: str) -> None:
    client, http, clock = client_for(answer, "sessions.create")
    with pytest.raises(ServerError, match=r"sessions\.create failed: HTTP 5"):
        client.create_session()
    assert len(http.requests) == 1
    assert clock.sleeps == []


def test_create_is_never_retried_on_resource_exhausted() -> None:
    client, http, clock = client_for("sessions.create.too_many_sessions", "sessions.create")
    with pytest.raises(ResourceExhausted):
        client.create_session()
    assert len(http.requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "exc", [ConnectionResetError(), TimeoutError(), http.client.RemoteDisconnected("closed")]
)
def test_create_is_never_retried_when_the_request_may_have_arrived(exc: BaseException) -> None:
    client, http, _ = client_for(exc, "sessions.create")
    with pytest.raises(type(exc)):
        client.create_session()
    assert len(http.requests) == 1


def test_create_is_retried_when_the_connection_was_refused() -> None:
    client, http, clock = client_for(ConnectionRefusedError(111, "refused"), "sessions.create")
    assert client.create_session().id == SID
    assert len(http.requests) == 2
    assert clock.sleeps == [1.0]


@pytest.mark.parametrize(
    "first", ["unavailable", "internal", ConnectionResetError(), TimeoutError()]
)
def test_delete_404_after_a_failure_in_transit_counts_as_success(
    first: Step, caplog: pytest.LogCaptureFixture
) -> None:
    client, http, _ = client_for(first, "sessions.delete.not_found")
    with caplog.at_level(logging.INFO, "picker_discovery._client"):
        client.delete_session(SID)
    assert len(http.requests) == 2
    assert any("earlier attempt" in r.getMessage() for r in caplog.records)


def test_delete_404_first_or_after_a_429_is_still_not_found() -> None:
    client, _, _ = client_for(
        "sessions.delete.not_found", "rate_limited", "sessions.delete.not_found"
    )
    with pytest.raises(SessionNotFound):
        client.delete_session(SID)
    with pytest.raises(SessionNotFound):  # a 429 was not processed: the 404 is real
        client.delete_session(SID)


def test_retry_none_turns_retrying_off() -> None:
    client, http, _ = client_for("unavailable", policy=RetryPolicy.none())
    with pytest.raises(Unavailable):
        client.get_session(SID)
    assert len(http.requests) == 1


def test_policies_per_method() -> None:
    http = ScriptedHttp("unavailable", "unavailable", "mediaItems.list")
    clock = FakeClock()
    client = PickerClient(
        http=http,
        clock=clock,
        retry={"sessions.get": RetryPolicy.none(), "mediaItems.list": NO_JITTER},
    )
    with pytest.raises(Unavailable):
        client.get_session(SID)
    assert len(client.list_media_items(SID)) == 2
    assert clock.sleeps == [1.0]
    with pytest.raises(ValueError, match="unknown methods"):
        PickerClient(http=http, retry={"sessions.list": NO_JITTER})


def test_retries_are_logged_without_credentials(caplog: pytest.LogCaptureFixture) -> None:
    client, _, _ = client_for("unavailable", "sessions.get.picked")
    with caplog.at_level(logging.DEBUG):
        client.get_session(SID)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "sessions.get for session" in text and "HTTP 503 UNAVAILABLE" in text
    assert "authorization" not in text.lower() and "bearer" not in text.lower()
