"""An ``httplib2.Http`` look-alike that answers from the fake backend, with no sockets.

::

    from picker_discovery.testing import Backend, FakeHttp
    backend = Backend()
    http = FakeHttp(backend, token="alice")
    service = picker_discovery.build(http=http)
    session = service.sessions().create(body={}).execute()
    backend.pick(session["id"])

With ``http=...`` googleapiclient sends no ``Authorization`` header, so :class:`FakeHttp` adds
``Bearer <token>`` to requests that have none (``token=None`` sends none: the fake then answers
401 like Google). Requests to the media root (``backend.config.media_root``) are served as
baseUrl fetches; every other URL is the API origin. Each request is recorded in
:attr:`FakeHttp.requests`.

Scripted faults behave as over a socket would look to httplib2's caller: ``drop`` raises
``http.client.RemoteDisconnected``, ``truncate`` raises ``http.client.IncompleteRead``, and
``latency`` and ``stall`` advance the fake clock instead of sleeping; ``drop_after`` and a
positive ``length_delta`` raise ``IncompleteRead``, a negative one cuts the body short.
"""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httplib2

from picker_discovery.testing.app import App, Request
from picker_discovery.testing.backend import Backend

__all__ = ["DEFAULT_TOKEN", "FakeHttp", "RecordedRequest"]

DEFAULT_TOKEN = "fake-token"


@dataclass(frozen=True)
class RecordedRequest:
    """A request :class:`FakeHttp` answered (headers as sent, names lower-cased)."""

    method: str
    uri: str
    headers: Mapping[str, str]
    body: bytes
    status: int | None

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.uri).path


class FakeHttp:
    """Routes ``request()`` calls to a :class:`Backend`; a drop-in for ``httplib2.Http``."""

    def __init__(
        self, backend: Backend | None = None, *, token: str | None = DEFAULT_TOKEN
    ) -> None:
        self.backend = backend if backend is not None else Backend()
        self.app = App(self.backend)
        self.token = token
        self.requests: list[RecordedRequest] = []
        self.closed = False
        self.timeout: float | None = None
        self._lock = threading.Lock()

    def with_token(self, token: str | None) -> FakeHttp:
        """Another transport to the same backend, acting as ``token``'s user."""
        return FakeHttp(self.backend, token=token)

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        redirections: int = httplib2.DEFAULT_MAX_REDIRECTS,
        connection_type: Any = None,
    ) -> tuple[httplib2.Response, bytes]:
        """Answer like ``httplib2.Http.request``: ``(response, content)``."""
        del redirections, connection_type
        sent = {k.lower(): v for k, v in (headers or {}).items()}
        if self.token is not None and "authorization" not in sent:
            sent["authorization"] = f"Bearer {self.token}"
        data = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        parts = urllib.parse.urlsplit(uri)
        media = urllib.parse.urlsplit(self.backend.config.media_root)
        origin = "media" if (parts.scheme, parts.netloc) == (media.scheme, media.netloc) else "api"
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        answer = self.app.handle(Request(method.upper(), target or "/", sent, data, origin))
        recorded = RecordedRequest(method.upper(), uri, sent, data, answer.status)
        with self._lock:
            self.requests.append(recorded)
        if answer.latency or answer.stall:
            self.backend.advance(answer.latency + answer.stall)

        def note_sent(count: int) -> None:
            if answer.attempt is not None:
                self.backend.note_sent(answer.attempt, count)

        if answer.drop:
            note_sent(0)
            raise http.client.RemoteDisconnected("Remote end closed connection without response")
        content = answer.body if method.upper() != "HEAD" else b""
        if answer.truncate:
            half = content[: len(content) // 2]
            note_sent(len(half))
            raise http.client.IncompleteRead(half, len(content) - len(half))
        if answer.drop_after is not None and answer.drop_after < len(content):
            part = content[: answer.drop_after]
            note_sent(len(part))
            raise http.client.IncompleteRead(part, len(content) - len(part))
        note_sent(len(content))
        if answer.length_delta > 0:
            raise http.client.IncompleteRead(content, answer.length_delta)
        if answer.length_delta < 0:  # http.client reads only the announced bytes
            content = content[: max(0, len(content) + answer.length_delta)]
        info: dict[str, str] = {"status": str(answer.status)}
        info.update({k.lower(): v for k, v in answer.headers.items()})
        if not answer.no_length:
            info["content-length"] = str(
                answer.payload.length if method.upper() == "HEAD" else len(content)
            )
        response = httplib2.Response(info)
        response.reason = http.client.responses.get(answer.status, "")
        return response, content

    def close(self) -> None:
        self.closed = True

    def paths(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request so far, for short assertions."""
        with self._lock:
            return [(r.method, r.path) for r in self.requests]
