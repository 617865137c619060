"""PickerClient.delete_session: success, SessionNotFound, and bad ids refused before sending."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

import picker_discovery
from picker_discovery import errors
from picker_discovery._client import PickerClient
from picker_discovery._retry import RetryPolicy
from picker_discovery.testing import canned

SESSION = canned.SESSION_ID


def client_for(*answers: str) -> tuple[PickerClient, canned.ClosableHttpMockSequence]:
    http = canned.sequence(*answers)
    return PickerClient(picker_discovery.build(http=http), retry=RetryPolicy.none()), http


def test_delete_sends_one_delete_and_accepts_the_empty_answer() -> None:
    client, http = client_for("sessions.delete")
    client.delete_session(SESSION)
    [(uri, method, body, _headers)] = http.request_sequence
    assert method == "DELETE"
    assert uri.split("?")[0] == f"https://photospicker.googleapis.com/v1/sessions/{SESSION}"
    assert body is None


def test_a_missing_session_raises_session_not_found_with_its_id() -> None:
    client, _ = client_for("sessions.delete.not_found")
    with pytest.raises(errors.SessionNotFound) as caught:
        client.delete_session(SESSION)
    error = caught.value
    assert error.session_id == SESSION
    assert error.method_id == "photospicker.sessions.delete"
    assert isinstance(error, errors.NotFound) and isinstance(error, HttpError)
    assert error.resp.status == 404


def test_missing_ok_returns_quietly_on_a_missing_session() -> None:
    client, http = client_for("sessions.delete.not_found")
    client.delete_session(SESSION, missing_ok=True)
    assert http.remaining == 0


def test_missing_ok_does_not_hide_a_wrong_endpoint() -> None:
    """An HTML 404 means the request went somewhere else: that is not a deleted session."""
    client, _ = client_for("wrong_path_html")
    with pytest.raises(errors.NotFound) as caught:
        client.delete_session(SESSION, missing_ok=True)
    assert not isinstance(caught.value, errors.SessionNotFound)


@pytest.mark.parametrize(
    ("answer", "cls"),
    [
        ("unauthenticated", errors.Unauthenticated),
        ("insufficient_scopes", errors.PermissionDenied),
        ("rate_limited", errors.ResourceExhausted),
        ("bad_gateway_html", errors.ServerError),
    ],
)
def test_other_errors_are_raised_as_their_domain_class_even_with_missing_ok(
    answer: str, cls: type[errors.PickerHttpError]
) -> None:
    client, _ = client_for(answer)
    with pytest.raises(cls) as caught:
        client.delete_session(SESSION, missing_ok=True)
    assert caught.value.session_id == SESSION


@pytest.mark.parametrize(
    "bad",
    [
        "",
        " ",
        "\t\n",
        "a/b",
        "/",
        "../x",
        ".",
        "..",
        "abc\n",
        "a\x00b",
        "a\x7fb",
        "\x1b[31m",
        "a\u0085b",
        None,
        42,
        b"abc",
        ["abc"],
    ],
)
def test_bad_session_ids_are_refused_before_anything_is_sent(bad: Any) -> None:
    client, http = client_for("sessions.delete")
    with pytest.raises(ValueError, match="session id"):
        client.delete_session(bad)
    assert http.request_sequence == []


@pytest.mark.parametrize("good", [SESSION, "abc", "ünïcode", "a.b", "...", "a b", "a%2Fb"])
def test_unusual_but_harmless_ids_are_sent_encoded(good: str) -> None:
    from urllib.parse import quote

    client, http = client_for("sessions.delete")
    client.delete_session(good)
    [(uri, *_rest)] = http.request_sequence
    assert uri.split("?")[0].endswith("/v1/sessions/" + quote(good, safe=""))


def test_a_client_takes_a_service_or_build_arguments_not_both() -> None:
    service = picker_discovery.build(http=canned.mock("sessions.delete"))
    with pytest.raises(ValueError, match="not both"):
        PickerClient(service, http=canned.mock("sessions.delete"))
    built = PickerClient(http=canned.mock("sessions.delete"))
    built.delete_session(SESSION)
