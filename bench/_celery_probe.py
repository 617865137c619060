"""The Celery recipe's app with a stopwatch, for ``bench/celery_waiting.py``: the worker runs
``celery -A _celery_probe worker`` so that every task's run time (in the pool process, from
``task_prerun`` to ``task_postrun``) and count are added up in Redis. Also the side it is
measured against: a task that holds its worker while the person picks (``wait_for_selection``
inside the task), as one would write it without the recipe.
"""

from __future__ import annotations

import time
from typing import Any

import redis
from celery.signals import task_postrun, task_prerun

from picker_tasks.app import app
from picker_tasks.credentials import client_for, media_hosts
from picker_tasks.tasks import job_store

__all__ = ["BUSY", "TASKS", "app", "blocking_import"]

BUSY = "bench:busy"
TASKS = "bench:tasks"

_started: dict[str, float] = {}
_redis: list[redis.Redis] = []


def _store() -> redis.Redis:
    if not _redis:
        _redis.append(redis.Redis.from_url(str(app.conf.broker_url)))
    return _redis[0]


@task_prerun.connect
def _start(task_id: str | None = None, **_: Any) -> None:
    _started[str(task_id)] = time.perf_counter()


@task_postrun.connect
def _stop(task_id: str | None = None, **_: Any) -> None:
    began = _started.pop(str(task_id), None)
    if began is None:
        return
    pipe = _store().pipeline()
    pipe.incrbyfloat(BUSY, time.perf_counter() - began)
    pipe.incr(TASKS)
    pipe.execute()


@app.task(name="bench.blocking_import")
def blocking_import(user_id: str, session_id: str, folder: str) -> None:
    """Wait for the pick inside the task (holding the pool process), then import."""
    client = client_for(user_id)
    client.wait_for_selection(session_id)
    result = client.download_session(session_id, folder, media_hosts=media_hosts())
    job_store().finish(
        session_id, "done" if result.ok else "failed", downloaded=len(result.downloaded)
    )
    client.delete_session(session_id, missing_ok=True)
