"""The Celery recipe holds no worker while people pick: one worker, one pool process, fifty
sessions waiting at once.

A real ``redis-server`` and ``celery worker --pool prefork --concurrency 1`` (the recipe in
``examples/celery``, through ``_celery_probe`` which adds up each task's run time) against the
loopback emulator (pollInterval 1 s). Fifty sessions are started with ``start_import``; once
every one has been polled, a window of ``--window`` seconds with nobody picking measures how
busy the worker's one process was (the sum of its tasks' run times over the window) and how
many tasks it ran. Then fifty people pick, one item each, at random moments over ``--spread``
seconds, and each session's time from pick to imported (the job's ``finished``) is taken.

Side by side, fifty more sessions on the same worker with a task that waits inside
(``wait_for_selection`` in the task, then the import): it holds the process while its person
picks, so the sessions are served one after another. The same window is taken before anyone
picks, and the picks come at the same moments.

Targets ("holds no worker while waiting"): all fifty sessions polled within the window (a task
that waits inside polls one), the process not busy all of it (one that waits inside is), and
every session imported within the pollInterval plus 2 s of its pick (so no session waited for
another's person).

    .venv/bin/python bench/celery_waiting.py --window 5 --spread 10
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# The recipe's package, as a worker finds it (PYTHONPATH=examples/celery).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples" / "celery"))

import _common
import redis
from _celery_probe import BUSY, TASKS, blocking_import
from google.oauth2.credentials import Credentials

from picker_discovery.testing import Emulator, generate_library
from picker_tasks import local
from picker_tasks.app import app
from picker_tasks.credentials import client_for, use_credentials
from picker_tasks.jobs import FINAL
from picker_tasks.tasks import job_store, start_import

SESSIONS = 50
POLL_INTERVAL = 1.0
LATENCY_MARGIN = 2.0
USER = "bench-celery"
LOOPBACK = "127.0.0.1,localhost,::1"


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what} after {timeout} s")
        time.sleep(0.05)


def polled(emulator: Emulator, ids: list[str], since: float = 0.0) -> set[str]:
    """The sessions of ``ids`` polled since ``since`` (``time.monotonic()``)."""
    seen = {
        a.path.rsplit("/", 1)[-1].partition("?")[0]
        for a in emulator.attempts("sessions.get")
        if a.monotonic >= since
    }
    return seen & set(ids)


def counters(store: redis.Redis) -> tuple[float, int]:
    """Seconds the worker's pool process spent in tasks so far, and how many it ran."""
    return float(store.get(BUSY) or 0), int(store.get(TASKS) or 0)


def pick_all(
    emulator: Emulator, ids: list[str], item_ids: list[str], spread: float, seed: int
) -> dict[str, float]:
    """Pick each session at a random moment within ``spread`` seconds; their wall times."""
    moments = sorted((random.Random(seed + n).uniform(0, spread), sid) for n, sid in enumerate(ids))
    start = time.monotonic()
    picked = {}
    for n, (moment, sid) in enumerate(moments):
        time.sleep(max(0.0, start + moment - time.monotonic()))
        emulator.pick(sid, [item_ids[n % len(item_ids)]])
        picked[sid] = time.time()
    return picked


def latencies(ids: list[str], picked: dict[str, float]) -> list[float]:
    wait_until(
        lambda: all(job_store().get(sid).get("status") in FINAL for sid in ids), "every import"
    )
    jobs = {sid: job_store().get(sid) for sid in ids}
    failed = [sid for sid, job in jobs.items() if job["status"] != "done"]
    if failed:
        raise SystemExit(f"{len(failed)} import(s) did not succeed: {jobs[failed[0]]}")
    return [float(jobs[sid]["finished"]) - picked[sid] for sid in ids]


