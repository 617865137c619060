"""The Celery recipe (examples/celery) as its tests drive it: a real ``redis-server``, real
worker processes and the loopback emulator, and what the tests read back from them."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping

import pytest
from google.oauth2.credentials import Credentials

from picker_discovery.testing import Emulator, generate_library
from picker_discovery.testing.library import MediaItem
from picker_tasks import local
from picker_tasks.app import app
from picker_tasks.credentials import use_credentials
from picker_tasks.jobs import FINAL
from picker_tasks.tasks import job_store

LOOPBACK = "127.0.0.1,localhost,::1"


@contextlib.contextmanager
def workers(
    emulator: Emulator,
    tmp_path_factory: pytest.TempPathFactory,
    *,
    count: int = 1,
    env: Mapping[str, str] | None = None,
) -> Iterator[list[local.Worker]]:
    """Redis on a free loopback port, this process's app pointed at it, and ``count``
    workers (``--pool prefork --concurrency 1`` each) acting on the emulator, with ``env``
    added to theirs and to this process's."""
    environment = {
        "PICKER_CELERY_CREDENTIALS": "emulator",
        "PICKER_DISCOVERY_ENDPOINT": emulator.url,
        "PICKER_DISCOVERY_MEDIA_HOSTS": emulator.media_url.rstrip("/"),
        "PICKER_DISCOVERY_JOURNAL": "off",
        "PICKER_CELERY_RETRY_DELAY": "0.2",
        "NO_PROXY": LOOPBACK,
        "no_proxy": LOOPBACK,
        **(env or {}),
    }
    with (
        pytest.MonkeyPatch.context() as patch,
        local.redis_server(tmp_path_factory.mktemp("redis")) as url,
        contextlib.ExitStack() as started,
    ):
        for name, value in environment.items():
            patch.setenv(name, value)
        patch.setattr(app.conf, "broker_url", url)
        _forget_connections()
        use_credentials(lambda user: Credentials(token=user))
        try:
            folder = tmp_path_factory.mktemp("worker")
            yield [
                started.enter_context(local.worker(url, folder, env=environment, name=f"picker{n}"))
                for n in range(count)
            ]
        finally:
            use_credentials(None)
            _forget_connections()


def _forget_connections() -> None:
    """Drop the app's broker connections, so the next task goes to the broker now set.

    ``app.close()`` drops the connection pool but not the producer pool made from it, which
    keeps sending to the broker it was made for; Celery itself drops both after a fork."""
    app.close()
    app.amqp._producer_pool = None  # type: ignore[attr-defined]


def photos(user: str, emulator: Emulator, count: int) -> list[MediaItem]:
    """Give ``user`` a library of ``count`` small photos; return them."""
    items = [
        dataclasses.replace(item, size=min(item.size, 40_000))
        for item in generate_library(user, count * 4)
        if item.type == "PHOTO"
    ][:count]
    assert len(items) == count
    emulator.seed_library(user, items=items)
    return items


def wait_until(
    condition: Callable[[], bool], worker: local.Worker, what: str, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = "\n".join(worker.log_text().splitlines()[-30:])
            pytest.fail(f"gave up waiting for {what} after {timeout} s; worker log:\n{tail}")
        time.sleep(0.05)


def finished(session_id: str, worker: local.Worker, timeout: float = 60) -> dict[str, str]:
    wait_until(
        lambda: job_store().get(session_id).get("status") in FINAL,
        worker,
        f"the job of session {session_id} to finish",
        timeout,
    )
    return job_store().get(session_id)


def sessions_all_deleted(emulator: Emulator, user: str, worker: local.Worker) -> None:
    """Every session of ``user`` is deleted (soon: a task records its job's final status
    just before it deletes the session)."""
    wait_until(
        lambda: emulator.backend.sessions(user) == [],
        worker,
        f"every session of {user} deleted",
        timeout=10,
    )


def polls_of(emulator: Emulator, session_id: str) -> int:
    return sum(f"/sessions/{session_id}" in a.path for a in emulator.attempts("sessions.get"))
