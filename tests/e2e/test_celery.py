"""The Celery recipe (examples/celery) end to end: a real ``redis-server``, a real worker
process (prefork pool of one) and the loopback emulator, driven as a web app would. No eager
mode: every task goes through Redis to the worker.

What a user relies on: waiting holds no worker (one worker with one process serves many
people picking at once), a picked session is imported byte for byte and then deleted, a
session nobody picks ends with the reason recorded and is deleted, and an import that is
retried or redelivered after its worker died fetches only what it had not finished.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.oauth2.credentials import Credentials

from picker_discovery import PickerClient
from picker_discovery.testing import Emulator, Fault, library
from picker_discovery.testing.library import MediaItem
from picker_tasks import local
from picker_tasks.tasks import import_media, job_store, start_import
from tests.celery_kit import finished, photos, polls_of, sessions_all_deleted, wait_until, workers
from tests.control import post_control


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(poll_interval="0.3s", max_live_sessions=1000) as running:
        yield running


@pytest.fixture(scope="module")
def worker(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[local.Worker]:
    """Redis, this process's app pointed at it, and one worker acting on the emulator."""
    with workers(emulator, tmp_path_factory) as [running]:
        yield running


def digest(item: MediaItem) -> str:
    """SHA-256 of what the emulator serves as the item's original (``=d``)."""
    sha = hashlib.sha256()
    for chunk in library.original_chunks(item):
        sha.update(chunk)
    return sha.hexdigest()


def digests_in(folder: Path) -> list[str]:
    """SHA-256 of each file a person would see in ``folder`` (not the hidden manifest)."""
    return sorted(
        hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.iterdir()
        if not path.name.startswith(".")
    )


def media_requests_by_item(emulator: Emulator, keys: dict[str, str]) -> dict[str, int]:
    """How many media requests reached the emulator for each item id (``keys``: baseUrl key
    to item id, from a listing made before the worker deletes the session)."""
    counts = dict.fromkeys(keys.values(), 0)
    for attempt in emulator.attempts("media"):
        key = attempt.path.rsplit("/", 1)[-1].partition("=")[0]
        if key in keys:
            counts[keys[key]] += 1
    return counts


def picked_session(
    emulator: Emulator, user: str, count: int
) -> tuple[str, dict[str, str], list[MediaItem]]:
    """A session of ``user`` with ``count`` photos picked, made and picked as the web app
    and the person would; returns its id, each item's baseUrl key and the items."""
    items = photos(user, emulator, count)
    client = PickerClient(
        credentials=Credentials(token=user),
        client_options={"api_endpoint": emulator.url},
        journal=False,
    )
    session = client.create_session()
    assert session.id is not None
    post_control(emulator, "pick", {"session_id": session.id, "first": count})
    keys = {}
    for item in client.list_media_items(session):
        assert item.media_file is not None and item.media_file.base_url is not None
        keys[item.media_file.base_url.rsplit("/", 1)[-1]] = str(item.id)
    return session.id, keys, items


def enqueue_import(user: str, session_id: str, folder: Path) -> None:
    """What the poll task does once the person has picked."""
    job_store().create(session_id, user=user, folder=str(folder))
    job_store().update(session_id, status="importing")
    import_media.delay(user, session_id, str(folder))


def test_polls_reschedule_until_picked_then_the_import_lands_and_the_session_goes(
    emulator: Emulator, worker: local.Worker, tmp_path: Path
) -> None:
    user = "celery-flow"
    items = photos(user, emulator, 5)
    folder = tmp_path / "imports"
    session = start_import(user, folder)
    assert session.id is not None
    sid = session.id

    # Nobody has picked: the poll task runs again and again, each time a new message.
    wait_until(lambda: polls_of(emulator, sid) >= 3, worker, "three polls of the session")
    job = job_store().get(sid)
    assert job["status"] == "waiting" and int(job["polls"]) >= 2, job
    assert not folder.exists() or digests_in(folder) == []

    chosen = [items[0], items[2], items[3], items[4]]
    post_control(emulator, "pick", {"session_id": sid, "ids": [i.id for i in chosen]})
    job = finished(sid, worker)

    assert job["status"] == "done", job
    assert (job["downloaded"], job["already_present"], job["failed"]) == ("4", "0", "0")
    assert digests_in(folder) == sorted(digest(item) for item in chosen)
    sessions_all_deleted(emulator, user, worker)
    assert sum(f"/sessions/{sid}" in a.path for a in emulator.attempts("sessions.delete")) == 1


