"""Error bodies and statuses, fuzzed: every answer becomes a class of the documented tree.

The class is checked against a table written here from the API's error model (status string
first, then the HTTP code, then 4xx/5xx), not against the module's own lookup tables.
"""

from __future__ import annotations

import json
from typing import Any

import httplib2
import pytest
from googleapiclient.errors import HttpError
from hypothesis import given, strategies as st

from picker_discovery import errors

# Google's error model (https://cloud.google.com/apis/design/errors): status -> class.
STATUS_CLASS: dict[str, type[errors.PickerHttpError]] = {
    "INVALID_ARGUMENT": errors.InvalidArgument,
    "FAILED_PRECONDITION": errors.FailedPrecondition,
    "OUT_OF_RANGE": errors.OutOfRange,
    "UNAUTHENTICATED": errors.Unauthenticated,
    "PERMISSION_DENIED": errors.PermissionDenied,
    "NOT_FOUND": errors.NotFound,
    "ALREADY_EXISTS": errors.AlreadyExists,
    "ABORTED": errors.Aborted,
    "RESOURCE_EXHAUSTED": errors.ResourceExhausted,
    "CANCELLED": errors.Cancelled,
    "INTERNAL": errors.Internal,
    "UNKNOWN": errors.Unknown,
    "DATA_LOSS": errors.DataLoss,
    "UNIMPLEMENTED": errors.Unimplemented,
    "UNAVAILABLE": errors.Unavailable,
    "DEADLINE_EXCEEDED": errors.DeadlineExceeded,
}
# Where a code has several statuses, the most general one.
CODE_CLASS: dict[int, type[errors.PickerHttpError]] = {
    400: errors.InvalidArgument,
    401: errors.Unauthenticated,
    403: errors.PermissionDenied,
    404: errors.NotFound,
    409: errors.Aborted,
    429: errors.ResourceExhausted,
    499: errors.Cancelled,
    500: errors.Internal,
    501: errors.Unimplemented,
    503: errors.Unavailable,
    504: errors.DeadlineExceeded,
}
GRPC_NUMBERS = {
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}


def expected_class(code: int, status: str | None) -> type[errors.PickerHttpError]:
    if status in STATUS_CLASS:
        return STATUS_CLASS[status]
    if code in CODE_CLASS:
        return CODE_CLASS[code]
    if 400 <= code < 500:
        return errors.ClientError
    if 500 <= code < 600:
        return errors.ServerError
    return errors.PickerHttpError


def response(code: int, reason: str = "Whatever") -> httplib2.Response:
    resp = httplib2.Response({"status": "200"})
    resp.status = code  # any integer a server (or a mock) can put there
    resp.reason = reason
    return resp


def raw_http_error(code: int, content: bytes) -> HttpError:
    """A googleapiclient HttpError as a transport handed it over, built without parsing."""
    error = HttpError.__new__(HttpError)
    error.resp, error.content, error.uri = response(code), content, "https://example/v1/x"
    error.error_details, error.reason = "", ""
    return error


def check(result: errors.PickerHttpError, code: int) -> None:
    """What every error must offer, whatever the body was."""
    assert isinstance(result, errors.PickerHttpError)
    assert isinstance(result, HttpError) and isinstance(result, errors.PickerError)
    assert result.code == code and result.resp.status == code
    assert isinstance(result.message, str) and isinstance(result.text, str)
    assert isinstance(result.details, list)
    assert isinstance(str(result), str) and isinstance(repr(result), str)
    assert isinstance(result.reason, str)
    assert result.error_info is None or isinstance(result.error_info.reason, str)


codes = st.one_of(
    st.sampled_from([*sorted(CODE_CLASS), 402, 408, 418, 502, 505, 599, 600, 302, 200]),
    st.integers(min_value=-(10**30), max_value=10**30),
)
json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
statuses = st.one_of(st.sampled_from(sorted(STATUS_CLASS)), st.text(max_size=20), json_values)
error_objects = st.fixed_dictionaries(
    {},
    optional={
        "code": st.one_of(st.integers(), json_values),
        "message": st.one_of(st.text(), json_values),
        "status": statuses,
        "details": st.one_of(
            st.lists(
                st.one_of(
                    json_values,
                    st.fixed_dictionaries(
                        {"@type": st.just(errors.ERROR_INFO_TYPE)},
                        optional={
                            "reason": json_values,
                            "domain": json_values,
                            "metadata": json_values,
                        },
                    ),
                ),
                max_size=3,
            ),
            json_values,
        ),
        "errors": json_values,
    },
)
bodies_json = st.one_of(
    st.builds(lambda e: {"error": e}, error_objects),
    error_objects,
    st.builds(lambda e: [{"error": e}], error_objects),
    json_values,
)


