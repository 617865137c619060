"""The error tree: the right class from real-shaped bodies, and HttpError compatibility."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httplib2
import pytest
from googleapiclient.errors import HttpError

import picker_discovery
from picker_discovery import errors
from picker_discovery._client import PickerClient
from picker_discovery._retry import RetryPolicy
from picker_discovery.testing import canned

SESSION = canned.SESSION_ID


def raised_by(answer: str | canned.CannedResponse, call: str = "get") -> HttpError:
    """The HttpError googleapiclient raises for a canned answer to a real request."""
    service = picker_discovery.build(http=canned.sequence(answer))
    requests: dict[str, Callable[[], Any]] = {
        "create": lambda: service.sessions().create(body={}),
        "get": lambda: service.sessions().get(sessionId=SESSION),
        "delete": lambda: service.sessions().delete(sessionId=SESSION),
        "list": lambda: service.mediaItems().list(sessionId=SESSION),
    }
    with pytest.raises(HttpError) as caught:
        requests[call]().execute()
    return caught.value


@pytest.mark.parametrize(
    ("answer", "call", "cls", "status", "code"),
    [
        ("sessions.create.no_photos_account", "create", errors.FailedPrecondition, "FAILED_PRECONDITION", 400),
        ("sessions.create.too_many_sessions", "create", errors.ResourceExhausted, "RESOURCE_EXHAUSTED", 429),
        ("sessions.create.invalid_max_item_count", "create", errors.InvalidArgument, "INVALID_ARGUMENT", 400),
        ("sessions.get.not_found", "get", errors.SessionNotFound, "NOT_FOUND", 404),
        ("sessions.get.expired", "get", errors.PermissionDenied, "PERMISSION_DENIED", 403),
        ("sessions.delete.not_found", "delete", errors.SessionNotFound, "NOT_FOUND", 404),
        ("mediaItems.list.not_picked_yet", "list", errors.FailedPrecondition, "FAILED_PRECONDITION", 400),
        ("mediaItems.list.negative_page_size", "list", errors.InvalidArgument, "INVALID_ARGUMENT", 400),
        ("unauthenticated", "get", errors.Unauthenticated, "UNAUTHENTICATED", 401),
        ("insufficient_scopes", "get", errors.PermissionDenied, "PERMISSION_DENIED", 403),
        ("service_disabled", "create", errors.PermissionDenied, "PERMISSION_DENIED", 403),
        ("rate_limited", "list", errors.ResourceExhausted, "RESOURCE_EXHAUSTED", 429),
        ("unavailable", "get", errors.Unavailable, "UNAVAILABLE", 503),
        ("internal", "delete", errors.Internal, "INTERNAL", 500),
        ("bad_gateway_html", "get", errors.ServerError, None, 502),
        ("unavailable_html", "get", errors.Unavailable, "UNAVAILABLE", 503),
        ("wrong_path_html", "get", errors.NotFound, "NOT_FOUND", 404),
        ("unwrapped_unauthenticated", "get", errors.Unauthenticated, "UNAUTHENTICATED", 401),
    ],
)  # fmt: skip
def test_each_answer_maps_to_its_class(
    answer: str, call: str, cls: type[errors.PickerHttpError], status: str | None, code: int
) -> None:
    original = raised_by(answer, call)
    method_id = f"photospicker.{'mediaItems' if call == 'list' else 'sessions'}.{call}"
    session = None if call == "create" else SESSION
    error = errors.from_http_error(original, method_id=method_id, session_id=session)
    assert type(error) is cls
    assert isinstance(error, HttpError) and isinstance(error, errors.PickerError)
    assert (error.status, error.code, error.status_code) == (status, code, code)
    assert (error.resp, error.content, error.uri) == (original.resp, original.content, original.uri)
    assert error.reason == original.reason  # googleapiclient's own attribute, unchanged
    assert isinstance(error.details, list)
    assert (error.method_id, error.session_id) == (method_id, session)
    assert error.message


def test_a_wrong_endpoint_404_is_never_taken_for_a_missing_session() -> None:
    error = errors.from_http_error(
        raised_by("wrong_path_html"), method_id="photospicker.sessions.get", session_id=SESSION
    )
    assert type(error) is errors.NotFound
    assert "<html" in error.text and "was not found on this server" in error.message


def test_an_html_body_is_kept_and_summarised() -> None:
    error = errors.from_http_error(raised_by("bad_gateway_html"))
    assert error.text == canned.response("bad_gateway_html").body
    assert "That\u2019s an error." in error.message
    assert error.details == [] and error.error_info is None


def test_error_info_and_details_are_exposed() -> None:
    error = errors.from_http_error(raised_by("service_disabled", "create"))
    assert error.error_reason == "SERVICE_DISABLED"
    assert error.error_info is not None
    assert error.error_info.domain == "googleapis.com"
    assert error.error_info.metadata["service"] == "photospicker.googleapis.com"
    assert [d["@type"].rsplit(".", 1)[1] for d in error.details] == [
        "ErrorInfo",
        "LocalizedMessage",
        "Help",
    ]
    assert "has not been used in project" in error.message
    assert errors.from_http_error(raised_by("rate_limited")).error_reason == "RATE_LIMIT_EXCEEDED"
    assert errors.from_http_error(raised_by("insufficient_scopes")).error_reason is None


def test_the_status_string_wins_over_the_http_code() -> None:
    """FAILED_PRECONDITION and INVALID_ARGUMENT share 400; the body tells them apart."""
    odd = canned.CannedResponse(400, {"error": {"code": 400, "status": "OUT_OF_RANGE"}})
    assert type(errors.from_http_error(raised_by(odd))) is errors.OutOfRange
    unknown = canned.CannedResponse(400, {"error": {"code": 400, "status": "SOMETHING_NEW"}})
    assert type(errors.from_http_error(raised_by(unknown))) is errors.InvalidArgument


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (400, errors.InvalidArgument),
        (401, errors.Unauthenticated),
        (403, errors.PermissionDenied),
        (404, errors.NotFound),
        (409, errors.Aborted),
        (418, errors.ClientError),
        (429, errors.ResourceExhausted),
        (499, errors.Cancelled),
        (500, errors.Internal),
        (501, errors.Unimplemented),
        (502, errors.ServerError),
        (503, errors.Unavailable),
        (504, errors.DeadlineExceeded),
    ],
)
def test_bodies_without_a_status_map_by_http_code(
    code: int, cls: type[errors.PickerHttpError]
) -> None:
    for content in ("", "not json", "[]", '{"error": "x"}', '{"error": {"code": 1}}'):
        original = HttpError(httplib2.Response({"status": str(code)}), content.encode(), uri="u")
        assert type(errors.from_http_error(original)) is cls


def test_invalid_utf8_does_not_break_the_error() -> None:
    error = errors.from_http_error(raised_by(canned.CannedResponse(503, "x")))
    error_bytes = errors.Unavailable(error.resp, b"\xff\xfe oops", error.uri)
    assert "oops" in error_bytes.message


def test_message_says_what_where_and_what_next() -> None:
    error = errors.from_http_error(
        raised_by("sessions.create.too_many_sessions", "create"),
        method_id="photospicker.sessions.create",
    )
    text = str(error)
    assert text.startswith("sessions.create failed: HTTP 429 RESOURCE_EXHAUSTED: ")
    assert "too many active sessions" in text and "[TOO_MANY_SESSIONS]" in text
    assert "delete sessions you no longer need" in text
    missing = errors.from_http_error(
        raised_by("sessions.delete.not_found", "delete"),
        method_id="photospicker.sessions.delete",
        session_id=SESSION,
    )
    assert f"sessions.delete for session '{SESSION}'" in str(missing)
    assert "already deleted" in str(missing)
    assert "SessionNotFound" in repr(missing)


def test_except_http_error_still_catches_what_the_client_raises() -> None:
    client = PickerClient(
        picker_discovery.build(http=canned.sequence("unavailable")), retry=RetryPolicy.none()
    )
    with pytest.raises(HttpError) as caught:
        client.delete_session(SESSION)
    assert isinstance(caught.value, errors.Unavailable)
    assert caught.value.resp.status == 503
    assert isinstance(caught.value.__cause__, HttpError)


def test_a_domain_error_is_returned_as_is_when_nothing_is_added() -> None:
    error = errors.from_http_error(raised_by("internal"))
    assert errors.from_http_error(error) is error


def test_every_class_is_an_http_error_and_a_picker_error() -> None:
    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, HttpError) and c is not HttpError
    ]
    assert len(classes) >= 20
    for cls in classes:
        assert issubclass(cls, errors.PickerError), cls
        assert cls.__name__ in errors.__all__
