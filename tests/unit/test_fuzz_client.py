"""The client, fuzzed: session ids checked before sending, any answer read into our errors."""

from __future__ import annotations

import json
import unicodedata
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, strategies as st

import picker_discovery
from picker_discovery import errors
from picker_discovery._client import PickerClient
from picker_discovery._retry import RetryPolicy
from picker_discovery.testing import canned

ROOT = "https://photospicker.googleapis.com"

# Any code point, lone surrogates included (what os.fsdecode makes of bytes that are not UTF-8).
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
session_ids = st.one_of(
    any_text,
    st.text(st.sampled_from("./%?#&=+ -_~:@!$'()*,;[]\\"), max_size=6),
    st.sampled_from(["", " ", ".", "..", "...", "a/b", "%2F", "\u2215", "\x00", "\udcff"]),
    st.uuids().map(str),
)


def refused(session_id: str) -> bool:
    """Which ids the client documents it refuses, written out independently."""
    return (
        not session_id.strip()
        or "/" in session_id
        or session_id in (".", "..")
        or any(unicodedata.category(ch) in ("Cc", "Cs") for ch in session_id)
    )


def client_for(*answers: Any) -> tuple[PickerClient, canned.ClosableHttpMockSequence]:
    http = canned.ClosableHttpMockSequence(answers)
    return PickerClient(picker_discovery.build(http=http), retry=RetryPolicy.none()), http


CALLS: dict[str, tuple[str, str, Callable[[PickerClient, str], Any]]] = {
    "get": ("sessions.get.polling", "GET", lambda c, sid: c.get_session(sid)),
    "delete": ("sessions.delete", "DELETE", lambda c, sid: c.delete_session(sid)),
}


@pytest.mark.fuzz
@given(session_id=session_ids, call=st.sampled_from(sorted(CALLS)))
def test_a_session_id_is_refused_or_sent_encoded_to_its_own_path(
    session_id: str, call: str
) -> None:
    answer, method, act = CALLS[call]
    client, http = client_for(canned.response(answer).to_mock_pair())
    try:
        act(client, session_id)
    except ValueError as exc:
        assert refused(session_id), f"{session_id!r} refused: {exc}"
        assert "session id" in str(exc)
        assert http.request_sequence == []  # nothing was sent
        return
    assert not refused(session_id)
    [(uri, sent_method, _body, headers)] = http.request_sequence
    parts = urllib.parse.urlsplit(uri)
    assert f"{parts.scheme}://{parts.netloc}" == ROOT
    assert parts.path == "/v1/sessions/" + urllib.parse.quote(session_id, safe="")
    assert urllib.parse.unquote(parts.path.removeprefix("/v1/sessions/")) == session_id
    assert sent_method == method or headers.get("x-http-method-override") == method


@pytest.mark.fuzz
@given(session_id=session_ids)
def test_listing_sends_the_id_as_one_query_value(session_id: str) -> None:
    client, http = client_for(({"status": "200"}, b"{}"))
    try:
        items = client.list_media_items(session_id)
    except ValueError:
        assert refused(session_id) and http.request_sequence == []
        return
    assert items == [] and not refused(session_id)
    [(uri, *_)] = http.request_sequence
    parts = urllib.parse.urlsplit(uri)
    assert parts.path == "/v1/mediaItems"
    assert urllib.parse.parse_qs(parts.query)["sessionId"] == [session_id]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
statuses = st.sampled_from([200, 201, 204, 299, 301, 304, 400, 401, 403, 404, 429, 500, 503, 599])
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda v: json.dumps({"error": v}).encode(),
        st.dictionaries(st.sampled_from(["code", "message", "status", "details"]), json_values),
    ),
    st.sampled_from(
        [
            b"",
            b"\xff\xfe",
            b"[" * 100_000,
            b'{"error": {"message": 5, "status": "NOT_FOUND"}}',
            b"<html><p>That\xe2\x80\x99s an error.</p></html>",
            canned.response("sessions.get.polling").to_mock_pair()[1],
        ]
    ),
)
ACTIONS: dict[str, Callable[[PickerClient], Any]] = {
    "create": lambda c: c.create_session(),
    "get": lambda c: c.get_session("s1"),
    "delete": lambda c: c.delete_session("s1"),
    "list": lambda c: c.list_media_items("s1"),
}


@pytest.mark.fuzz
@given(action=st.sampled_from(sorted(ACTIONS)), status=statuses, content=bodies)
def test_any_answer_is_a_result_or_a_documented_error(
    action: str, status: int, content: bytes
) -> None:
    client, _ = client_for(({"status": str(status)}, content))
    try:
        ACTIONS[action](client)
    except errors.PickerHttpError as exc:
        assert status >= 300 and exc.code == status
        assert exc.method_id is not None and str(exc)
    except errors.PickerError as exc:
        assert status < 300 and str(exc)


# Regressions: each of these answers escaped as AttributeError, UnicodeDecodeError,
# RecursionError or TypeError from inside googleapiclient or the models.


@pytest.mark.parametrize(
    ("status", "content", "expected"),
    [
        (404, b'{"error": {"message": 5, "status": "NOT_FOUND"}}', errors.SessionNotFound),
        (503, b"[" * 100_000, errors.Unavailable),
        (200, b"\xff\xfe{}", errors.MalformedResponse),
        (200, b"[" * 100_000, errors.MalformedResponse),
        (200, b"<html>OK</html>", errors.MalformedResponse),
        (200, b"[1, 2]", errors.MalformedResponse),
        (200, b"", errors.MalformedResponse),
    ],
    ids=[
        "number-message",
        "deep-error",
        "not-utf8",
        "deep-answer",
        "html-answer",
        "list-answer",
        "empty-answer",
    ],
)
def test_an_unreadable_answer_is_a_picker_error(
    status: int, content: bytes, expected: type[Exception]
) -> None:
    client, _ = client_for(({"status": str(status)}, content))
    with pytest.raises(expected) as caught:
        client.get_session("s1")
    assert "sessions.get" in str(caught.value)


def test_delete_accepts_an_empty_body() -> None:
    client, http = client_for(({"status": "200"}, b""))
    client.delete_session("s1")
    assert len(http.request_sequence) == 1


def test_a_surrogate_in_a_session_id_is_refused_before_sending() -> None:
    client, http = client_for(canned.response("sessions.get.polling").to_mock_pair())
    with pytest.raises(ValueError, match="session id"):
        client.get_session("abc\udcff")
    assert http.request_sequence == []