def run(window: float, spread: float, folder: Path) -> None:
    with Emulator(poll_interval=f"{POLL_INTERVAL}s", max_live_sessions=1000) as emulator:
        items = [
            dataclasses.replace(item, size=min(item.size, 40_000))
            for item in generate_library(USER, 12)
            if item.type == "PHOTO"
        ][:3]
        emulator.seed_library(USER, items=items)
        item_ids = [item.id for item in items]
        env = {
            "PICKER_CELERY_CREDENTIALS": "emulator",
            "PICKER_DISCOVERY_ENDPOINT": emulator.url,
            "PICKER_DISCOVERY_MEDIA_HOSTS": emulator.media_url.rstrip("/"),
            "PICKER_DISCOVERY_JOURNAL": "off",
            "NO_PROXY": LOOPBACK,
            "no_proxy": LOOPBACK,
            "PYTHONPATH": str(Path(__file__).resolve().parent),
        }
        os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
        use_credentials(lambda user: Credentials(token=user))
        with local.redis_server(folder / "redis") as url:
            app.conf.update(broker_url=url)
            store = redis.Redis.from_url(url)
            with local.worker(url, folder / "worker", env=env, app="_celery_probe") as worker:
                _common.note(
                    f"{SESSIONS} sessions, pollInterval {POLL_INTERVAL:g} s, one worker "
                    f"(prefork, concurrency 1, pid {worker.pid}), waiting window {window:g} s, "
                    f"picks spread over {spread:g} s"
                )
                # The recipe: poll tasks re-scheduled with a countdown.
                ids = [
                    str(start_import(USER, folder / "recipe" / f"s{n}").id) for n in range(SESSIONS)
                ]
                wait_until(lambda: len(polled(emulator, ids)) == SESSIONS, "every session polled")
                busy0, tasks0 = counters(store)
                began = time.monotonic()
                time.sleep(window)
                took = time.monotonic() - began
                busy1, tasks1 = counters(store)
                busy, tasks = busy1 - busy0, tasks1 - tasks0
                served = len(polled(emulator, ids, since=began))
                picked = pick_all(emulator, ids, item_ids, spread, seed=1)
                ours = latencies(ids, picked)

                # A task that waits inside, on the same worker.
                client = client_for(USER)
                held = []
                for n in range(SESSIONS):
                    session = client.create_session()
                    sid = str(session.id)
                    job_store().create(sid, user=USER, folder="")
                    blocking_import.delay(USER, sid, str(folder / "held" / f"s{n}"))
                    held.append(sid)
                began_held = time.monotonic()
                time.sleep(window)
                served_held = len(polled(emulator, held, since=began_held))
                picked_held = pick_all(emulator, held, item_ids, spread, seed=1)
                theirs = latencies(held, picked_held)

        share = busy / took
        _common.figure(
            f"sessions polled in a {took:.1f} s window of {SESSIONS} waiting",
            served,
            served_held,
            "sessions",
            ours_label="recipe",
            theirs_label="a task that waits inside",
            target=f"all {SESSIONS}",
            met="met" if served == SESSIONS else "MISSED",
            precision=0,
        )
        _common.figure(
            "worker busy share in that window",
            share * 100,
            100.0,
            "%",
            ours_label=f"recipe ({tasks} tasks, {busy:.2f} s busy)",
            theirs_label="a task that waits inside (held throughout)",
            target="< 100 %",
            met=_common.verdict(share, None, 0.999),
            precision=1,
        )
        bound = POLL_INTERVAL + LATENCY_MARGIN
        for label, pick in (("median", statistics.median), ("max", max)):
            _common.figure(
                f"pick to imported, {label} over {SESSIONS} sessions",
                pick(ours),
                pick(theirs),
                "s",
                ours_label="recipe",
                theirs_label="a task that waits inside",
                target=f"<= {bound:g} s" if label == "max" else "",
                met=_common.verdict(max(ours), None, bound) if label == "max" else "",
                precision=2,
            )
        met = served == SESSIONS and share < 0.999 and max(ours) <= bound
        print(
            f"holds no worker while waiting (one process, {SESSIONS} sessions): "
            f"{'met' if met else 'MISSED'}",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=float, default=5.0, help="seconds of pure waiting")
    parser.add_argument("--spread", type=float, default=10.0, help="seconds the picks span")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-celery-") as folder:
        run(args.window, args.spread, Path(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
