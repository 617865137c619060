"""Keeping tokens out of exceptions (a leaf: no other project import).

The library never puts a token into a message itself, but a server (or a proxy, or an OAuth
token endpoint) may repeat one back in an error body, and libraries underneath copy bodies
into their exceptions (``HttpError.content``, google-auth's ``RefreshError``) and, at DEBUG,
into their log records (google-auth and requests-oauthlib log token requests and answers).

- :func:`scrub` replaces every secret the credentials hold, and anything shaped like a Google
  token, with ``[redacted]`` in an exception and every exception chained to it, before the
  exception leaves the library.
- :func:`install_log_filter` puts a filter doing the same on the loggers of the libraries
  that log token traffic, so their records are clean before any handler sees them.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import urllib.parse
from collections.abc import Iterable, MutableMapping
from typing import Any

__all__ = ["REDACTED", "credential_secrets", "install_log_filter", "redact", "scrub"]

REDACTED = "[redacted]"
_SHORTEST = 8  # shorter values are no secrets worth the name, and would redact common words
_SECRET_ATTRIBUTES = ("token", "refresh_token", "client_secret", "id_token", "_refresh_token")


# Google's secrets have recognisable shapes: access tokens (ya29.), refresh tokens (1//, also
# URL-encoded), authorization codes (4/0), OAuth client secrets (GOCSPX-). They are long, so
# short look-alikes are left alone. A token in a JSON string may carry escaped slashes (1\/\/).
# Compiled on first use: it costs more than every other pattern a client's start-up compiles,
# and only an error or a log record needs it.
@functools.cache
def _token_shapes() -> re.Pattern[str]:
    return re.compile(
        r"\b(?:ya29\.[\w.~+/-]{16,}=*"
        r"|1(?://|%2F%2F|\\/\\/)[\w.~+/%-]{16,}"
        r"|4(?:/|%2F|\\/)0[\w.~+/%-]{16,}"
        r"|GOCSPX-[\w-]{8,})",
        re.IGNORECASE,
    )


def credential_secrets(credentials: Any) -> frozenset[str]:
    """The secrets ``credentials`` hold now: access, refresh and id tokens, client secret."""
    found = set()
    for name in _SECRET_ATTRIBUTES:
        try:
            value = getattr(credentials, name, None)
        except Exception:  # a property that fails is no secret to hide
            continue
        if isinstance(value, str) and len(value) >= _SHORTEST:
            found.add(value)
    return frozenset(found)


def _variants(secrets: Iterable[str]) -> list[str]:
    """The secrets and their URL-encoded forms, longest first (so none is half replaced)."""
    found = set()
    for secret in secrets:
        if isinstance(secret, str) and len(secret) >= _SHORTEST:
            found |= {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    return sorted(found, key=len, reverse=True)


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """``value`` with every secret (and anything shaped like a Google token) replaced by
    ``[redacted]``: text, bytes, and the lists, tuples and mappings holding them. Plain dicts
    are copied, other mappings (an ``httplib2.Response``) changed in place; any other value is
    returned as it is."""
    return _redact(value, _variants(secrets), 0)


def _redact(value: Any, secrets: list[str], depth: int) -> Any:
    if depth > 20:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        shapes = _token_shapes()
        return shapes.sub(REDACTED, value) if shapes.search(value) else value
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).decode("utf-8", "surrogateescape")
        cleaned = _redact(text, secrets, depth)
        return cleaned.encode("utf-8", "surrogateescape") if cleaned is not text else value
    if isinstance(value, list):
        return [_redact(item, secrets, depth + 1) for item in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_redact(item, secrets, depth + 1) for item in value)
    if type(value) is dict:
        return {
            _redact(k, secrets, depth + 1): _redact(v, secrets, depth + 1) for k, v in value.items()
        }
    if isinstance(value, MutableMapping):
        for key in list(value):
            cleaned = _redact(value[key], secrets, depth + 1)
            if cleaned is not value[key]:
                value[key] = cleaned
    return value


def scrub(exc: BaseException, secrets: Iterable[str]) -> BaseException:
    """Remove ``secrets`` from ``exc`` and every exception chained to it, in place.

    The arguments (what ``str`` shows) and the attributes (an ``HttpError``'s ``content``,
    ``uri``, ``reason``, ``resp``; a ``RefreshError``'s response data) are redacted; the type
    and the traceback stay. Anything shaped like a Google token goes too, whether or not it is
    among ``secrets``. Returns ``exc``, to re-raise.
    """
    ordered = _variants(secrets)
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        with contextlib.suppress(AttributeError, TypeError):  # exotic exception types
            current.args = _redact(current.args, ordered, 0)
        state = getattr(current, "__dict__", None)
        if isinstance(state, dict):
            for name, value in list(state.items()):
                cleaned = _redact(value, ordered, 0)
                if cleaned is not value:
                    try:
                        setattr(current, name, cleaned)
                    except (AttributeError, TypeError):  # pragma: no cover - read-only
                        state[name] = cleaned
        pending += [current.__cause__, current.__context__]
    return exc


class RedactingFilter(logging.Filter):
    """Rewrites a record so that no Google token shows in its message, arguments or extras."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record: logging reports it when formatting
            return True
        cleaned = redact(message)
        if cleaned is not message:
            record.msg, record.args = cleaned, ()
        for name, value in list(vars(record).items()):
            if name in ("msg", "args", "exc_info", "exc_text"):
                continue
            if isinstance(value, (str, bytes, dict, list, tuple)):
                fixed = redact(value)
                if fixed is not value and fixed != value:
                    setattr(record, name, fixed)
        if record.exc_info and record.exc_info[1] is not None:
            scrub(record.exc_info[1], ())
            record.exc_text = None
        return True


# The loggers of the libraries underneath that log requests, answers or token exchanges. A
# logger's filters see only its own records, so each is named.
_TOKEN_LOGGERS = (
    "google.auth.transport.requests",
    "google.auth.transport._http_client",
    "google.auth.transport.urllib3",
    "google.auth.transport._aiohttp_requests",
    "google.auth.aio.transport.aiohttp",
    "google.oauth2._client",
    "google.oauth2.credentials",
    "google_auth_httplib2",
    "google_auth_oauthlib.flow",
    "requests_oauthlib.oauth2_session",
    "oauthlib.oauth2.rfc6749.clients.base",
    "oauthlib.oauth2.rfc6749.parameters",
    "googleapiclient.http",
    "googleapiclient.model",
    "googleapiclient.discovery",
    "urllib3.connectionpool",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
)
_FILTER = RedactingFilter()


def install_log_filter() -> None:
    """Put the redacting filter on every logger that may carry token traffic (idempotent)."""
    for name in _TOKEN_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
