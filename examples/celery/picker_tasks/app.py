"""The Celery app: Redis as broker, settings from the environment.

Run a worker with::

    PICKER_CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \\
        celery -A picker_tasks.app worker --concurrency 4

``PICKER_CELERY_BROKER_URL`` (default ``redis://127.0.0.1:6379/0``) is both the broker and
the store of each import's status (:mod:`picker_tasks.jobs`). Tasks return nothing anyone
waits for, so there is no result backend: the web app reads the job status instead.
"""

from __future__ import annotations

import os

from celery import Celery

BROKER_URL = os.environ.get("PICKER_CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")

app = Celery("picker_tasks", broker=BROKER_URL, include=["picker_tasks.tasks"])
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    # A task's message is acknowledged when the task has finished, not when it starts: a
    # worker killed mid-task (or a pool process killed by the kernel) hands the task to
    # another worker instead of losing it. Both tasks are written to be run again.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    # A worker reserves one message at a time beyond the ones it runs; countdown (ETA)
    # messages are held by the worker's main process until due, outside this limit, and
    # hold no pool process while they wait.
    worker_prefetch_multiplier=1,
    # Redis hands a message nobody acknowledged to another worker after this many seconds
    # (6 hours). It must exceed the longest countdown (a poll is never more than 60 s away)
    # and the longest import, or a task would run twice at once.
    broker_transport_options={"visibility_timeout": 6 * 3600},
    broker_connection_retry_on_startup=True,
)
