"""``sessions.create`` requests copied from one googleapiclient built: on the wire they are the
requests googleapiclient builds for the same call, every time."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
from googleapiclient.http import HttpMockSequence, HttpRequest

import picker_discovery
from picker_discovery import AsyncPickerClient, PickerClient, errors
from picker_discovery.testing import Backend, FakeAsyncTransport, canned


def _answers(count: int) -> list[tuple[dict[str, str], bytes]]:
    return [canned.response("sessions.create").to_mock_pair() for _ in range(count)]


def _sent(http: HttpMockSequence) -> list[tuple[str, str, Any, dict[str, str]]]:
    """What a sequence was asked, one (uri, method, JSON body, headers) per request."""
    return [
        (uri, method, json.loads(body), dict(headers))
        for uri, method, body, headers in http.request_sequence
    ]


CALLS: list[dict[str, Any]] = [
    {},
    {},
    {"max_item_count": 10},
    {"max_item_count": 10},
    {},
    {"request_id": uuid.UUID("2ea3dc54-f352-4d9d-a667-1b497bdf4e52")},
    {"request_id": "3fa3dc54-f352-4d9d-a667-1b497bdf4e52"},
    {"max_item_count": 1, "request_id": "4fa3dc54-f352-4d9d-a667-1b497bdf4e52"},
    {},
]


def _plain_params(call: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if "max_item_count" in call:
        body["pickingConfig"] = {"maxItemCount": str(call["max_item_count"])}
    params: dict[str, Any] = {"body": body}
    if "request_id" in call:
        params["requestId"] = str(call["request_id"])
    return params


def test_each_create_sends_what_googleapiclient_builds_for_the_same_call() -> None:
    ours, theirs = HttpMockSequence(_answers(len(CALLS))), HttpMockSequence(_answers(len(CALLS)))
    client = PickerClient(http=ours, journal=False)
    plain = picker_discovery.build(http=theirs)
    for call in CALLS:
        client.create_session(**call)
        plain.sessions().create(**_plain_params(call)).execute()
    assert _sent(ours) == _sent(theirs)
    bodies = [body for _, _, body, _ in _sent(ours)]
    assert bodies[2] == {"pickingConfig": {"maxItemCount": "10"}}
    assert bodies[4] == {}, "a create without a count after one with a count sends no count"
    assert "requestId=3fa3dc54" in _sent(ours)[6][0]
    assert "requestId" not in _sent(ours)[8][0], "a request id is never kept for the next"


def test_what_sending_adds_to_a_request_is_not_carried_into_the_next() -> None:
    client = PickerClient(http=HttpMockSequence(_answers(2)), journal=False)
    first = client._creates.request(None, None)
    first.headers["x-added-by-the-sender"] = "1"
    first.add_response_callback(lambda resp: None)
    first.uri += "&changed=1"
    second = client._creates.request(None, None)
    assert "x-added-by-the-sender" not in second.headers
    assert second.response_callbacks == []
    assert "changed" not in second.uri
    assert second is not first and second.headers is not first.headers


def test_a_bad_argument_still_fails_before_anything_is_sent() -> None:
    http = HttpMockSequence(_answers(1))
    client = PickerClient(http=http, journal=False)
    client.create_session(max_item_count=5)
    bad: Any
    for bad in (0, 2001, True, 5.0, "5"):
        with pytest.raises((errors.BadArgument, errors.BadArgumentType)):
            client.create_session(max_item_count=bad)
    with pytest.raises(errors.BadArgument, match="request_id"):
        client.create_session(request_id="not-a-uuid")
    assert len(http.request_sequence) == 1


class CountingRequest(HttpRequest):  # type: ignore[misc]
    """A caller's own request class: counts how many requests were built."""

    made = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        CountingRequest.made += 1


def test_a_callers_own_request_class_gets_a_request_built_for_every_create() -> None:
    CountingRequest.made = 0
    http = HttpMockSequence(_answers(3))
    service = picker_discovery.build(http=http, requestBuilder=CountingRequest)
    client = PickerClient(service=service, journal=False)
    for _ in range(3):
        client.create_session()
    assert CountingRequest.made == 3
    assert len(http.request_sequence) == 3


def test_threads_creating_at_once_each_send_their_own_arguments() -> None:
    recorders: dict[int, HttpMockSequence] = {}
    lock = threading.Lock()

    def factory() -> HttpMockSequence:
        http = HttpMockSequence(_answers(40))
        with lock:
            recorders[threading.get_ident()] = http
        return http

    client = PickerClient(http=HttpMockSequence([]), http_factory=factory, journal=False)
    counts: dict[int, int | None] = {}
    start = threading.Barrier(6)

    def run(count: int | None) -> None:
        counts[threading.get_ident()] = count
        start.wait()
        for _ in range(40):
            client.create_session(max_item_count=count)

    threads = [threading.Thread(target=run, args=(c,)) for c in (None, 1, 2, 3, None, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for ident, http in recorders.items():
        count = counts[ident]
        expected = {} if count is None else {"pickingConfig": {"maxItemCount": str(count)}}
        assert [body for _, _, body, _ in _sent(http)] == [expected] * 40


@pytest.mark.anyio
async def test_the_async_client_sends_what_googleapiclient_builds_too() -> None:
    transport = FakeAsyncTransport(Backend())
    client = AsyncPickerClient(transport=transport, journal=False)
    for call in CALLS:
        await client.create_session(**call)
    plain = picker_discovery.build(http=HttpMockSequence(_answers(len(CALLS))))
    expected = [plain.sessions().create(**_plain_params(call)) for call in CALLS]
    assert [(r.method, r.uri, json.loads(r.body)) for r in transport.requests] == [
        (e.method, e.uri, json.loads(e.body or "")) for e in expected
    ]
