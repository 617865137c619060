"""AsyncPickerClient.wait_for_sessions keeps little per waiting session: each poll is
``check_selection``'s step (same request, same check), a waiting session holds only the timing
its next poll needs and the body of the answer it read, and its outcome still carries the last
state read. Over the in-process fake and a shared fake clock."""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest

import picker_discovery._aio._many as many
from picker_discovery import AsyncPickerClient, PickingSession, RetryPolicy, WaitOutcome
from picker_discovery._aio._poll import GetTemplate, Poller
from picker_discovery._schedule import first_checks
from picker_discovery._step import SelectionCheck
from picker_discovery.errors import MalformedResponse
from picker_discovery.testing import Backend, FakeAsyncTransport, Fault
from picker_discovery.testing.transport import DEFAULT_TOKEN

pytestmark = pytest.mark.anyio


@pytest.fixture
def backend() -> Backend:
    return Backend(max_live_sessions=100, poll_interval="5s", polling_timeout="60s")


@pytest.fixture
async def client(backend: Backend) -> AsyncIterator[AsyncPickerClient]:
    async with AsyncPickerClient(
        transport=FakeAsyncTransport(backend),
        clock=backend.clock,
        journal=False,
        retry=RetryPolicy(jitter=0),
    ) as client:
        yield client


def ident(session: PickingSession) -> str:
    assert session.id is not None
    return session.id


def poller(client: AsyncPickerClient, timeout: float | None = None) -> Poller:
    return Poller(client._execute, client._sessions, client.clock, client.poll_rules(), timeout)


class Recording(Poller):
    """The waiter's poller, remembering the last state each poll read (before the waiter
    keeps only its body)."""

    read: ClassVar[dict[str, PickingSession]] = {}

    async def __call__(self, after: SelectionCheck) -> tuple[SelectionCheck, bytes | None]:
        check, body = await super().__call__(after)
        if check.session is not None:
            Recording.read[check.session_id] = check.session
        return check, body


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> dict[str, PickingSession]:
    Recording.read = {}
    monkeypatch.setattr(many, "Poller", Recording)
    return Recording.read


@pytest.mark.parametrize(
    "sid",
    [
        "2ea3dc54-f352-4d9d-a667-1b497bdf4e52",
        "plain_id.with~all-unreserved",
        "with space",
        "ünïcode",
        "a:b@c",
        "percent%2Fslash",
        "query?and#fragment",
    ],
)
async def test_the_template_builds_the_request_googleapiclient_builds(
    client: AsyncPickerClient, sid: str
) -> None:
    made = GetTemplate(client._sessions).request(sid)
    built = client._sessions.get(sessionId=sid)
    assert made.uri == built.uri
    assert (made.method, made.methodId, made.body) == (built.method, built.methodId, built.body)
    assert dict(made.headers) == dict(built.headers)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"id": "%s", "mediaItemsSet": "yes"}', "mediaItemsSet"),
        (b'{"id": "%s", "pickerUri": 5}', "pickerUri"),
        (
            b'{"id": "%s", "expireTime": "tomorrow", "pickingConfig": {"maxItemCount": []}}',
            "maxItemCount",
        ),
    ],
)
async def test_a_malformed_field_fails_the_poll_as_check_selection_fails(
    client: AsyncPickerClient, backend: Backend, body: bytes, field: str
) -> None:
    sid = ident(await client.create_session())
    answer = Fault(body=body % sid.encode())
    backend.set_faults("sessions.get", [answer])
    with pytest.raises(MalformedResponse, match=field) as theirs:
        await client.check_selection(sid)
    backend.set_faults("sessions.get", [answer])
    (outcome,) = [o async for o in client.wait_for_sessions([sid], rate=50, jitter=0)]
    assert outcome.status == "failed" and isinstance(outcome.error, MalformedResponse)
    assert str(outcome.error) == str(theirs.value)


async def test_a_poll_is_check_selections_step(client: AsyncPickerClient, backend: Backend) -> None:
    picked, waiting, gone, failing = [await client.create_session() for _ in range(4)]
    backend.pick(ident(picked))
    backend.delete_session(DEFAULT_TOKEN, ident(gone))
    checks = first_checks(
        [picked, waiting, gone, failing],
        now=client.clock.now(),
        timeout=30.0,
        rules=client.poll_rules(),
    )
    poll = poller(client, timeout=30.0)
    for after in checks:
        fails = after.session_id == ident(failing)
        if fails:
            backend.set_faults("sessions.get", [503])
        ours, body = await poll(after)
        if fails:
            backend.set_faults("sessions.get", [503])
        theirs = await client.check_selection(after.session_id, after=after, timeout=30.0)
        assert ours == theirs
        assert type(ours.error) is type(theirs.error)
        assert (body is not None) == (ours.polls > after.polls)  # an answer was read
    # A check whose deadline has come is ended by the schedule, without a poll (tested in
    # test_schedule.py); one polled all the same ends by the same rule, on the answer.
    backend.advance(31)
    sent = len(backend.attempts("sessions.get"))
    ended, _ = await poll(checks[1])
    assert (ended.status, ended.reason) == ("ended", "timeout")
    assert len(backend.attempts("sessions.get")) == sent + 1


