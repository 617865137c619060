"""A throw-away Redis and Celery worker on this machine: for the tests, the benchmark and
trying the recipe out. Production runs its own Redis and ``celery worker`` under a supervisor.

::

    with redis_server(tmp) as url, worker(url, tmp, env={...}) as running:
        ...            # running.pid, running.log

``redis_server`` runs Debian's ``redis-server`` (``apt-get install redis-server``) on a free
loopback port, in a temporary folder, with persistence off. ``worker`` runs
``celery -A picker_tasks.app worker`` in a child process (a prefork pool of one by default)
and returns once the worker says it is ready; leaving the block stops it with a warm
shutdown (SIGTERM), then SIGKILL if it does not stop in time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import redis

HERE = Path(__file__).resolve().parent.parent  # examples/celery: where picker_tasks lives


class LocalServiceError(RuntimeError):
    """Redis or the worker did not start; the message holds the end of its log."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _stop(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; then anything left in its process
    group (a pool process whose parent was killed)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def redis_server(folder: Path, *, timeout: float = 20.0) -> Iterator[str]:
    """A ``redis-server`` on a free 127.0.0.1 port for the block; yields its URL."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise LocalServiceError(
            "redis-server is not installed: apt-get install redis-server (.ci/run does)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "redis.log"
    for _ in range(5):  # a port found free may be taken before redis binds it: try another
        port = _free_port()
        command = [
            executable,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", str(folder),
            "--save", "",
            "--appendonly", "no",
            "--protected-mode", "yes",
            "--logfile", str(log),
        ]  # fmt: skip
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, start_new_session=True, cwd=folder
        )
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + timeout
        try:
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    if client.ping():
                        break
                except redis.ConnectionError:
                    time.sleep(0.05)
            else:
                if process.poll() is not None and "Address already in use" in _tail(log):
                    continue
                raise LocalServiceError(f"redis-server did not start:\n{_tail(log)}")
            try:
                yield url
            finally:
                client.close()
            return
        finally:
            _stop(process, 10.0)
    raise LocalServiceError(f"redis-server found no free port:\n{_tail(log)}")


@dataclass
class Worker:
    """A running worker: its main process, its log and what it was started with."""

    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def pool_pids(self) -> list[int]:
        """The worker's pool processes (the children of its main process), on Linux."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except (OSError, ValueError):
            return []

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def worker(
    broker_url: str,
    folder: Path,
    *,
    env: Mapping[str, str] | None = None,
    concurrency: int = 1,
    pool: str = "prefork",
    app: str = "picker_tasks.app",
    name: str = "picker",
    timeout: float = 60.0,
) -> Iterator[Worker]:
    """``celery -A app worker`` on ``broker_url`` for the block, once it is ready.

    ``env`` is added to this process's environment; ``PYTHONPATH`` gets ``examples/celery``
    first, so ``picker_tasks`` imports however the caller was started.
    """
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"worker-{name}.log"
    environment = {**os.environ, **(env or {}), "PICKER_CELERY_BROKER_URL": broker_url}
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(HERE), *filter(None, [environment.get("PYTHONPATH")])]
    )
    command = [
        sys.executable, "-m", "celery", "-A", app, "worker",
        "--concurrency", str(concurrency),
        "--pool", pool,
        "--hostname", f"{name}@%h",
        "--loglevel", "INFO",
        "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=folder,
            start_new_session=True,
        )
    running = Worker(process, log)
    try:
        deadline = time.monotonic() + timeout
        while " ready." not in running.log_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise LocalServiceError(
                    f"the Celery worker did not start (exit {process.poll()}):\n{_tail(log)}"
                )
            time.sleep(0.1)
        yield running
    finally:
        _stop(process, 30.0)
