"""One PickerClient shared by 16 threads: per-thread transports, or one transport behind a lock."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import google_auth_httplib2
import pytest
from google.auth.credentials import AnonymousCredentials

from picker_discovery._client import PickerClient
from picker_discovery._clock import FakeClock
from picker_discovery.testing.canned import CannedResponse
from tests.fakes import RoutingHttp, page, session_body

THREADS = 16


def route(method: str, path: str, query: dict[str, list[str]]) -> CannedResponse:
    """A tiny stateless Picker server: every session is picked at once, with 3 items."""
    if method == "POST" and path == "/v1/sessions":
        body = session_body()
        body["id"] = str(uuid.uuid4())
        return CannedResponse(200, body)
    if method == "GET" and path.startswith("/v1/sessions/"):
        body = session_body(picked=True)
        body["id"] = path.rsplit("/", 1)[1]
        return CannedResponse(200, body)
    if method == "GET" and path == "/v1/mediaItems":
        if "pageToken" in query:
            return page(2, 1, None)
        return page(0, 2, "next")
    if method == "DELETE":
        return CannedResponse(200, {})
    return CannedResponse(404, "no route", "text/plain")


def flow(client: PickerClient, barrier: threading.Barrier) -> list[str]:
    barrier.wait()
    with client.picking_session(max_item_count=3) as created:
        client.wait_for_selection(created, timeout=60)
        return [item.id or "" for item in client.iter_media_items(created)]


def run_threads(client: PickerClient) -> list[list[str]]:
    barrier = threading.Barrier(THREADS)
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(flow, client, barrier) for _ in range(THREADS)]
        return [future.result(timeout=30) for future in futures]


def test_sixteen_threads_each_get_their_own_transport() -> None:
    made: list[RoutingHttp] = []
    lock = threading.Lock()

    def factory() -> RoutingHttp:
        http = RoutingHttp(route)
        with lock:
            made.append(http)
        return http

    clock = FakeClock()
    client = PickerClient(http=RoutingHttp(route), http_factory=factory, clock=clock)
    results = run_threads(client)
    assert results == [["item-0000", "item-0001", "item-0002"]] * THREADS
    assert len(made) == THREADS
    assert all(len(http.threads) == 1 for http in made)
    assert len({ident for http in made for ident in http.threads}) == THREADS
    assert sum(http.count for http in made) == THREADS * 5  # create, get, 2 pages, delete
    assert clock.sleeps == [5.0] * THREADS


def test_sixteen_threads_share_one_given_transport_safely() -> None:
    shared = RoutingHttp(route)  # raises if two threads are ever inside it at once
    client = PickerClient(http=shared, clock=FakeClock())
    results = run_threads(client)
    assert results == [["item-0000", "item-0001", "item-0002"]] * THREADS
    assert shared.count == THREADS * 5
    assert len(shared.threads) == THREADS


class RecordingRequest:
    """Stands in for an HttpRequest: records the transport each execute() was given."""

    methodId = "photospicker.sessions.get"
    http: Any = None  # the service's own transport

    def __init__(self) -> None:
        self.transports: list[Any] = []

    def execute(self, http: Any = None, num_retries: int = 0) -> dict[str, Any]:
        # The client hands over its transport wrapped, to keep answers it cannot read.
        self.transports.append(getattr(http, "transport", http))
        return {}


def on_threads(count: int, target: Callable[[], None]) -> None:
    workers = [threading.Thread(target=target) for _ in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=10)


def test_a_client_built_from_credentials_gives_each_thread_an_authorized_http() -> None:
    client = PickerClient(credentials=AnonymousCredentials())
    request = RecordingRequest()

    def twice() -> None:
        client._send(request)
        client._send(request)

    on_threads(4, twice)
    transports = request.transports
    assert len(transports) == 8
    assert all(isinstance(t, google_auth_httplib2.AuthorizedHttp) for t in transports)
    assert len({id(t) for t in transports}) == 4  # one per thread, reused within it
    assert len({id(t.http) for t in transports}) == 4


def test_a_client_given_a_service_shares_its_transport_behind_a_lock() -> None:
    import picker_discovery

    service = picker_discovery.build(http=RoutingHttp(route))
    client = PickerClient(service)
    request = RecordingRequest()
    on_threads(4, lambda: client._send(request))
    assert request.transports == [None] * 4  # execute() falls back to the service's own http


def test_service_and_build_arguments_are_exclusive() -> None:
    import picker_discovery

    service = picker_discovery.build(http=RoutingHttp(route))
    with pytest.raises(ValueError, match="not both"):
        PickerClient(service, http=RoutingHttp(route))
