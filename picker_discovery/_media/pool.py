"""The :class:`Downloader`: a session listed page by page as its items download, several at
once on a pool of worker threads, each item planned, fetched and reported.

What a download guarantees (suffixes, the allowlist, atomic files, the manifest, retries) is
told once for the whole downloader, in :mod:`picker_discovery._media`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import requests

from picker_discovery import _checks
from picker_discovery._media.folder import (
    MANIFEST_NAME,
    _Folder,
)
from picker_discovery._media.hosts import DEFAULT_ALLOWED_HOSTS, HostAllowlist
from picker_discovery._media.items import (
    MAX_DIMENSION,
    ItemLike,
    ListedItem,
    Size,
    _id_of,
    _listed,
    media_suffix,
)
from picker_discovery._media.jobs import (
    already_present,
    cancelled,
    duplicate,
    plan_job,
    readiness,
)
from picker_discovery._media.listing import (
    ListPage,
    Unparsed,
    _Refresher,
    iter_entries,
    iter_listed,
)
from picker_discovery._media.names import (
    extension_for,
    safe_stem,
)
from picker_discovery._media.results import (
    Downloaded,
    DownloadResult,
    Failed,
    Progress,
    ProgressCallback,
    Skipped,
    SkipReason,
)
from picker_discovery._media.run import _Cancelled, _Job, _make_cuttable, _Run, _worker
from picker_discovery._media.transfer import authorized_sessions, fetch, open_allowed
from picker_discovery._retry import RetryPolicy
from picker_discovery.errors import (
    BadArgument,
    MalformedResponse,
    MediaError,
)

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

__all__ = [
    "DEFAULT_ALLOWED_HOSTS",
    "DEFAULT_WORKERS",
    "MANIFEST_NAME",
    "MAX_DIMENSION",
    "DownloadResult",
    "Downloaded",
    "Downloader",
    "Failed",
    "HostAllowlist",
    "ItemLike",
    "ListPage",
    "ListedItem",
    "Progress",
    "ProgressCallback",
    "Size",
    "SkipReason",
    "Skipped",
    "authorized_sessions",
    "extension_for",
    "iter_listed",
    "media_suffix",
    "open_allowed",
    "safe_stem",
]

_log = logging.getLogger(__name__)

DEFAULT_WORKERS = _checks.DEFAULT_WORKERS
"""The items a :class:`Downloader` fetches at once unless told otherwise (16; the command
line's ``--workers`` has the same default)."""


class Downloader:
    """Downloads picked items' bytes; :mod:`picker_discovery._media` tells what it guarantees.

    Args:
        credentials: google-auth credentials holding the photospicker scope; each worker gets
            an ``AuthorizedSession`` on them, which sends media GETs straight on its connection
            pool rather than through ``requests.Session.request`` (the same request and
            connections for a fraction of the CPU; see :mod:`picker_discovery._media.direct`).
            Or pass ``session_factory`` instead.
        session_factory: makes a ``requests.Session`` that attaches the token (one per worker
            thread), e.g. ``lambda: AuthorizedSession(creds)``.
        allowed_hosts: a :class:`HostAllowlist` or its entries; only these receive the token.
        workers: how many items download at once (a bounded thread pool), 1 to 64; 16 by
            default. An item's time on a real network is mostly waiting (for the first byte,
            for the disk), so more transfers at once than cores pays: with 20 ms per request,
            4 workers were 3x a serial loop and 16 about 5x (bench/downloads.py). Without
            latency the count hardly matters (on two cores the CPU per MiB measured about the
            same at 4, 8 and 16 workers), so the default is chosen for latency. Each
            worker has its own session, so its own connection pool holding one kept-alive
            connection: the pool matches the workers by construction.
        retry: the :class:`~picker_discovery.RetryPolicy` for bytes (the default one:
            5 attempts, backoff from 1 s, ``Retry-After`` honoured, 30 s after a 429).
        progress: called with a :class:`Progress` after each chunk and each finished item,
            from worker threads but never two calls at once. An exception it raises fails the
            item being downloaded.
        url_lifetime: seconds after listing when a baseUrl is treated as expired and renewed
            before use (Google documents 60 minutes). An item's listing time is its
            :class:`ListedItem` stamp (:func:`iter_listed` and :meth:`download_session`
            stamp each page); a plain dict counts from when it was taken from ``items``, which
            can be later than its page was fetched, so a 401/403 still renews it.
        wait_interval, wait_timeout: with ``not_ready="wait"``, how often to re-list the
            session and how long to wait in all for a video to become READY.
        chunk_size: bytes read and written at a time: the size of the buffer each worker
            thread reads every body into, reused from answer to answer (128 KiB: 2 MiB for 16
            workers). A body that ends early keeps every byte that came; a connection that
            breaks mid-read (reset, read timeout) loses at most this much, fetched again on
            the resume. Larger is not faster: with 16 workers, 1 MiB buffers cost more CPU
            per MiB than 64-256 KiB ones (bench/downloads.py), as the bytes no longer stay in
            the processor's cache between the socket read and the file write.
        timeout: ``(connect, read)`` seconds for each request. A run that stops (Ctrl-C, or
            ``fail_fast`` after a failure) does not wait for them: it cuts off the answers its
            workers are waiting for or reading (with ``requests``' own connection pools).
        clock, sleep: a monotonic clock and a sleep (for retry backoff and waiting for
            videos), injectable for tests. With the default sleep, waits end early when the
            run stops (Ctrl-C, or ``fail_fast`` after a failure).
    """

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        session_factory: Callable[[], requests.Session] | None = None,
        allowed_hosts: HostAllowlist | Iterable[str] = DEFAULT_ALLOWED_HOSTS,
        workers: int = DEFAULT_WORKERS,
        retry: RetryPolicy | None = None,
        progress: ProgressCallback | None = None,
        url_lifetime: float = 55 * 60,
        wait_interval: float = 10.0,
        wait_timeout: float = 600.0,
        chunk_size: int = 1 << 17,
        timeout: tuple[float, float] = (10.0, 60.0),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        session_factory = authorized_sessions(credentials, session_factory)
        workers = _checks.check_workers(workers)
        if not url_lifetime > 0:
            raise BadArgument(f"url_lifetime must be positive seconds, not {url_lifetime!r}")
        if chunk_size < 1:
            raise BadArgument(f"chunk_size must be positive, not {chunk_size!r}")
        self._session_factory = session_factory
        self.allowlist = HostAllowlist.of(allowed_hosts)
        self.workers = workers
        self.retry = retry if retry is not None else RetryPolicy()
        self._progress = progress
        self.url_lifetime = url_lifetime
        self.wait_interval = wait_interval
        self.wait_timeout = wait_timeout
        self.chunk_size = chunk_size
        self.timeout = timeout
        self._clock = clock
        self._sleep = sleep
        self._progress_lock = threading.Lock()

    # -- public entry points ----------------------------------------------------------------

    def download_session(
        self,
        session_id: str,
        folder: str | os.PathLike[str],
        list_page: ListPage,
        *,
        size: Size | None = None,
        not_ready: Literal["skip", "wait", "fail"] = "skip",
        fail_fast: bool = False,
        stop: threading.Event | None = None,
    ) -> DownloadResult:
        """Download every item of a session, listing it page by page as downloads proceed.

        ``list_page(session_id, page_token)`` makes one ``mediaItems.list`` call; it is also
        used to re-list the session when a baseUrl has expired. Calls to it are never
        concurrent, so it may share a (thread-unsafe) googleapiclient service. Setting
        ``stop`` (from any thread) stops the run as a ``fail_fast`` failure does: items in
        progress are cut off and reported as skipped, no part file is left under a final name.
        """

        def relist() -> Iterator[ListedItem | Unparsed]:
            return iter_entries(session_id, list_page, clock=self._clock)

        return self._download(
            relist(),
            folder,
            relist=relist,
            size=size,
            not_ready=not_ready,
            fail_fast=fail_fast,
            stop=stop,
        )

    def download(
        self,
        item: ItemLike,
        folder: str | os.PathLike[str],
        *,
        relist: Callable[[], Iterable[ItemLike]] | None = None,
        size: Size | None = None,
        not_ready: Literal["skip", "wait", "fail"] = "fail",
        stop: threading.Event | None = None,
    ) -> Downloaded | Skipped:
        """Download one item; raise its :class:`~picker_discovery.errors.MediaError` on failure.

        Returns a :class:`Skipped` when it was already downloaded, or (with ``not_ready``
        ``"skip"``) a video is not ready or failed processing.
        """
        result = self._download(
            [item], folder, relist=relist, size=size, not_ready=not_ready, fail_fast=True, stop=stop
        )
        result.raise_for_failures()
        return result.downloaded[0] if result.downloaded else result.skipped[0]

    def download_items(
        self,
        items: Iterable[ItemLike],
        folder: str | os.PathLike[str],
        *,
        relist: Callable[[], Iterable[ItemLike]] | None = None,
        size: Size | None = None,
        not_ready: Literal["skip", "wait", "fail"] = "skip",
        fail_fast: bool = False,
    ) -> DownloadResult:
        """Download ``items`` into ``folder`` (created if needed), ``workers`` at a time.

        ``items`` is consumed lazily, only as workers free up. ``relist()`` returns the
        session's items afresh; it renews expired baseUrls (without it, an expired URL fails
        its item). ``not_ready`` says what to do with a video still processing: ``"skip"`` it
        (reported in ``skipped``), ``"wait"`` for it (re-listing every ``wait_interval`` up to
        ``wait_timeout``; a waiting video holds its worker), or ``"fail"`` it. With
        ``fail_fast`` the first failure stops the run: items in progress are cancelled
        (reported as skipped) and no more are started.

        Calls to ``items`` and ``relist`` are serialised by one lock, never concurrent.
        """
        return self._download(
            items, folder, relist=relist, size=size, not_ready=not_ready, fail_fast=fail_fast
        )

    def _download(
        self,
        items: Iterable[ItemLike | Unparsed],
        folder: str | os.PathLike[str],
        *,
        relist: Callable[[], Iterable[ItemLike | Unparsed]] | None,
        size: Size | None,
        not_ready: Literal["skip", "wait", "fail"],
        fail_fast: bool,
        stop: threading.Event | None = None,
    ) -> DownloadResult:
        """:meth:`download_items`, where a listing may also yield entries it could not parse."""
        if not_ready not in ("skip", "wait", "fail"):
            raise BadArgument(f"not_ready must be 'skip', 'wait' or 'fail', not {not_ready!r}")
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        list_lock = threading.Lock()
        run = _Run(
            folder=_Folder(path),
            refresher=_Refresher(relist, list_lock, self._clock),
            size=size,
            not_ready=not_ready,
            stop=stop if stop is not None else threading.Event(),
        )
        if isinstance(items, list | tuple):
            run.items_total = len(items)
        result = DownloadResult()
        outcomes: list[tuple[int, Downloaded | Skipped | Failed]] = []
        seen: set[tuple[str, str]] = set()
        sessions: list[requests.Session] = []
        local = threading.local()
        sessions_lock = threading.Lock()

        def session() -> requests.Session:
            current: requests.Session | None = getattr(local, "session", None)
            if current is None:
                current = self._session_factory()
                _make_cuttable(current)
                local.session = current
                with sessions_lock:
                    sessions.append(current)
            return current

        def finish(index: int, outcome: Downloaded | Skipped | Failed) -> None:
            outcomes.append((index, outcome))
            if isinstance(outcome, Failed) and fail_fast:
                run.cancel()

        source = iter(items)
        index = 0
        pending: set[Future[Downloaded | Skipped | Failed]] = set()
        futures: dict[Future[Downloaded | Skipped | Failed], int] = {}
        exhausted = False
        try:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="picker-media") as pool:
                try:
                    while True:
                        while (
                            not exhausted and not run.stop.is_set() and len(pending) < self.workers
                        ):
                            try:
                                with list_lock:
                                    stamp = self._clock()
                                    entry = next(source)
                            except StopIteration:
                                exhausted = True
                                run.items_total = index
                                break
                            except Exception as exc:  # the listing failed: finish what we have
                                result.listing_error = exc
                                exhausted = True
                                break
                            index += 1
                            if isinstance(entry, Unparsed):
                                finish(
                                    index,
                                    Failed(entry.item_id, None, str(entry.error), entry.error),
                                )
                                continue
                            try:
                                job = plan_job(index, _listed(entry, stamp), run.folder, run.size)
                            except (MediaError, MalformedResponse, TypeError) as exc:
                                finish(index, Failed(_id_of(entry), None, str(exc), exc))
                                continue
                            if (job.item_id, job.variant) in seen:
                                finish(index, duplicate(job))
                                continue
                            seen.add((job.item_id, job.variant))
                            future = pool.submit(self._run_job, job, run, session)
                            pending.add(future)
                            futures[future] = index
                        if not pending:
                            break
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in done:
                            finish(futures.pop(future), future.result())
                except BaseException:
                    # Ctrl-C (or a signal's exception): stop the workers, waking any blocked
                    # on a stalled read, before the pool waits for them.
                    run.cancel()
                    raise
        finally:
            run.folder.close()
            for opened in sessions:
                opened.close()
        for _, outcome in sorted(outcomes, key=lambda pair: pair[0]):
            if isinstance(outcome, Downloaded):
                result.downloaded.append(outcome)
            elif isinstance(outcome, Skipped):
                result.skipped.append(outcome)
            else:
                result.failed.append(outcome)
        return result

    # -- one item ---------------------------------------------------------------------------

    def _report(
        self, run: _Run, job: _Job, done: int, total: int | None, finished: bool = False
    ) -> None:
        if self._progress is None and not finished:
            return  # nothing to tell: no lock taken for every chunk
        with self._progress_lock:
            if finished:
                run.items_done += 1
            if self._progress is not None:
                self._progress(
                    Progress(
                        job.item_id, job.filename, done, total, run.items_done, run.items_total
                    )
                )

    def _run_job(
        self, job: _Job, run: _Run, session: Callable[[], requests.Session]
    ) -> Downloaded | Skipped | Failed:
        outcome: Downloaded | Skipped | Failed
        _worker.run = run
        try:
            outcome = self._job(job, run, session)
        except _Cancelled:
            outcome = cancelled(job)
        except Exception as exc:
            outcome = Failed(job.item_id, job.filename, str(exc), exc)
        finally:
            _worker.run = None
        size = outcome.size if isinstance(outcome, Downloaded) else 0
        try:
            self._report(run, job, size, size, finished=True)
        except Exception as exc:  # the callback failed on the last report: the item still did
            _log.debug("progress callback failed for item %s: %r", job.item_id, exc)
        return outcome

    def _job(
        self, job: _Job, run: _Run, session: Callable[[], requests.Session]
    ) -> Downloaded | Skipped:
        present = already_present(run.folder, job)
        if present is not None:
            return present
        listed = job.listed
        waited_since = self._clock()
        while True:
            ready = readiness(
                job,
                listed,
                run.size,
                run.not_ready,
                can_wait=run.refresher.available,
                waited=self._clock() - waited_since,
                wait_timeout=self.wait_timeout,
            )
            if isinstance(ready, Skipped):
                return ready
            if ready == "ready":
                break
            self._pause(run, self.wait_interval)
            listed = run.refresher.renew(job.item_id, job.filename, listed)
        return fetch(self, job, run, listed, session)

    def _pause(self, run: _Run, seconds: float) -> None:
        """Sleep; with the real sleep, wake early when the run is stopping (Ctrl-C, fail_fast)."""
        if self._sleep is time.sleep:
            run.stop.wait(seconds)
        else:
            self._sleep(seconds)
        if run.stop.is_set():
            raise _Cancelled()
