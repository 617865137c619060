"""Durability in groups: one fsync shared by every writer that asked for it (group commit).

Each finished item needs its manifest line, then its name in the folder, made durable, in that
order. With several workers each syncing on its own, the manifest and the folder were fsynced
once per item, the manifest while a lock was held, so workers queued behind each other's
disk flushes. A :class:`GroupSync` lets a worker ask for "everything written before now is on
disk": if a flush is already running, the worker waits for the next one, which then covers every
worker that asked meanwhile; no lock is held while the flush runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["GroupSync"]


class GroupSync:
    """Runs ``flush`` so that each :meth:`sync` returns only after a flush that started after
    the call began has completed (so it covers whatever the caller wrote before calling).

    Callers that arrive while a flush runs share the next one. A flush that raises raises in
    the caller that ran it; callers waiting on it run another.
    """

    def __init__(self, flush: Callable[[], None]) -> None:
        self._flush = flush
        self._cond = threading.Condition(threading.Lock())
        self._asked = 0  # tickets handed out
        self._covered = 0  # every ticket up to this one is covered by a completed flush
        self._running = False
        self.flushes = 0  # how many flushes ran (for tests and curiosity)

    def sync(self) -> None:
        with self._cond:
            self._asked += 1
            ticket = self._asked
            while self._covered < ticket:
                if self._running:
                    self._cond.wait()
                    continue
                self._running = True
                upto = self._asked  # every ticket so far was asked before this flush starts
                self._cond.release()
                try:
                    self._flush()
                except BaseException:
                    self._cond.acquire()
                    self._running = False
                    self._cond.notify_all()
                    raise
                self._cond.acquire()
                self._running = False
                self._covered = max(self._covered, upto)
                self.flushes += 1
                self._cond.notify_all()
