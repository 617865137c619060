"""How the asyncio client sends one request: httpx, with google-auth's credentials.

The request itself is built by googleapiclient from the discovery document (an
``HttpRequest``: method, URI, headers, body); only sending is asynchronous. The answer comes
back in httplib2's shape, so googleapiclient's model reads it and
:func:`picker_discovery.errors.from_http_error` types its errors exactly as for
:class:`~picker_discovery.PickerClient`.

Credentials: google-auth's credentials refresh synchronously (over ``requests``), so a refresh
runs in a worker thread, one at a time per client (an ``asyncio.Lock``), and only when the
token is missing, expired or about to expire; a 401 answer refreshes once and resends, as
google-auth's ``AuthorizedSession`` does. The token is only ever attached to URLs under the
service's base URL, which :func:`picker_discovery.build` checked against the allowlist.

Failures are raised as the built-in exceptions the :class:`~picker_discovery.RetryPolicy` reads:
``ConnectionRefusedError`` when nothing was sent (connecting failed or timed out),
``TimeoutError``, ``ConnectionError``. httpx never resends a request by itself, so
``sessions.create`` is sent once.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httplib2
import httpx

from picker_discovery.errors import PickerError

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

__all__ = ["DEFAULT_TIMEOUT", "Sender"]

logger = logging.getLogger("picker_discovery._client")

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
"""Seconds for each request: 10 to connect, 60 for each read, write or pool wait (as the
synchronous client's send-once transport)."""

_REFRESH_STATUSES = frozenset({401})
_HEADER_SETS_KEPT = 16
"""Merged header sets a sender keeps (one per kind of request, in practice a handful)."""


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class _Requests:
    """httpx requests for URLs on the service, as ``AsyncClient.build_request`` makes them.

    ``build_request`` merges the client's headers with the request's on every request, one
    header at a time (each encoded, looked up, removed and appended again): for a poll, more
    work than anything httpx does for it but parsing its URL. Here each set of headers a
    request is sent with (googleapiclient's and what the credentials added: the token
    changes when it is refreshed) is merged with the client's once, and the merged set is
    reused while the client's headers stay as they were (compared on every request: they
    may be changed at any time). Cookies and query parameters set on the client are left to
    ``build_request``, which merges them per request (cookies change with the answers).
    """

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._client_headers = http.headers.raw
        self._merged: dict[tuple[tuple[str, str], ...], httpx.Headers] = {}

    def merged(self, own: Mapping[str, str]) -> httpx.Headers:
        """The client's headers updated with ``own`` but ``content-length`` (httpx sets it
        from the body it sends), as ``build_request`` merges them. Shared: never changed."""
        client_headers = self._http.headers.raw
        if client_headers != self._client_headers:
            self._client_headers = client_headers
            self._merged.clear()
        key = tuple(own.items())
        merged = self._merged.get(key)
        if merged is None:
            if len(self._merged) >= _HEADER_SETS_KEPT:
                self._merged.clear()
            merged = httpx.Headers(self._http.headers)
            merged.update({name: value for name, value in own.items() if name != "content-length"})
            self._merged[key] = merged
        return merged

    def request(self, method: str, uri: str, body: Any, headers: httpx.Headers) -> httpx.Request:
        """``http.build_request(method, uri, content=body, headers=headers)`` for ``headers``
        already merged with the client's (:meth:`merged`)."""
        http = self._http
        if http.cookies or http.params:
            return http.build_request(method, uri, content=body, headers=headers)
        timeout = http.timeout.as_dict()
        return httpx.Request(
            method, uri, content=body, headers=headers, extensions={"timeout": timeout}
        )


class Sender:
    """Sends googleapiclient ``HttpRequest`` objects over an ``httpx.AsyncClient``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        credentials: Credentials | None,
        base_url: str,
        owns_http: bool,
    ) -> None:
        self.http = http
        self.credentials = credentials
        self._origin = _origin(base_url)
        scheme, netloc = self._origin
        self._prefix = f"{scheme}://{netloc}/" if scheme and netloc else None
        self._base_url = base_url
        self._owns_http = owns_http
        self._refresh_lock = asyncio.Lock()
        self._auth_request: Any = None
        self._requests = _Requests(http)

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def send(self, request: Any) -> tuple[httplib2.Response, bytes]:
        """Send ``request`` once (once more after a 401 that a token refresh may cure)."""
        uri = str(request.uri)
        if not self._on_service(uri):
            raise PickerError(
                f"{request.methodId}: refusing to send a request to {uri!r}, off the service's "
                f"base URL {self._base_url!r}; nothing was sent"
            )
        method, body, headers = request.method, request.body, request.headers
        response = await self._send_authorized(method, uri, body, headers)
        if response.status_code in _REFRESH_STATUSES and self.credentials is not None:
            logger.info("%s answered HTTP 401; refreshing the token and sending again", uri)
            await self._refresh(force=True)
            response = await self._send_authorized(method, uri, body, headers)
        info = {key.lower(): value for key, value in response.headers.items()}
        info["status"] = str(response.status_code)
        resp = httplib2.Response(info)
        resp.reason = response.reason_phrase
        return resp, response.content

    def _on_service(self, uri: str) -> bool:
        """Whether ``uri`` is on the service's origin (scheme and host:port of its base URL).
        A URL that starts with the origin and a ``/`` is on it (its host ends at the first
        ``/``); any other is compared part by part."""
        prefix = self._prefix
        if prefix is not None and uri.startswith(prefix):
            return True
        return _origin(uri) == self._origin

    async def _send_authorized(
        self, method: str, uri: str, body: Any, headers: Mapping[str, str]
    ) -> httpx.Response:
        """Send with the headers the credentials add now (refreshed first when not valid)."""
        if self.credentials is not None:
            await self._refresh()
            headers = dict(headers)
            self.credentials.before_request(self._request(), method, uri, headers)
        request = self._requests.request(method, uri, body, self._requests.merged(headers))
        try:
            return await self.http.send(request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ConnectionRefusedError(f"could not connect to {uri}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise TimeoutError(f"no answer from {uri} in time: {exc}") from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise ConnectionError(f"the connection to {uri} failed: {exc}") from exc

    async def authorize(self, method: str, url: str, headers: dict[str, str]) -> None:
        """Add the token to ``headers`` for a request to ``url`` (refreshed first when it is
        not valid). The caller has checked ``url`` against the
        media host allowlist: this attaches the token wherever it is told."""
        if self.credentials is not None:
            await self._refresh()
            self.credentials.before_request(self._request(), method, url, headers)

    async def refresh_after_401(self) -> bool:
        """Refresh the token after a 401 answer; False when there are no credentials."""
        if self.credentials is None:
            return False
        await self._refresh(force=True)
        return True

    def _request(self) -> Any:
        """google-auth's ``requests`` transport, for refreshing (made on first use)."""
        if self._auth_request is None:
            import google.auth.transport.requests

            self._auth_request = google.auth.transport.requests.Request()
        return self._auth_request

    async def _refresh(self, *, force: bool = False) -> None:
        """Refresh the token in a worker thread when it is not valid (or ``force``): one
        refresh at a time; tasks that waited for it use its token."""
        credentials = self.credentials
        if credentials is None or (credentials.valid and not force):
            return
        token = credentials.token
        async with self._refresh_lock:
            if credentials.valid and not (force and credentials.token == token):
                return  # another task refreshed it meanwhile
            await asyncio.to_thread(credentials.refresh, self._request())