def test_a_session_nobody_picks_ends_with_its_reason_and_is_deleted(
    emulator: Emulator, worker: local.Worker, tmp_path: Path
) -> None:
    user = "celery-unpicked"
    photos(user, emulator, 2)
    # The session's timeoutIn runs out 1.5 s after it was made (while the setting holds).
    emulator.backend.configure(polling_timeout="1.5s")
    try:
        session = start_import(user, tmp_path / "never")
        assert session.id is not None
        job = finished(session.id, worker)
    finally:
        emulator.backend.configure(polling_timeout="1800s")

    assert (job["status"], job["reason"]) == ("ended", "timeoutIn"), job
    assert int(job["polls"]) >= 2
    sessions_all_deleted(emulator, user, worker)
    assert not (tmp_path / "never").exists()


def test_an_import_retried_after_a_failed_item_fetches_only_that_item(
    emulator: Emulator, worker: local.Worker, tmp_path: Path
) -> None:
    user = "celery-retry"
    session_id, keys, _ = picked_session(emulator, user, 5)
    failing = list(keys.values())[2]
    emulator.set_faults("media", [Fault(status=404)], item_id=failing)

    enqueue_import(user, session_id, tmp_path)
    job = finished(session_id, worker)

    assert job["status"] == "done", job
    assert job["attempt"] == "2"  # the first attempt failed on one item and was retried
    assert (job["downloaded"], job["already_present"]) == ("1", "4")
    requests = media_requests_by_item(emulator, keys)
    assert requests == {item: 2 if item == failing else 1 for item in keys.values()}
    assert len(digests_in(tmp_path)) == 5
    sessions_all_deleted(emulator, user, worker)


def test_an_import_redelivered_after_its_worker_died_resumes_from_the_manifest(
    emulator: Emulator, worker: local.Worker, tmp_path: Path
) -> None:
    user = "celery-killed"
    session_id, keys, items = picked_session(emulator, user, 6)
    stalled = list(keys.values())[3]
    # That item's bytes stop half-way, so the import is still running when its process dies.
    emulator.set_faults("media", [Fault(stall=60)], item_id=stalled)

    enqueue_import(user, session_id, tmp_path)
    wait_until(
        lambda: (
            len(digests_in(tmp_path)) == 5 and media_requests_by_item(emulator, keys)[stalled] == 1
        ),
        worker,
        "five files in place and the sixth stalled",
    )
    [pool_process] = worker.pool_pids()
    os.kill(pool_process, signal.SIGKILL)  # the kernel's OOM killer, say
    job = finished(session_id, worker)

    assert job["status"] == "done", job
    assert (job["attempt"], job["downloaded"], job["already_present"]) == ("1", "1", "5")
    assert "WorkerLostError" in worker.log_text()  # the same message ran again
    requests = media_requests_by_item(emulator, keys)
    assert requests == {item: 2 if item == stalled else 1 for item in keys.values()}
    assert digests_in(tmp_path) == sorted(digest(item) for item in items)
    sessions_all_deleted(emulator, user, worker)


@pytest.mark.timeout(300)
def test_one_worker_process_serves_fifty_people_picking_at_once(
    emulator: Emulator, worker: local.Worker, tmp_path: Path
) -> None:
    user = "celery-fifty"
    items = photos(user, emulator, 3)
    emulator.backend.configure(poll_interval="2s")  # 25 polls a second from fifty sessions
    try:
        fifty_people_pick(emulator, worker, tmp_path, user, items)
    finally:
        emulator.backend.configure(poll_interval="0.3s")


def fifty_people_pick(
    emulator: Emulator, worker: local.Worker, tmp_path: Path, user: str, items: list[MediaItem]
) -> None:
    ids = [str(start_import(user, tmp_path / f"s{n}").id) for n in range(50)]

    # Every session is polled again and again while all fifty wait: no poll holds the
    # worker's one process until its person has picked.
    wait_until(
        lambda: all(polls_of(emulator, sid) >= 2 for sid in ids),
        worker,
        "every session polled twice",
        timeout=120,
    )
    assert all(job_store().get(sid)["status"] == "waiting" for sid in ids)

    # People finish at different times, in no particular order.
    order = random.Random(50).sample(range(50), 50)
    for n in order:
        post_control(emulator, "pick", {"session_id": ids[n], "ids": [items[n % 3].id]})
        time.sleep(0.05)
    jobs = [finished(sid, worker, timeout=120) for sid in ids]

    assert [job["status"] for job in jobs] == ["done"] * 50
    for n in range(50):
        assert digests_in(tmp_path / f"s{n}") == [digest(items[n % 3])]
    sessions_all_deleted(emulator, user, worker)