async def test_a_waiting_session_keeps_only_its_timing_and_the_answers_body(
    client: AsyncPickerClient, backend: Backend
) -> None:
    sessions = [await client.create_session() for _ in range(5)]
    waiting = client.wait_for_sessions([ident(s) for s in sessions], rate=100, jitter=0)
    seen: list[dict[str, Any]] = []

    def look(_seconds: float) -> None:
        kept = waiting._schedule.checks()
        if len(kept) == 5 and all(check.polls for check in kept.values()):
            seen.append(kept)
            waiting.cancel()

    backend.clock.on_sleep = look
    assert [o async for o in waiting] == []
    (kept,) = seen
    assert all(check.session is None for check in kept.values())
    assert all(check.deadline is not None and check.polls == 1 for check in kept.values())
    assert sorted(waiting._bodies) == sorted(kept)
    assert all(b'"pollingConfig"' in body for body in waiting._bodies.values())


async def test_outcomes_carry_the_last_state_read_as_before(
    client: AsyncPickerClient, backend: Backend, recording: dict[str, PickingSession]
) -> None:
    backend.configure(polling_timeout="17s")
    sessions = [await client.create_session() for _ in range(6)]
    sids = [ident(s) for s in sessions]
    backend.set_faults("sessions.get", [None, 503])  # the second poll fails, then is retried
    start = backend.clock.monotonic()

    def pick(_seconds: float) -> None:
        if backend.clock.monotonic() - start >= 8 and not backend.session(sids[0]).picked:
            backend.pick(sids[0])

    backend.clock.on_sleep = pick
    outcomes = {o.session_id: o async for o in client.wait_for_sessions(sids, jitter=0)}
    assert outcomes[sids[0]].ready
    for sid in sids[1:]:
        outcome = outcomes[sid]
        assert (outcome.status, outcome.reason) == ("ended", "timeoutIn")
        assert outcome.session is not None and outcome.session == recording[sid]
        assert outcome.check.session == outcome.session
        assert outcome.session.raw == recording[sid].raw
    assert outcomes[sids[0]].session == recording[sids[0]]


async def test_deadline_interval_and_retries_are_honoured(
    client: AsyncPickerClient, backend: Backend
) -> None:
    sessions = [await client.create_session() for _ in range(3)]
    backend.clear_attempts()
    backend.set_faults("sessions.get", [503, 503])  # the first two polls fail
    start = backend.clock.now()
    outcomes: list[WaitOutcome] = [
        o async for o in client.wait_for_sessions(sessions, rate=100, timeout=21, jitter=0)
    ]
    assert {(o.status, o.reason) for o in outcomes} == {("ended", "timeout")}
    times: dict[str, list[float]] = {}
    for attempt in backend.attempts("sessions.get"):
        sid = attempt.path.split("?")[0].rsplit("/", 1)[-1]
        times.setdefault(sid, []).append((attempt.time - start).total_seconds())
    for session in sessions:
        polled = times[ident(session)]
        gaps = [round(b - a, 2) for a, b in itertools.pairwise(polled)]
        # the server's 5 s (the first poll paced by the session handed in), retries after
        # the policy's backoff, and no poll at or past the 21 s deadline
        assert polled[0] == pytest.approx(5, abs=0.05)
        assert all(gap >= 0.5 for gap in gaps)
        assert max(polled) < 21
    polls = {o.session_id: o.polls for o in outcomes}
    failed = [t for sid, t in times.items() if len(t) > polls[sid]]
    assert sum(len(times[sid]) - polls[sid] for sid in times) == 2  # the two failures
    assert failed


@pytest.mark.skipif(sys.version_info < (3, 11), reason="Task.cancelling() is 3.11+")
async def test_cancel_from_another_task_cuts_a_real_sleep_short_and_takes_it_back() -> None:
    backend = Backend(poll_interval="30s")
    async with AsyncPickerClient(transport=FakeAsyncTransport(backend), journal=False) as client:
        sessions = [await client.create_session() for _ in range(2)]  # real clock: 30 s first
        waiting = client.wait_for_sessions(sessions)

        async def wait() -> tuple[list[WaitOutcome], int]:
            outcomes = [o async for o in waiting]
            task = asyncio.current_task()
            assert task is not None
            cancelling: int = getattr(task, "cancelling")()  # noqa: B009 (3.11+)
            return outcomes, cancelling

        task = asyncio.ensure_future(wait())
        await asyncio.sleep(0.1)
        waiting.cancel()
        outcomes, cancelling = await asyncio.wait_for(task, 5)
        assert (outcomes, cancelling) == ([], 0)
        assert sorted(waiting.pending) == sorted(ident(s) for s in sessions)
        assert backend.attempts("sessions.get") == []
