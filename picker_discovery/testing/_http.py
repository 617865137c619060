"""HTTP messages of the fake service: a request, a response with its scripted faults, a body of
known length read in chunks, and the small JSON and HTML answers every route gives.
"""

from __future__ import annotations

import functools
import html
import json
import re
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from picker_discovery.testing import library
from picker_discovery.testing.backend import ApiError, Attempt, Fault

JSON_TYPE = "application/json; charset=UTF-8"
HTML_TYPE = "text/html; charset=UTF-8"
# Pages a person signs in or picks on refuse to be framed (clickjacking), as Google's do.
FRAME_DENY = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}
# Query parameters that carry a secret (a token, a code, a client secret): the attempt log,
# which tests print and CI keeps, shows them as REDACTED.
SECRET_PARAMS = frozenset(
    {
        "access_token",
        "oauth_token",
        "token",
        "code",
        "refresh_token",
        "client_secret",
        "code_verifier",
        "id_token",
    }
)


@dataclass(frozen=True)
class Payload:
    """A body of known ``length`` that can be read in chunks from any offset."""

    length: int
    read: Callable[[int, int], Iterator[bytes]]

    @classmethod
    def of(cls, data: bytes) -> Payload:
        def read(start: int, end: int) -> Iterator[bytes]:
            for at in range(start, end, library.CHUNK):  # a large body goes out in pieces
                yield data[at : min(end, at + library.CHUNK)]

        return cls(len(data), read)

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        yield from self.read(start, self.length if end is None else end)

    def to_bytes(self) -> bytes:
        return b"".join(self.chunks())


@dataclass
class Request:
    """One HTTP request to one origin (``"api"`` or ``"media"``)."""

    method: str
    target: str  # path and query, as sent
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    origin: str = "api"

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(
            urllib.parse.urlsplit(self.target).query, keep_blank_values=True
        )

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None


@dataclass
class Response:
    """An answer, plus what the transport must do wrong with it (a scripted fault)."""

    status: int
    headers: dict[str, str]
    payload: Payload
    drop: bool = False
    truncate: bool = False
    latency: float = 0.0
    stall: float = 0.0
    drop_after: int | None = None
    no_length: bool = False
    length_delta: int = 0
    gather: int | None = None
    # The request's record, for the server to note how many body bytes it sent.
    attempt: Attempt | None = None

    @property
    def body(self) -> bytes:
        return self.payload.to_bytes()


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    data = json.dumps(body, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    return Response(status, {"Content-Type": JSON_TYPE, **(headers or {})}, Payload.of(data))


def _html(status: int, text: str) -> Response:
    return Response(status, {"Content-Type": HTML_TYPE}, Payload.of(text.encode("utf-8")))


def _redirect(fault: Fault) -> Response:
    """A scripted redirect: ``redirect_status`` (302 unless given) to ``fault.redirect``."""
    assert fault.redirect is not None
    if fault.body is not None:
        response = _scripted_body(fault)
        response.status = fault.redirect_status or 302
        response.headers["Location"] = fault.redirect
        return response
    return Response(
        fault.redirect_status or 302,
        {"Location": fault.redirect, "Content-Type": HTML_TYPE},
        Payload.of(b"<!DOCTYPE html><title>Moved</title>"),
    )


def _scripted_body(fault: Fault) -> Response:
    """A scripted answer: ``fault.body`` with its status (200 unless given) and type."""
    assert fault.body is not None
    data = fault.body.encode("utf-8") if isinstance(fault.body, str) else fault.body
    content_type = fault.content_type or "application/octet-stream"
    return Response(fault.status or 200, {"Content-Type": content_type}, Payload.of(data))


def _api_error(error: ApiError) -> Response:
    response = _json(error.code, error.body(), error.headers)
    response.headers["Content-Type"] = error.content_type
    return response


def google_html_error(code: int, path: str) -> str:
    """Google's front-end HTML error page (curly quotes and all)."""
    title = {
        400: "Bad Request",
        404: "Not Found",
        405: "Method Not Allowed",
        413: "Request Entity Too Large",
        501: "Not Implemented",
    }.get(code, "Server Error")
    if code == 400:
        what = "Your client has issued a malformed or illegal request."
    elif code == 413:
        what = "Your client issued a request that was too large."
    elif code == 501:
        what = "The server cannot process the request because it uses an unsupported framing."
    elif code == 404:
        what = f"The requested URL <code>{html.escape(path)}</code> was not found on this server."
    elif code in (502, 503, 504):
        what = (
            "The server encountered a temporary error and could not complete your request."
            "<p>Please try again in 30 seconds."
        )
    else:
        what = "The server encountered an error and could not complete your request."
    return (
        f"<!DOCTYPE html>\n<html lang=en><meta charset=utf-8><title>Error {code} ({title})!!1"
        f"</title><p><b>{code}.</b> <ins>That\u2019s an error.</ins><p>{what}"
        "  <ins>That\u2019s all we know.</ins></html>"
    )


def parse_range(header: str | None, length: int) -> tuple[int, int] | str | None:
    """The ``(start, end)`` (end exclusive) of a single ``bytes=`` range.

    ``None`` means serve everything (no header, several ranges, or a unit we ignore);
    ``"unsatisfiable"`` means answer 416.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if not first:
            suffix = int(last)
            if suffix <= 0:
                return "unsatisfiable"
            return max(0, length - suffix), length
        start = int(first)
        end = int(last) + 1 if last else length
    except ValueError:
        return None
    if start >= length or end <= start:
        return "unsatisfiable"
    return start, min(end, length)


@functools.cache
def _plain_query() -> re.Pattern[str]:
    """Queries that ``urlencode(parse_qsl(query))`` writes back unchanged: ``name=value``
    pairs of unreserved characters."""
    return re.compile(r"[A-Za-z0-9._~-]+=[A-Za-z0-9._~-]*(?:&[A-Za-z0-9._~-]+=[A-Za-z0-9._~-]*)*")


def _redacted(request: Request) -> str:
    """The request's path and query with any token in the query hidden (the report is public)."""
    parts = urllib.parse.urlsplit(request.target)
    if not parts.query:
        return parts.path
    if _plain_query().fullmatch(parts.query) and not any(
        name in parts.query for name in SECRET_PARAMS
    ):  # as it would be written again (``alt=json``), with no secret: kept as sent
        return f"{parts.path}?{parts.query}"
    pairs = [
        (k, "REDACTED" if k in SECRET_PARAMS else v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    ]
    return f"{parts.path}?{urllib.parse.urlencode(pairs)}"