def encode(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


bodies = st.one_of(
    st.binary(max_size=300),
    bodies_json.map(encode),
    st.text(max_size=300).map(lambda t: t.encode("utf-8")),
    st.sampled_from(
        [
            b"",
            b"<!DOCTYPE html><html><title>Error 404</title><p>That\xe2\x80\x99s an error.</p>",
            b"<html><script>x<y</script><p>&lt;b&gt; &#0; &#x110000; </p",
            b"\xff\xfe{\x00}\x00",
            b"[" * 100_000,
            b'{"error": ' * 3_000 + b"1" + b"}" * 3_000,
            b'{"error": {"code": 1e400, "message": NaN, "status": Infinity}}',
            b'{"error": {"code": ' + b"9" * 5000 + b"}}",
        ]
    ),
)


@pytest.mark.fuzz
@given(code=codes, content=bodies, session_id=st.none() | st.text(max_size=10))
def test_any_answer_becomes_an_error_of_the_tree(
    code: int, content: bytes, session_id: str | None
) -> None:
    result = errors.from_http_error(
        raw_http_error(code, content),
        method_id="photospicker.sessions.get",
        session_id=session_id,
    )
    check(result, code)
    # The class is the one for the status the error reports (or, without one, for the code).
    chosen = type(result)
    if chosen is errors.SessionNotFound:
        assert session_id is not None and result.status == "NOT_FOUND"
        chosen = errors.NotFound
    assert chosen is expected_class(code, result.status)


@pytest.mark.fuzz
@given(code=codes, content=bodies)
def test_the_constructor_never_fails_either(code: int, content: bytes) -> None:
    cls = errors.error_class(code, None)
    check(cls(response(code), content, "https://example/v1/x"), code)


@pytest.mark.fuzz
@given(
    code=codes,
    status=st.none() | st.sampled_from(sorted(STATUS_CLASS)) | st.text(max_size=12),
    message=st.text(max_size=50),
    wrapped=st.booleans(),
    session_id=st.none() | st.just("s1"),
)
def test_well_formed_bodies_give_the_class_of_their_status(
    code: int, status: str | None, message: str, wrapped: bool, session_id: str | None
) -> None:
    error: dict[str, Any] = {"code": code, "message": message}
    if status is not None:
        error["status"] = status
    body = {"error": error} if wrapped else error
    result = errors.from_http_error(
        raw_http_error(code, encode(body)), method_id="m", session_id=session_id
    )
    check(result, code)
    body_status = status if status else None
    if not wrapped and not status and isinstance(code, int) and code in GRPC_NUMBERS:
        body_status = GRPC_NUMBERS[code]  # an unwrapped body's code is a google.rpc.Code
    want = expected_class(code, body_status)
    if want is errors.NotFound and session_id is not None and body_status == "NOT_FOUND":
        want = errors.SessionNotFound
    assert type(result) is want
    assert result.message == message.strip() or (not message.strip() and result.message)
    assert result.status == (body_status or want.grpc_status)


@pytest.mark.fuzz
@given(code=codes, content=bodies)
def test_googleapiclient_errors_built_from_any_answer_convert(code: int, content: bytes) -> None:
    """The HttpError googleapiclient raises (when it can build one) converts cleanly."""
    try:
        original = HttpError(response(code), content, uri="https://example/v1/x")
    except Exception:  # googleapiclient's own reader has failures of its own; not ours
        return
    check(errors.from_http_error(original, method_id="m", session_id="s"), code)


# Regressions: each of these raised something other than an error of the tree.


@pytest.mark.parametrize(
    "content",
    [
        b'{"error": {"message": 5, "status": "NOT_FOUND"}}',
        b'{"error": {"message": ["a"], "status": "NOT_FOUND"}}',
        b"[" * 100_000,
        b'{"error": ' * 3_000 + b"1" + b"}" * 3_000,
    ],
    ids=["number-message", "list-message", "deep-array", "deep-object"],
)
def test_a_body_googleapiclient_cannot_read_still_makes_an_error(content: bytes) -> None:
    result = errors.PickerHttpError(response(404), content, "https://example/v1/x")
    assert result.code == 404 and isinstance(result.reason, str)
    converted = errors.from_http_error(raw_http_error(404, content), session_id="s")
    assert isinstance(converted, errors.NotFound)


def test_a_boolean_code_is_not_a_grpc_code() -> None:
    """``{"code": true}`` is not google.rpc.Code 1 (CANCELLED): the HTTP code decides."""
    result = errors.from_http_error(raw_http_error(503, b'{"code": true, "message": "m"}'))
    assert type(result) is errors.Unavailable and result.status == "UNAVAILABLE"
