"""One item's bytes over httpx on the event loop, into the same part file, manifest and final
name as the synchronous downloader.

Every decision (what an answer means, resuming with ``Range``, a short ``206`` continued, a
changed file restarted, a renewed baseUrl after ``401``/``403``, retries, the typed errors)
is :class:`~picker_discovery._media.resume.TransferState`'s, and the finished file is placed
by :func:`~picker_discovery._media.finish.place_finished`, exactly as for
:class:`~picker_discovery.Downloader`. Only sending differs: each hop (the baseUrl and every
redirect, followed by hand) is checked against the media host allowlist before the token is
attached to it, and the body streams chunk by chunk into the part file (memory does not grow
with the file). Cancelling the task stops at once: the answer is closed, the part file
removed, and nothing is left under a final name; no thread is involved.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import httpx
from google.auth.exceptions import RefreshError

from picker_discovery._clock import Clock, asleep
from picker_discovery._media.finish import discard, place_finished
from picker_discovery._media.hosts import HostAllowlist
from picker_discovery._media.items import ListedItem
from picker_discovery._media.resume import MAX_REDIRECTS, REDIRECT_STATUS, TransferState, _Retryable
from picker_discovery._media.run import _Job
from picker_discovery._secrets import credential_secrets, install_log_filter, scrub
from picker_discovery.errors import MediaError, MediaHttpError

if TYPE_CHECKING:
    from picker_discovery._aio._send import Sender
    from picker_discovery._media.folder import _Folder
    from picker_discovery._media.pool import Downloader
    from picker_discovery._media.results import Downloaded

__all__ = ["fetch", "open_allowed"]

_log = logging.getLogger("picker_discovery._media.transfer")
install_log_filter()

Renew = Callable[[ListedItem, bool], Awaitable[ListedItem]]
"""Renews an item's listing (``True``: its baseUrl was just refused)."""
Report = Callable[[int, "int | None"], None]
"""Reports the bytes in the file so far and the total, when known."""


@contextlib.asynccontextmanager
async def open_allowed(
    sender: Sender,
    url: str,
    allowlist: HostAllowlist,
    *,
    headers: dict[str, str],
    timeout: httpx.Timeout,
    item_id: str | None = None,
    filename: str | None = None,
) -> AsyncIterator[httpx.Response]:
    """GET ``url`` as a stream, following redirects by hand so every hop is checked first;
    the token is attached only to hops the allowlist allows (one refresh and resend after a
    ``401``, as google-auth's ``AuthorizedSession`` does). The answer is closed on leaving.

    Raises:
        UntrustedMediaHost: a URL or redirect off the allowlist; nothing was sent there.
        MediaHttpError: more than a handful of redirects.
    """
    http = sender.http
    refreshed = False
    hops = 0
    while True:
        allowlist.check(url, item_id=item_id, filename=filename)
        sent = dict(headers)
        await sender.authorize("GET", url, sent)
        request = http.build_request("GET", url, headers=sent, timeout=timeout)
        response = await http.send(request, stream=True, follow_redirects=False)
        try:
            status, location = response.status_code, response.headers.get("Location")
            if status == 401 and not refreshed and await sender.refresh_after_401():
                refreshed = True
                continue
            if status not in REDIRECT_STATUS or not location:
                yield response
                return
            hops += 1
            if hops > MAX_REDIRECTS:
                raise MediaHttpError(
                    f"item {item_id!r} ({filename}): more than {MAX_REDIRECTS} redirects",
                    code=310,
                    item_id=item_id,
                    filename=filename,
                )
            url = urljoin(url, location)
        finally:
            await response.aclose()


class _AsyncTransfer:
    """Fetches one item's bytes until the part file is complete (see the module)."""

    def __init__(
        self,
        settings: Downloader,
        sender: Sender,
        clock: Clock,
        job: _Job,
        state: TransferState,
        renew: Renew,
        report: Report,
    ) -> None:
        self.settings, self.sender, self.clock, self.job = settings, sender, clock, job
        self.state, self.renew, self.report = state, renew, report
        connect, read = settings.timeout
        self.timeout = httpx.Timeout(read, connect=connect)

    async def run(self) -> str:
        """Fetch until complete; return the Content-Type."""
        job, state = self.job, self.state
        while True:
            if state.stale(self.clock.monotonic(), self.settings.url_lifetime):
                state.renewed(await self.renew(state.listed, False))
            state.attempt += 1
            try:
                if await self._request():
                    return state.content_type or "application/octet-stream"
                state.attempt -= 1  # a renewal or a continuation is not a failed attempt
            except (_Retryable, httpx.TransportError) as exc:
                await asleep(self.clock, state.failed(exc))
            except RefreshError as exc:
                credentials = self.sender.credentials
                scrub(exc, credential_secrets(credentials) if credentials is not None else ())
                raise MediaError(
                    f"item {job.item_id!r} ({job.filename}): the access token could not be "
                    f"refreshed ({exc}); sign in again",
                    item_id=job.item_id,
                    filename=job.filename,
                ) from exc

    async def _request(self) -> bool:
        """One request; True when the file is complete, False to ask again at once."""
        job, state = self.job, self.state
        async with open_allowed(
            self.sender,
            state.url(),
            self.settings.allowlist,
            headers=state.headers(),
            timeout=self.timeout,
            item_id=job.item_id,
            filename=job.filename,
        ) as response:
            step = state.answer(response.status_code, response.headers, response.reason_phrase)
            if step == "renew":
                state.renewed(await self.renew(state.listed, True))
                return False
            if step == "done":
                return True
            async for chunk in response.aiter_bytes(self.settings.chunk_size):
                state.write(chunk)
                self.report(state.offset, state.total)
            return state.body_ended()


async def fetch(
    settings: Downloader,
    sender: Sender,
    clock: Clock,
    folder: _Folder,
    job: _Job,
    listed: ListedItem,
    *,
    can_renew: bool,
    renew: Renew,
    report: Report,
) -> Downloaded:
    """Transfer the item into a part file, record it in the manifest, and place it under a
    free name; on any failure or cancellation the part file is removed."""
    part, out = folder.open_part(job.stem)
    try:
        with out:
            state = TransferState(job, listed, out, settings.retry, can_renew=can_renew)
            transfer = _AsyncTransfer(settings, sender, clock, job, state, renew, report)
            content_type = await transfer.run()
            return place_finished(folder, job, part, out, content_type)
    except BaseException:
        discard(folder, part)
        raise
