"""A session's (or one item's) downloads on the event loop: the items listed page by page as
downloads proceed, at most ``workers`` transfers at once (tasks, no threads), each item
planned, skipped, waited for and reported by the synchronous downloader's rules
(:mod:`picker_discovery._media.jobs`), its bytes fetched by :mod:`._transfer`.

Cancelling the task that awaits a run cancels every transfer in it and waits for them to
remove their part files before the cancellation goes on; ``fail_fast`` cancels the others
after the first failure and reports them skipped, as the synchronous downloader does.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from picker_discovery._aio._transfer import fetch
from picker_discovery._clock import Clock, asleep
from picker_discovery._media.folder import _Folder
from picker_discovery._media.items import ItemLike, ListedItem, Size, _id_of, _listed, _url
from picker_discovery._media.jobs import (
    already_present,
    cancelled,
    duplicate,
    plan_job,
    readiness,
)
from picker_discovery._media.listing import Unparsed, _Listings
from picker_discovery._media.results import (
    Downloaded,
    DownloadResult,
    Failed,
    Progress,
    Skipped,
)
from picker_discovery._media.run import _Job
from picker_discovery.errors import BadArgument, MalformedResponse, MediaError

if TYPE_CHECKING:
    from picker_discovery._aio._send import Sender
    from picker_discovery._media.pool import Downloader

__all__ = ["AsyncRefresher", "download_all"]

_log = logging.getLogger("picker_discovery._media.pool")

Relist = Callable[[], Awaitable[Iterable[ItemLike | Unparsed]]]
Outcome = Downloaded | Skipped | Failed


class AsyncRefresher(_Listings):
    """Renews baseUrls by re-listing the session through the event loop; one re-listing
    serves every item it returns (the synchronous ``_Refresher``'s rules)."""

    def __init__(self, relist: Relist | None, clock: Clock) -> None:
        super().__init__(relist is not None)
        self._relist = relist
        self._clock = clock
        self._lock = asyncio.Lock()

    async def renew(
        self, item_id: str, filename: str | None, listed: ListedItem, *, expired: bool = False
    ) -> ListedItem:
        """The item from a newer listing (``expired``: its baseUrl was just refused).

        Raises:
            MediaUrlExpired: no way to re-list, re-listing failed, or the item is gone.
        """
        if self._relist is None:
            raise self.no_relist(item_id, filename)
        stale = _url(listed.item) if expired else None
        try:
            async with self._lock:
                hit, fresh = self.cached(item_id, listed.listed_at, stale)
                if not hit:
                    stamp = self._clock.monotonic()
                    self.store(await self._relist(), stamp)
                    fresh = self.item(item_id)
        except Exception as exc:
            raise self.relist_failed(item_id, filename, exc) from exc
        if fresh is None:
            raise self.gone(item_id, filename)
        return fresh


class _AsyncRun:
    """One run: its folder, settings, listing and progress."""

    def __init__(
        self,
        settings: Downloader,
        sender: Sender,
        clock: Clock,
        folder: _Folder,
        refresher: AsyncRefresher,
        size: Size | None,
        not_ready: Literal["skip", "wait", "fail"],
    ) -> None:
        self.settings, self.sender, self.clock, self.folder = settings, sender, clock, folder
        self.refresher, self.size, self.not_ready = refresher, size, not_ready
        self.items_done = 0
        self.items_total: int | None = None

    def report(self, job: _Job, done: int, total: int | None, finished: bool = False) -> None:
        if finished:
            self.items_done += 1
        progress = self.settings._progress
        if progress is not None:
            progress(
                Progress(job.item_id, job.filename, done, total, self.items_done, self.items_total)
            )

    async def job(self, job: _Job) -> Outcome:
        """The item's outcome (a failure is reported, not raised; a cancellation is raised)."""
        outcome: Outcome
        try:
            outcome = await self._job(job)
        except Exception as exc:
            outcome = Failed(job.item_id, job.filename, str(exc), exc)
        size = outcome.size if isinstance(outcome, Downloaded) else 0
        try:
            self.report(job, size, size, finished=True)
        except Exception as exc:  # the callback failed on the last report: the item still did
            _log.debug("progress callback failed for item %s: %r", job.item_id, exc)
        return outcome

    async def _job(self, job: _Job) -> Downloaded | Skipped:
        present = already_present(self.folder, job)
        if present is not None:
            return present
        listed, settings, refresher = job.listed, self.settings, self.refresher
        waited_since = self.clock.monotonic()
        while True:
            ready = readiness(
                job,
                listed,
                self.size,
                self.not_ready,
                can_wait=refresher.available,
                waited=self.clock.monotonic() - waited_since,
                wait_timeout=settings.wait_timeout,
            )
            if isinstance(ready, Skipped):
                return ready
            if ready == "ready":
                break
            await asleep(self.clock, settings.wait_interval)
            listed = await refresher.renew(job.item_id, job.filename, listed)

        async def renew(stale: ListedItem, expired: bool) -> ListedItem:
            return await refresher.renew(job.item_id, job.filename, stale, expired=expired)

        return await fetch(
            settings,
            self.sender,
            self.clock,
            self.folder,
            job,
            listed,
            can_renew=refresher.available,
            renew=renew,
            report=lambda done, total: self.report(job, done, total),
        )


async def download_all(
    settings: Downloader,
    sender: Sender,
    clock: Clock,
    entries: AsyncIterator[ItemLike | Unparsed],
    folder: str | os.PathLike[str],
    *,
    relist: Relist | None,
    size: Size | None,
    not_ready: Literal["skip", "wait", "fail"],
    fail_fast: bool,
    items_total: int | None = None,
) -> DownloadResult:
    """Download the ``entries`` (consumed only as transfers free up) into ``folder``, at most
    ``settings.workers`` at once; see :meth:`~picker_discovery.Downloader.download_items`."""
    if not_ready not in ("skip", "wait", "fail"):
        raise BadArgument(f"not_ready must be 'skip', 'wait' or 'fail', not {not_ready!r}")
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    run = _AsyncRun(
        settings, sender, clock, _Folder(path), AsyncRefresher(relist, clock), size, not_ready
    )
    run.items_total = items_total
    outcomes: list[tuple[int, Outcome]] = []
    result = DownloadResult()
    pending: dict[asyncio.Task[Outcome], _Job] = {}
    seen: set[tuple[str, str]] = set()
    index, exhausted, stopping = 0, False, False

    def finish(index: int, outcome: Outcome) -> None:
        nonlocal stopping
        outcomes.append((index, outcome))
        stopping = stopping or (fail_fast and isinstance(outcome, Failed))

    try:
        while True:
            while not exhausted and not stopping and len(pending) < settings.workers:
                try:
                    stamp = clock.monotonic()
                    entry = await anext(entries)
                except StopAsyncIteration:
                    exhausted, run.items_total = True, index
                    break
                except Exception as exc:  # the listing failed: finish what we have
                    result.listing_error, exhausted = exc, True
                    break
                index += 1
                if isinstance(entry, Unparsed):
                    finish(index, Failed(entry.item_id, None, str(entry.error), entry.error))
                    continue
                try:
                    job = plan_job(index, _listed(entry, stamp), run.folder, size)
                except (MediaError, MalformedResponse, TypeError) as exc:
                    finish(index, Failed(_id_of(entry), None, str(exc), exc))
                    continue
                if (job.item_id, job.variant) in seen:
                    finish(index, duplicate(job))
                    continue
                seen.add((job.item_id, job.variant))
                pending[asyncio.create_task(run.job(job))] = job
            if stopping:
                for task in pending:
                    task.cancel()
            if not pending:
                break
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                job = pending.pop(task)
                finish(job.index, cancelled(job) if task.cancelled() else task.result())
    except BaseException:
        # Cancelled (or failed) while transfers run: stop them, and let each remove its part
        # file, before the cancellation goes on.
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        raise
    finally:
        run.folder.close()
        close = getattr(entries, "aclose", None)
        if close is not None:
            await close()
    for _, outcome in sorted(outcomes, key=lambda pair: pair[0]):
        if isinstance(outcome, Downloaded):
            result.downloaded.append(outcome)
        elif isinstance(outcome, Skipped):
            result.skipped.append(outcome)
        else:
            result.failed.append(outcome)
    return result
