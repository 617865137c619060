"""Small httplib2.Http-like fakes for the client's tests (the full fake backend lives elsewhere)."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import httplib2

from picker_discovery.testing import canned
from picker_discovery.testing.canned import CannedResponse

Step = CannedResponse | BaseException | str


class ScriptedHttp:
    """Answers requests in order from a script of canned answers (or names) and exceptions.

    Thread-safe. ``requests`` records ``(method, path, query, body)`` of every request.
    """

    def __init__(self, *steps: Step) -> None:
        self._steps = list(steps)
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str, dict[str, list[str]], Any]] = []

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> tuple[httplib2.Response, bytes]:
        parts = urllib.parse.urlsplit(uri)
        with self._lock:
            self.requests.append(
                (method, parts.path, urllib.parse.parse_qs(parts.query), _json(body))
            )
            if not self._steps:
                raise AssertionError(f"{method} {uri}: the script has no answer left")
            step = self._steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        answer = canned.response(step) if isinstance(step, str) else step
        headers_out, content = answer.to_mock_pair()
        return httplib2.Response(headers_out), content

    @property
    def remaining(self) -> int:
        return len(self._steps)

    def close(self) -> None:
        pass


class RoutingHttp:
    """Answers by method and path, like a tiny server: for many threads and many requests.

    Raises if two threads are inside ``request`` at once (httplib2 objects are not
    thread-safe, so the client must never share one without a lock). ``threads`` holds the
    idents of every thread that used this object.
    """

    def __init__(self, route: Callable[[str, str, dict[str, list[str]]], CannedResponse]) -> None:
        self._route = route
        self._busy = threading.Lock()
        self.threads: set[int] = set()
        self.count = 0

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> tuple[httplib2.Response, bytes]:
        if not self._busy.acquire(blocking=False):
            raise AssertionError("two threads used one httplib2.Http-like object at once")
        try:
            self.threads.add(threading.get_ident())
            self.count += 1
            time.sleep(0.0005)  # widen the window in which concurrent use would be caught
            parts = urllib.parse.urlsplit(uri)
            answer = self._route(method, parts.path, urllib.parse.parse_qs(parts.query))
            headers_out, content = answer.to_mock_pair()
            return httplib2.Response(headers_out), content
        finally:
            self._busy.release()

    def close(self) -> None:
        pass


def _json(body: str | bytes | None) -> Any:
    if body is None:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body


def session_body(
    *,
    picked: bool = False,
    poll_interval: str | None = "5s",
    timeout_in: str | None = "1800s",
    expire_time: str | None = None,
) -> dict[str, Any]:
    """A PickingSession body; the polling config is left out when picked or both are None.

    It expires 7 days from now unless ``expire_time`` says otherwise (see :func:`stamp`).
    """
    body: dict[str, Any] = canned.body("sessions.create")
    body["mediaItemsSet"] = picked
    if expire_time is not None:
        body["expireTime"] = expire_time
    polling: dict[str, str] = {}
    if poll_interval is not None:
        polling["pollInterval"] = poll_interval
    if timeout_in is not None:
        polling["timeoutIn"] = timeout_in
    if picked or not polling:
        body.pop("pollingConfig", None)
    else:
        body["pollingConfig"] = polling
    return body


def stamp(when: datetime) -> str:
    """``when`` as an RFC 3339 timestamp, as the API writes ``expireTime``."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def session(**kwargs: Any) -> CannedResponse:
    return CannedResponse(200, session_body(**kwargs))


def item_body(index: int) -> dict[str, Any]:
    photo: dict[str, Any] = canned.body("mediaItems.list")["mediaItems"][0]
    photo["id"] = f"item-{index:04d}"
    photo["mediaFile"]["filename"] = f"IMG_{index:04d}.jpg"
    return photo


def page(first: int, count: int, token: str | None) -> CannedResponse:
    body: dict[str, Any] = {"mediaItems": [item_body(i) for i in range(first, first + count)]}
    if not count:
        del body["mediaItems"]
    if token is not None:
        body["nextPageToken"] = token
    return CannedResponse(200, body)
