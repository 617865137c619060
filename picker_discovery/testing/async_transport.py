"""An httpx transport that answers from the fake backend, with no sockets (needs httpx).

::

    from picker_discovery import AsyncPickerClient
    from picker_discovery.testing import Backend, FakeAsyncTransport
    backend = Backend()
    async with AsyncPickerClient(transport=FakeAsyncTransport(backend)) as client:
        session = await client.create_session()
        backend.pick(session.id)

It is :class:`~picker_discovery.testing.FakeHttp` behind httpx's ``AsyncBaseTransport``: the
same backend, rules, faults and token (``Bearer fake-token`` added to a request that has no
``Authorization``), and the same record of requests (:attr:`requests`, :meth:`paths`). A
scripted ``drop`` or ``truncate`` raises what httpx raises for a connection that broke
(``httpx.RemoteProtocolError``, ``httpx.ReadError``); ``latency`` and ``stall`` advance the
backend's fake clock instead of sleeping.
"""

from __future__ import annotations

import http.client

import httpx

from picker_discovery.testing.backend import Backend
from picker_discovery.testing.transport import DEFAULT_TOKEN, FakeHttp, RecordedRequest

__all__ = ["FakeAsyncTransport"]


class FakeAsyncTransport(httpx.AsyncBaseTransport):
    """Routes httpx requests to a :class:`Backend` through a :class:`FakeHttp`."""

    def __init__(
        self, backend: Backend | None = None, *, token: str | None = DEFAULT_TOKEN
    ) -> None:
        self.http = FakeHttp(backend, token=token)
        self.backend = self.http.backend

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered so far."""
        return self.http.requests

    def paths(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request so far, for short assertions."""
        return self.http.paths()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        headers = {key: value for key, value in request.headers.items()}
        try:
            resp, content = self.http.request(
                str(request.url), request.method, body=body, headers=headers
            )
        except http.client.RemoteDisconnected as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except http.client.IncompleteRead as exc:
            raise httpx.ReadError(f"the answer was cut short: {exc!r}", request=request) from exc
        status = int(resp.status)
        out = [(key, value) for key, value in resp.items() if key != "status"]
        return httpx.Response(status, headers=out, content=content, request=request)
