"""The redaction behind "no token in an exception or a log record", piece by piece."""

from __future__ import annotations

import json
import logging
import string
import urllib.parse

import google.auth.exceptions
import httplib2
import pytest
from googleapiclient.errors import HttpError
from hypothesis import given, strategies as st

from picker_discovery._secrets import (
    REDACTED,
    RedactingFilter,
    credential_secrets,
    install_log_filter,
    redact,
    scrub,
)
from picker_discovery.testing._http import SECRET_PARAMS, Request, _redacted

SECRET = "an-opaque-emulator-token-1234"  # no Google shape: found only because it is known
ACCESS = "ya29.a0AfB_byC-example_access_token-0123456789"
REFRESH = "1//0gExample-refresh_token-0123456789"


@pytest.mark.parametrize(
    "text",
    [
        f"Bearer {SECRET}",
        f"token={urllib.parse.quote(SECRET, safe='')}",
        json.dumps({"access_token": ACCESS}),
        json.dumps({"refresh_token": REFRESH}).replace("/", "\\/"),  # JSON may escape slashes
        f"refresh_token={urllib.parse.quote_plus(REFRESH)}&grant_type=refresh_token",
        "client_secret=GOCSPX-abcdefghijklmnop",
        "code=4%2F0AeanS0example-authorization-code",
    ],
)
def test_known_secrets_and_google_shaped_tokens_are_redacted(text: str) -> None:
    cleaned = redact(text, [SECRET])
    assert REDACTED in cleaned
    for secret in (SECRET, ACCESS, REFRESH, "GOCSPX-abc", "gExample", "0AeanS0"):
        assert secret not in cleaned


def test_ordinary_text_is_left_alone() -> None:
    text = "GET /v1/sessions/abc?alt=json 1//2 ya29 4/04 v1//x"
    assert redact(text, ["short"]) is text


def test_an_http_error_is_scrubbed_whole() -> None:
    body = json.dumps({"error": {"code": 400, "message": f"you sent {SECRET}"}}).encode()
    resp = httplib2.Response({"status": "400", "x-echo": f"Bearer {SECRET}"})
    error = HttpError(resp, body, uri=f"https://example.googleapis.com/v1?key={SECRET}")
    outer = RuntimeError(f"while sending {SECRET}")
    outer.__cause__ = error
    assert scrub(outer, [SECRET]) is outer
    for text in (str(outer), repr(error), str(error.content), error.uri, repr(dict(error.resp))):
        assert SECRET not in text and REDACTED in text


def test_a_refresh_error_keeps_its_type_and_loses_the_token() -> None:
    error = google.auth.exceptions.RefreshError(
        f"invalid_request: {REFRESH}", {"error_description": REFRESH}, retryable=False
    )
    scrub(error, [])
    assert isinstance(error, google.auth.exceptions.RefreshError)
    assert REFRESH not in str(error) and REFRESH not in repr(error.args)


def test_credential_secrets() -> None:
    import google.oauth2.credentials

    credentials = google.oauth2.credentials.Credentials(
        token=ACCESS, refresh_token=REFRESH, client_id="id", client_secret="GOCSPX-xyzxyzxyz"
    )
    assert credential_secrets(credentials) == {ACCESS, REFRESH, "GOCSPX-xyzxyzxyz"}
    assert credential_secrets(None) == frozenset()


def test_the_log_filter_redacts_messages_arguments_and_extras() -> None:
    install_log_filter()
    install_log_filter()  # idempotent
    logger = logging.getLogger("google.auth.transport.requests")
    assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1
    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "token %s", (ACCESS,), None)
    record.httpRequest = {"headers": {"Authorization": f"Bearer {ACCESS}"}}
    assert RedactingFilter().filter(record)
    assert ACCESS not in record.getMessage()
    assert ACCESS not in repr(vars(record))


TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_.~+/="


@pytest.mark.fuzz
@given(st.text(), st.text(), st.text(alphabet=TOKEN_ALPHABET, min_size=8))
def test_a_known_secret_never_survives_redaction(before: str, after: str, secret: str) -> None:
    text = f"{before}{secret}{after}{secret}"
    for form in (text, text.encode(), [text], {"k": text}):
        assert secret not in repr(redact(form, [secret]))


def _redacted_the_long_way(target: str) -> str:
    parts = urllib.parse.urlsplit(target)
    if not parts.query:
        return parts.path
    pairs = [
        (k, "REDACTED" if k in SECRET_PARAMS else v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    ]
    return f"{parts.path}?{urllib.parse.urlencode(pairs)}"


_QUERY_PARTS = st.sampled_from(
    [
        "alt",
        "json",
        "tok",
        "token",
        "access_token",
        "code",
        "a",
        "",
        "=",
        "&",
        "%61",
        "+",
        "/",
        " ",
        "~",
    ]
)


@given(st.lists(_QUERY_PARTS, max_size=8).map("".join))
def test_the_fake_logs_a_query_as_parsing_and_writing_it_again_would(query: str) -> None:
    # The attempt log keeps a plain query (``alt=json``) as sent instead of parsing and writing
    # it again: the same text either way, and any secret parameter still hidden.
    target = f"/v1/sessions/S1?{query}"
    logged = _redacted(Request("GET", target))
    assert logged == _redacted_the_long_way(target)
    for name in SECRET_PARAMS:
        assert f"{name}=tok" not in logged


def test_the_fake_hides_a_token_in_a_plain_query() -> None:
    assert _redacted(Request("GET", "/v1/x?alt=json&access_token=abc")) == (
        "/v1/x?alt=json&access_token=REDACTED"
    )
