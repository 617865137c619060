"""AsyncPickerClient over the in-process fake (httpx, no sockets): the same calls, errors,
retries and waiting rules as PickerClient, and a cancelled wait deletes its session."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import google.oauth2.credentials
import httpx
import pytest

from picker_discovery import AsyncPickerClient, FakeClock, RetryPolicy, SelectionCheck
from picker_discovery.errors import (
    FailedPrecondition,
    PermissionDenied,
    PickerError,
    PickingTimeout,
    ResourceExhausted,
    SessionNotFound,
    Unavailable,
)
from picker_discovery.testing import Backend, FakeAsyncTransport, Fault

pytestmark = pytest.mark.anyio

NO_JITTER = RetryPolicy(jitter=0)


def client_on(backend: Backend, **kwargs: Any) -> tuple[AsyncPickerClient, FakeAsyncTransport]:
    transport = FakeAsyncTransport(backend)
    kwargs.setdefault("retry", NO_JITTER)
    kwargs.setdefault("clock", backend.clock)
    client = AsyncPickerClient(transport=transport, journal=False, **kwargs)
    return client, transport


async def test_the_whole_flow_over_the_fake(
    picker_async_client: AsyncPickerClient,
    picker_async_transport: FakeAsyncTransport,
    picker_backend: Backend,
) -> None:
    client = picker_async_client
    async with client.picking_session(max_item_count=5) as session:
        assert session.id is not None and session.picker_uri
        first = await client.check_selection(session)
        assert (first.status, first.delay) == ("wait", 5.0)
        picker_backend.pick(session.id, first=3)
        picked = await client.wait_for_selection(session, timeout=60)
        assert picked.media_items_set
        items = [item async for item in client.iter_media_items(session, page_size=2)]
        assert len(items) == 3 and items == await client.list_media_items(session)
        assert (await client.get_session(session.id)).media_items_set
    assert picker_backend.sessions() == []
    paths = [method for method, _ in picker_async_transport.paths()]
    assert paths[0] == "POST" and paths[-1] == "DELETE"
    assert picker_async_transport.requests[0].headers["authorization"] == "Bearer fake-token"


async def test_errors_are_the_sync_clients_domain_errors(picker_backend: Backend) -> None:
    client, _ = client_on(picker_backend)
    async with client:
        with pytest.raises(SessionNotFound) as caught:
            await client.get_session("no-such-session")
        assert caught.value.session_id == "no-such-session"
        assert caught.value.method_id == "photospicker.sessions.get"
        session = await client.create_session()
        with pytest.raises(FailedPrecondition):
            await client.list_media_items(session)
        picker_backend.set_faults("sessions.create", [Fault(status=429)])
        with pytest.raises(ResourceExhausted):
            await client.create_session()
        picker_backend.set_faults("sessions.get", [Fault(status=403)])
        with pytest.raises(PermissionDenied):
            await client.get_session(session)
        with pytest.raises(ValueError, match="session id"):
            await client.delete_session("a/b")
        await client.delete_session(session)
        await client.delete_session(session, missing_ok=True)
        with pytest.raises(SessionNotFound):
            await client.delete_session(session)


async def test_gets_are_retried_on_the_clients_clock_and_creates_are_not(
    picker_backend: Backend,
) -> None:
    client, _ = client_on(picker_backend)
    async with client:
        session = await client.create_session()
        picker_backend.set_faults("sessions.get", [503, Fault(drop=True), None])
        assert (await client.get_session(session)).id == session.id
        assert picker_backend.clock.sleeps == [1.0, 2.0]
        picker_backend.set_faults("sessions.create", [503, None])
        with pytest.raises(Unavailable):
            await client.create_session()
        assert len(picker_backend.attempts("sessions.create")) == 2  # the first, and the 503
        await client.delete_session(session)


async def test_a_wait_ends_with_the_sync_clients_reasons(picker_backend: Backend) -> None:
    picker_backend.configure(polling_timeout="20s", poll_interval="4s")
    client, _ = client_on(picker_backend)
    async with client, client.picking_session() as session:
        with pytest.raises(PickingTimeout) as caught:
            await client.wait_for_selection(session.id or "", timeout=10)
        assert (caught.value.reason, caught.value.waited) == ("timeout", 10.0)
        seen: list[bool] = []
        with pytest.raises(PickingTimeout) as caught:
            await client.wait_for_selection(session.id or "", on_poll=lambda s: seen.append(True))
        assert caught.value.reason == "timeoutIn" and seen


async def test_an_async_on_poll_is_awaited(picker_backend: Backend) -> None:
    client, _ = client_on(picker_backend)
    polled: list[str] = []

    async def pick_on_second_poll(state: Any) -> None:
        polled.append(state.id)
        if len(polled) == 2:
            picker_backend.pick(state.id, first=1)

    async with client, client.picking_session() as session:
        picked = await client.wait_for_selection(session.id or "", on_poll=pick_on_second_poll)
    assert picked.media_items_set and len(polled) == 3


async def test_the_step_carries_across_clients_as_json(picker_backend: Backend) -> None:
    client, _ = client_on(picker_backend)
    async with client:
        session = await client.create_session()
        check = await client.check_selection(session)
        carried = json.dumps(check.to_dict())
    picker_backend.pick(session.id or "", first=1)
    other, _ = client_on(picker_backend)
    async with other:
        again = await other.check_selection(
            session, after=SelectionCheck.from_dict(json.loads(carried))
        )
        assert (again.status, again.polls, again.started) == ("ready", 2, check.started)
        await other.delete_session(session)


async def test_cancelling_the_waiting_task_deletes_the_session(picker_backend: Backend) -> None:
    client, transport = client_on(picker_backend, clock=None)  # real time: the wait sleeps
    client.min_poll_interval = 0.01
    picker_backend.configure(poll_interval="0.01s")
    polled = asyncio.Event()

    async def user_flow() -> None:
        async with client.picking_session() as session:
            await client.wait_for_selection(session, on_poll=lambda _: polled.set())

    async with client:
        task = asyncio.create_task(user_flow())
        await asyncio.wait_for(polled.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert picker_backend.sessions() == []
    assert transport.paths()[-1][0] == "DELETE"


async def start_waiting(
    client: AsyncPickerClient, session_id: str, **kwargs: Any
) -> asyncio.Task[Any]:
    """A task waiting on the session (real time, short polls), once it has polled."""
    polled = asyncio.Event()
    task = asyncio.create_task(
        client.wait_for_selection(session_id, on_poll=lambda _: polled.set(), **kwargs)
    )
    await asyncio.wait_for(polled.wait(), 10)
    return task


async def test_cancelling_a_bare_wait_deletes_the_session(picker_backend: Backend) -> None:
    client, transport = client_on(picker_backend, clock=None)  # real time: the wait sleeps
    client.min_poll_interval = 0.01
    picker_backend.configure(poll_interval="0.01s")
    async with client:
        session = await client.create_session()
        kept = await client.create_session()
        task = await start_waiting(client, session.id or "")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [s.id for s in picker_backend.sessions()] == [kept.id]
        assert transport.paths()[-1] == ("DELETE", f"/v1/sessions/{session.id}")
        await client.delete_session(kept)


async def test_a_wait_told_not_to_delete_keeps_the_session_for_a_later_wait(
    picker_backend: Backend,
) -> None:
    client, transport = client_on(picker_backend, clock=None)
    client.min_poll_interval = 0.01
    picker_backend.configure(poll_interval="0.01s")
    async with client:
        session = await client.create_session()
        task = await start_waiting(client, session.id or "", delete_on_cancel=False)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [s.id for s in picker_backend.sessions()] == [session.id]
        assert "DELETE" not in {method for method, _ in transport.paths()}
        picker_backend.pick(session.id or "", first=1)
        assert (await client.wait_for_selection(session.id or "")).media_items_set
        await client.delete_session(session)


async def test_a_second_cancel_while_deleting_does_not_skip_the_delete(
    picker_backend: Backend,
) -> None:
    client, _ = client_on(picker_backend, clock=None)
    client.min_poll_interval = 0.01
    picker_backend.configure(poll_interval="0.01s")
    deleting = asyncio.Event()
    release = asyncio.Event()
    sent_delete = client._sender.send

    async def slow_delete(request: Any) -> Any:
        if request.method == "DELETE":
            deleting.set()
            await release.wait()  # the server is slow to answer the delete
        return await sent_delete(request)

    client._sender.send = slow_delete  # type: ignore[method-assign]
    async with client:
        session = await client.create_session()
        task = await start_waiting(client, session.id or "")
        task.cancel()
        await asyncio.wait_for(deleting.wait(), 10)
        task.cancel()  # cancelled again while the delete is on its way
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(picker_backend.sessions()) == 1  # the delete is still running ...
        release.set()
    assert picker_backend.sessions() == []  # ... and aclose waited for it to finish


async def test_a_failing_block_deletes_the_session_and_raises_its_own_error(
    picker_backend: Backend,
) -> None:
    client, _ = client_on(picker_backend)
    async with client:
        with pytest.raises(KeyError):
            async with client.picking_session():
                picker_backend.set_faults("sessions.delete", [500, 500, 500, 500, 500])
                raise KeyError("the block failed")
    assert len(picker_backend.sessions()) == 1  # the delete failed: logged, not raised


# -- sending: credentials and where the token goes --------------------------------------------


class CountingCredentials(google.oauth2.credentials.Credentials):
    """Credentials whose refresh hands out numbered tokens, without a network."""

    def __init__(self, token: str | None, expiry: datetime | None = None) -> None:
        super().__init__(token=token, expiry=expiry)  # type: ignore[no-untyped-call]
        self.refreshes = 0

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        self.token = f"token-{self.refreshes}"
        self.expiry = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(tzinfo=None)


def mock_client(
    credentials: CountingCredentials, answers: list[int]
) -> tuple[AsyncPickerClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = answers.pop(0) if answers else 200
        return httpx.Response(status, json={"id": "s1"} if status == 200 else {})

    client = AsyncPickerClient(
        credentials=credentials,
        transport=httpx.MockTransport(handler),
        clock=FakeClock(),
        journal=False,
    )
    return client, seen


async def test_an_expired_token_is_refreshed_once_for_many_tasks() -> None:
    expired = (datetime.now(timezone.utc) - timedelta(minutes=1)).replace(tzinfo=None)
    credentials = CountingCredentials("old", expiry=expired)
    client, seen = mock_client(credentials, [])
    async with client:
        await asyncio.gather(*(client.get_session("s1") for _ in range(5)))
    assert credentials.refreshes == 1
    assert {r.headers["authorization"] for r in seen} == {"Bearer token-1"}


async def test_a_401_refreshes_the_token_and_sends_again() -> None:
    credentials = CountingCredentials("stale")
    client, seen = mock_client(credentials, [401])
    async with client:
        assert (await client.get_session("s1")).id == "s1"
    assert [r.headers["authorization"] for r in seen] == ["Bearer stale", "Bearer token-1"]


async def test_the_token_goes_only_to_the_services_base_url() -> None:
    client, seen = mock_client(CountingCredentials("secret-token"), [])
    async with client:
        request = client.service.sessions().get(sessionId="s1")
        request.uri = "https://attacker.example/v1/sessions/s1"
        with pytest.raises(PickerError, match="refusing"):
            await client._sender.send(request)
    assert seen == []


async def test_an_endpoint_off_the_allowlist_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(ValueError, match="nothing was sent"):
        AsyncPickerClient(
            credentials=CountingCredentials("t"),
            client_options={"api_endpoint": "https://example.com/"},
        )


def test_importing_the_package_does_not_import_httpx() -> None:
    code = (
        "import sys, picker_discovery; picker_discovery.PickerClient; "
        "assert 'httpx' not in sys.modules; picker_discovery.AsyncPickerClient; "
        "assert 'httpx' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
