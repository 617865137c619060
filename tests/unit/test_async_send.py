"""How AsyncPickerClient sends a googleapiclient request over httpx: the client's headers are
merged with the request's once and reused, yet every request goes out exactly as
``AsyncClient.build_request`` builds it (same method, URL, headers in the same order, body,
timeout), with the token the credentials hold at that moment, and a change to the client's
headers, cookies or query parameters is in the next request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import google.oauth2.credentials
import httpx
import pytest

from picker_discovery import AsyncPickerClient, FakeClock
from picker_discovery._aio._poll import GetTemplate

pytestmark = pytest.mark.anyio

SESSION = {"id": "s1", "pollingConfig": {"pollInterval": "5s", "timeoutIn": "60s"}}


class Credentials(google.oauth2.credentials.Credentials):
    """Credentials whose refresh hands out numbered tokens, without a network."""

    def __init__(self, token: str) -> None:
        super().__init__(token=token)  # type: ignore[no-untyped-call]
        self.refreshes = 0

    def expire(self) -> None:
        self.expiry = (datetime.now(timezone.utc) - timedelta(minutes=1)).replace(tzinfo=None)

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        self.token = f"token-{self.refreshes}"
        self.expiry = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(tzinfo=None)


def recording(seen: list[httpx.Request], cookie: str | None = None) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        headers = {"set-cookie": f"{cookie}; Path=/"} if cookie else {}
        return httpx.Response(200, json=SESSION, headers=headers)

    return httpx.MockTransport(answer)


HTTP_CLIENTS: dict[str, Callable[[list[httpx.Request]], httpx.AsyncClient]] = {
    "plain": lambda seen: httpx.AsyncClient(transport=recording(seen)),
    "headers of its own": lambda seen: httpx.AsyncClient(
        transport=recording(seen),
        headers={"User-Agent": "app/1.0", "X-Tenant": "a", "Accept": "text/plain"},
        timeout=7.0,
    ),
    "query parameters": lambda seen: httpx.AsyncClient(
        transport=recording(seen), params={"quotaUser": "u1"}
    ),
    "cookies set by the answers": lambda seen: httpx.AsyncClient(
        transport=recording(seen, cookie="visit=2")
    ),
}


def googleapiclients_requests(client: AsyncPickerClient) -> list[Any]:
    """A request of every kind the client sends, as googleapiclient builds them (and the
    waiter's template of sessions.get)."""
    sessions, items = client.service.sessions(), client.service.mediaItems()
    return [
        sessions.create(body={"pickingConfig": {"maxItemCount": "5"}}),
        sessions.get(sessionId="s1"),
        GetTemplate(sessions).request("s1"),
        sessions.delete(sessionId="s1"),
        items.list(sessionId="s1", pageSize=10),
    ]


def as_built(http: httpx.AsyncClient, request: Any, credentials: Credentials) -> httpx.Request:
    """``request`` as it was sent before merged headers were reused: its headers but
    ``content-length``, with what the credentials add, merged by httpx itself."""
    headers = {k: v for k, v in dict(request.headers).items() if k != "content-length"}
    credentials.before_request(None, request.method, request.uri, headers)  # type: ignore[no-untyped-call]
    return http.build_request(request.method, request.uri, content=request.body, headers=headers)


def same(sent: httpx.Request, built: httpx.Request) -> None:
    assert (sent.method, sent.url, sent.content) == (built.method, built.url, built.content)
    assert sent.headers.raw == built.headers.raw  # names, values and order
    assert sent.extensions == built.extensions


@pytest.mark.parametrize("make_http", list(HTTP_CLIENTS.values()), ids=list(HTTP_CLIENTS))
async def test_each_request_is_the_one_httpx_would_build(
    make_http: Callable[[list[httpx.Request]], httpx.AsyncClient],
) -> None:
    seen: list[httpx.Request] = []
    credentials = Credentials("t0")
    async with make_http(seen) as http:
        client = AsyncPickerClient(credentials=credentials, http_client=http, journal=False)
        requests = googleapiclients_requests(client)
        for request in requests * 2:  # the second time from the merged headers kept
            built = as_built(http, request, credentials)  # with the cookies of the moment
            await client._sender.send(request)
            same(seen[-1], built)
            assert seen[-1].headers.get_list("authorization") == ["Bearer t0"]
            for name, value in dict(request.headers).items():  # googleapiclient's own
                if name not in ("content-length", "x-goog-api-client", *http.headers):
                    assert seen[-1].headers[name] == value
    assert len(seen) == 2 * len(requests) and credentials.refreshes == 0


async def test_reused_headers_carry_the_token_of_the_moment() -> None:
    seen: list[httpx.Request] = []
    credentials = Credentials("t0")
    async with AsyncPickerClient(
        credentials=credentials, transport=recording(seen), clock=FakeClock(), journal=False
    ) as client:
        request = GetTemplate(client.service.sessions()).request("s1")
        await client._sender.send(request)
        credentials.expire()
        await client._sender.send(request)
        await client._sender.send(request)
        credentials.expire()
        await client.get_session("s1")
    tokens = [r.headers.get_list("authorization") for r in seen]
    assert tokens == [["Bearer t0"], ["Bearer token-1"], ["Bearer token-1"], ["Bearer token-2"]]


async def test_a_change_to_the_clients_headers_goes_out_with_the_next_request() -> None:
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=recording(seen), headers={"X-Tenant": "a"}) as http:
        client = AsyncPickerClient(credentials=Credentials("t0"), http_client=http, journal=False)
        request = GetTemplate(client.service.sessions()).request("s1")
        await client._sender.send(request)
        http.headers["X-Tenant"] = "b"  # changed in place
        await client._sender.send(request)
        http.headers = httpx.Headers({"X-Other": "c"})  # replaced
        await client._sender.send(request)
        del http.headers["X-Other"]
        await client._sender.send(request)
        for sent in seen:
            assert "authorization" in sent.headers
    assert [r.headers.get("x-tenant") for r in seen] == ["a", "b", None, None]
    assert [r.headers.get("x-other") for r in seen] == [None, None, "c", None]
    assert [r.headers["user-agent"] for r in seen] == [seen[0].headers["user-agent"]] * 4
