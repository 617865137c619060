"""Each import's status, in Redis beside the broker, for the web app to show and the tasks to
check: one hash per picking session, ``picker:job:<session id>``.

Fields (all strings): ``user``, ``folder``, ``status``, ``created``/``updated``/``finished``
(Unix times), ``polls``, ``reason``, ``attempt``, ``downloaded``, ``already_present``,
``skipped``, ``failed``, ``error``. ``status`` goes

    waiting -> importing [-> retrying -> importing ...] -> done | failed
    waiting -> ended     (the person did not pick in time: ``reason`` says which limit)
    waiting -> failed    (the session could not be polled: ``error`` says why)

A job whose status is not final names a session that still exists: the place to look for
sessions to delete if the whole system stops. Jobs expire from Redis a week after their last
change (a session lives about a week).

A real app keeps this in its own database; only :class:`Jobs`' few methods are used.
"""

from __future__ import annotations

import time
from typing import Any

import redis

FINAL = frozenset({"done", "ended", "failed"})
TTL = 7 * 24 * 3600


class Jobs:
    """The job hashes in the Redis at ``url``."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url, decode_responses=True)

    @staticmethod
    def key(session_id: str) -> str:
        return f"picker:job:{session_id}"

    def create(self, session_id: str, *, user: str, folder: str) -> None:
        now = repr(time.time())
        self._set(
            session_id,
            {"user": user, "folder": folder, "status": "waiting", "polls": "0", "created": now},
        )

    def get(self, session_id: str) -> dict[str, str]:
        """The job's fields, or an empty dict for a session no job names."""
        found: dict[str, str] = self._redis.hgetall(self.key(session_id))  # type: ignore[assignment]
        return found

    def update(self, session_id: str, **fields: Any) -> None:
        self._set(session_id, {name: str(value) for name, value in fields.items()})

    def finish(self, session_id: str, status: str, **fields: Any) -> None:
        if status not in FINAL:
            raise ValueError(f"{status!r} is not a final status ({', '.join(sorted(FINAL))})")
        self.update(session_id, status=status, finished=repr(time.time()), **fields)

    def lock(self, session_id: str, owner: str, seconds: int) -> bool:
        """Take the session's import lock for ``owner`` (a task id), or find it already ours.

        A redelivered or retried task keeps its id, so it gets the lock back; a second copy
        of the task (another id) does not, and leaves the import to the first.
        """
        key = f"picker:import-lock:{session_id}"
        if self._redis.set(key, owner, nx=True, ex=seconds):
            return True
        return bool(self._redis.get(key) == owner)

    def unlock(self, session_id: str) -> None:
        self._redis.delete(f"picker:import-lock:{session_id}")

    def _set(self, session_id: str, fields: dict[str, str]) -> None:
        key = self.key(session_id)
        fields = {**fields, "updated": repr(time.time())}
        pipe = self._redis.pipeline()
        pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
        pipe.expire(key, TTL)
        pipe.execute()
