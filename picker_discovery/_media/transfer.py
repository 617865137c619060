"""One item's transfer: a request that checks every hop, and the state machine that fetches a
file's bytes until it is complete.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any, Protocol
from urllib.parse import urljoin

import requests
from google.auth.exceptions import RefreshError

from picker_discovery._media.folder import _MAX_CONTENT_TYPE_CHARS, _Entry
from picker_discovery._media.hosts import HostAllowlist
from picker_discovery._media.items import ListedItem, _base_url, _mime_type
from picker_discovery._media.names import extension_for
from picker_discovery._media.results import Downloaded
from picker_discovery._media.run import _Cancelled, _Job, _Run
from picker_discovery._retry import RetryPolicy
from picker_discovery._secrets import credential_secrets, install_log_filter, scrub
from picker_discovery.errors import (
    BadArgument,
    IncompleteDownload,
    MediaError,
    MediaHttpError,
    MediaUrlExpired,
)

if TYPE_CHECKING:
    from google.auth.credentials import Credentials


_log = logging.getLogger(__name__)
install_log_filter()  # google-auth's records of token refreshes never show a token


class _Retryable(Exception):
    """An attempt failed in a way worth another: an error status, or a broken body."""

    def __init__(self, why: str, status: int | None = None, headers: Any = None) -> None:
        super().__init__(why)
        self.status = status
        self.headers = headers


_RETRY_STATUS = {408, 429, 500, 502, 503, 504}
_REDIRECT_STATUS = {301, 302, 303, 307, 308}
_MAX_REDIRECTS = 5
_MAX_URL_RENEWALS = 2
_CONTENT_RANGE = re.compile(r"bytes (\d{1,19})-(\d{1,19})/(\d{1,19}|\*)", re.ASCII)


def authorized_sessions(
    credentials: Credentials | None, session_factory: Callable[[], requests.Session] | None
) -> Callable[[], requests.Session]:
    """A maker of ``requests`` sessions that attach the token: ``session_factory`` itself,
    or google-auth's ``AuthorizedSession`` on ``credentials`` (which refreshes the token).

    Raises:
        ValueError: both or neither were given.
    """
    if (credentials is None) == (session_factory is None):
        raise BadArgument("pass either credentials or a session_factory (exactly one)")
    if session_factory is not None:
        return session_factory

    def make() -> requests.Session:
        from google.auth.transport.requests import AuthorizedSession

        return AuthorizedSession(credentials)

    return make


def open_allowed(
    session: requests.Session,
    url: str,
    allowlist: HostAllowlist,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: tuple[float, float] = (10.0, 60.0),
    item_id: str | None = None,
    filename: str | None = None,
) -> requests.Response:
    """GET ``url`` as a stream, following redirects by hand so every hop is checked first.

    ``session`` attaches the token; no request goes to a URL ``allowlist`` refuses, whether
    given or redirected to (:class:`~picker_discovery.errors.UntrustedMediaHost` instead).
    The caller closes the answer.

    Raises:
        UntrustedMediaHost: a URL or redirect off the allowlist; nothing was sent there.
        MediaHttpError: more than a handful of redirects.
    """
    for _ in range(_MAX_REDIRECTS + 1):
        allowlist.check(url, item_id=item_id, filename=filename)
        response = session.get(
            url, headers=headers, stream=True, allow_redirects=False, timeout=timeout
        )
        location = response.headers.get("Location")
        if response.status_code not in _REDIRECT_STATUS or not location:
            return response
        response.close()
        url = urljoin(url, location)
    raise MediaHttpError(
        f"item {item_id!r} ({filename}): more than {_MAX_REDIRECTS} redirects",
        code=310,
        item_id=item_id,
        filename=filename,
    )


class Downloading(Protocol):
    """What a transfer needs from the :class:`~picker_discovery._media.pool.Downloader` it
    works for: its settings, its progress report and its pause."""

    allowlist: HostAllowlist
    retry: RetryPolicy
    url_lifetime: float
    chunk_size: int
    timeout: tuple[float, float]
    _clock: Callable[[], float]

    def _report(self, run: _Run, job: _Job, done: int, total: int | None) -> None: ...

    def _pause(self, run: _Run, seconds: float) -> None: ...


class _Transfer:
    """One item's bytes into its part file: a small state machine over HTTP answers.

    State: ``offset`` (bytes in the file), ``total`` (the whole file's size, once a server
    said it), whether the server resumes (``resumable``) and its strong ``etag``, and the
    ``attempt`` and ``renewals`` counted against the retry policy. :meth:`run` makes one
    request after another until the file holds exactly ``total`` bytes:

    * ``200``: the whole file; its Content-Length is the total (a resume the server ignored
      starts the file again);
    * ``206``: the range must start where the file ends and lie within the announced total.
      A range shorter than asked is no failure: the next request continues from where it
      ended. A total other than the one announced before means the file changed: start
      again. A ``*`` total is learnt from a later answer, or from the ``416`` past the end;
    * ``401``/``403`` renews the baseUrl; ``408``/``429``/``5xx`` and broken bodies are
      retried as the policy says, resuming where possible; anything else fails the item.
    """

    def __init__(
        self,
        downloader: Downloading,
        job: _Job,
        run: _Run,
        listed: ListedItem,
        session: Callable[[], requests.Session],
        out: IO[bytes],
    ) -> None:
        self.downloader, self.job, self.run_, self.listed = downloader, job, run, listed
        self.session, self.out = session, out
        self.offset = 0
        self.total: int | None = None
        self.content_type: str | None = None
        self.resumable = False  # the server answered 206 or advertised Accept-Ranges: bytes
        self.etag: str | None = None  # a strong validator: a resume may survive a new URL
        self.attempt = 0
        self.renewals = 0

    def run(self) -> tuple[int, str]:
        """Fetch until complete; return (size, Content-Type)."""
        job, run, downloader = self.job, self.run_, self.downloader
        while True:
            if run.stop.is_set():
                raise _Cancelled()
            if (
                run.refresher.available
                and downloader._clock() - self.listed.listed_at >= downloader.url_lifetime
            ):
                _log.debug("item %s: baseUrl listed too long ago, renewing it", job.item_id)
                self._renew()
            self.attempt += 1
            try:
                if self._request():
                    return self.offset, self.content_type or "application/octet-stream"
                self.attempt -= 1  # a renewal or a continuation is not a failed attempt
            except (
                _Retryable,
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                if run.stop.is_set():  # the run cut this answer off to stop: no retry
                    raise _Cancelled() from exc
                self._back_off(exc)
            except RefreshError as exc:
                scrub(exc, credential_secrets(getattr(self.session(), "credentials", None)))
                raise MediaError(
                    f"item {job.item_id!r} ({job.filename}): the access token could not be "
                    f"refreshed ({exc}); sign in again",
                    item_id=job.item_id,
                    filename=job.filename,
                ) from exc
            except (OSError, ValueError) as exc:
                if run.stop.is_set():  # a socket cut off under TLS fails in its own ways
                    raise _Cancelled() from exc
                raise

    def _restart(self) -> None:
        self.out.seek(0)
        self.out.truncate()
        self.offset, self.total, self.content_type, self.resumable, self.etag = (
            0,
            None,
            None,
            False,
            None,
        )

    def _renew(self, expired: bool = False) -> None:
        job = self.job
        fresh = self.run_.refresher.renew(job.item_id, job.filename, self.listed, expired=expired)
        if self.offset and self.etag is None:
            self._restart()  # without If-Range, a new URL's bytes may not continue the old ones
        self.listed = fresh

    def _request(self) -> bool:
        """One request; True when the file is complete, False to ask again at once."""
        job = self.job
        url = _base_url(self.listed.item) + "=" + job.variant
        headers = {"Accept-Encoding": "identity"}
        if self.offset and not self.resumable:
            self._restart()
        if self.offset:
            headers["Range"] = f"bytes={self.offset}-"
            if self.etag:
                headers["If-Range"] = self.etag
        response = open_allowed(
            self.session(),
            url,
            self.downloader.allowlist,
            headers=headers,
            timeout=self.downloader.timeout,
            item_id=job.item_id,
            filename=job.filename,
        )
        try:
            status = response.status_code
            if status in (401, 403):
                self._expired(status)
                return False
            if status in _RETRY_STATUS:
                raise _Retryable(f"HTTP {status}", status, dict(response.headers))
            if status == 416 and self.offset:
                return self._past_the_end(response.headers.get("Content-Range", ""))
            end: int | None
            if status == 206:
                end = self._check_range(response.headers.get("Content-Range", ""))
            elif status == 200:
                if self.offset:
                    self._restart()  # the server ignored the Range (or If-Range failed)
                self.total = _whole_number(response.headers.get("Content-Length", ""))
                end = self.total
            else:
                raise MediaHttpError(
                    f"item {job.item_id!r} ({job.filename}): the media host answered "
                    f"HTTP {status} {response.reason or ''}".rstrip()
                    + "; the item may no longer be available",
                    code=status,
                    item_id=job.item_id,
                    filename=job.filename,
                )
            if self.content_type is None:
                self.content_type = response.headers.get("Content-Type") or _mime_type(
                    self.listed.item
                )
            encoding = response.headers.get("Content-Encoding", "").strip().lower()
            if encoding not in ("", "identity"):
                # Asked for identity; a coded body cannot be checked or resumed by size.
                self.total, self.resumable, end = None, False, None
            elif status == 206 or (
                response.headers.get("Accept-Ranges", "").strip().lower() == "bytes"
            ):
                self.resumable = True
            tag = response.headers.get("ETag")
            self.etag = tag if tag and not tag.startswith("W/") else None
            self._receive(response, end)
            if status == 200 or self.offset == self.total:
                return True
            _log.debug(
                "item %s: the server sent bytes up to %d of %s; asking for the rest",
                job.item_id,
                self.offset,
                self.total if self.total is not None else "an unknown total",
            )
            return False
        finally:
            response.close()

    def _expired(self, status: int) -> None:
        job = self.job
        if not self.run_.refresher.available:
            raise MediaUrlExpired(
                f"item {job.item_id!r} ({job.filename}): the media host answered "
                f"HTTP {status}: the baseUrl has probably expired (or the token "
                "lacks the photospicker scope); pass a relist callable to renew "
                "baseUrls, or list the session again and retry",
                item_id=job.item_id,
                filename=job.filename,
            )
        if self.renewals >= _MAX_URL_RENEWALS:
            raise MediaHttpError(
                f"item {job.item_id!r} ({job.filename}): the media host still "
                f"answered HTTP {status} after renewing the baseUrl {self.renewals} "
                "times; check that the token holds the "
                "photospicker.mediaitems.readonly scope and that the session "
                "has not expired",
                code=status,
                item_id=job.item_id,
                filename=job.filename,
            )
        self.renewals += 1
        self._renew(expired=True)

    def _check_range(self, header: str) -> int:
        """Check a 206's Content-Range against the file so far; return where it ends."""
        match = _CONTENT_RANGE.fullmatch(header.strip())
        if match is None:
            self.resumable = False  # restart from the beginning on the next attempt
            raise _Retryable(f"the server answered 206 with a Content-Range of {header[:80]!r}")
        first, last = int(match.group(1)), int(match.group(2))
        size = None if match.group(3) == "*" else int(match.group(3))
        bound = size if size is not None else self.total
        if first != self.offset or last < first or (bound is not None and last >= bound):
            self.resumable = False
            raise _Retryable(
                f"the server answered bytes {first}-{last}/{match.group(3)} when asked for "
                f"the bytes from {self.offset}"
            )
        if size is not None and self.total is not None and size != self.total:
            self.resumable = False
            raise _Retryable(
                f"the file's size changed from {self.total} to {size} bytes between requests"
            )
        if size is not None:
            self.total = size
        return last + 1

    def _past_the_end(self, header: str) -> bool:
        """A 416 to a resume: complete if the file is exactly as long as the server says."""
        match = re.fullmatch(r"bytes \*/(\d{1,19})", header.strip(), re.ASCII)
        size = int(match.group(1)) if match else None
        if size is not None and size == self.offset and self.total in (None, size):
            self.total = size
            return True
        self.resumable = False
        raise _Retryable(
            f"the server cannot serve the bytes from {self.offset} (it says the file is "
            f"{size if size is not None else 'of unknown size'} bytes now)"
        )

    def _receive(self, response: requests.Response, end: int | None) -> None:
        """Append the body to the file; it must end exactly at ``end`` when that is known."""
        job, run = self.job, self.run_
        with run.read(response):  # a cancel cuts a stalled body off at once
            for chunk in response.iter_content(self.downloader.chunk_size):
                if run.stop.is_set():
                    raise _Cancelled()
                if end is not None and self.offset + len(chunk) > end:
                    self.resumable = False
                    raise _Retryable(f"the server sent more than the {end} bytes it announced")
                self.out.write(chunk)
                self.offset += len(chunk)
                self.downloader._report(run, job, self.offset, self.total)
            if run.stop.is_set():  # a body cut off may look complete when its size is unknown
                raise _Cancelled()
        if end is not None and self.offset != end:
            raise _Retryable(f"the body ended at {self.offset} of {end} bytes")

    def _back_off(self, exc: Exception) -> None:
        job, attempt = self.job, self.attempt
        failed_status = exc.status if isinstance(exc, _Retryable) else None
        if isinstance(exc, _Retryable) and failed_status is not None:
            delay = self.downloader.retry.retry_delay(
                attempt, status=failed_status, headers=exc.headers
            )
        else:  # a dropped connection or a short or misplaced body, as the policy knows it
            delay = self.downloader.retry.retry_delay(attempt, exception=ConnectionError(str(exc)))
        if delay is None:
            if failed_status is not None:
                raise MediaHttpError(
                    f"item {job.item_id!r} ({job.filename}): the media host answered "
                    f"{exc} on attempt {attempt} and the retry policy gave up; try "
                    "again later",
                    code=failed_status,
                    item_id=job.item_id,
                    filename=job.filename,
                ) from exc
            raise IncompleteDownload(
                f"item {job.item_id!r} ({job.filename}): the download kept failing "
                f"({exc}) and stopped after {attempt} attempts with {self.offset} of "
                f"{self.total if self.total is not None else 'an unknown number of'} bytes; "
                "run again to retry it",
                received=self.offset,
                expected=self.total,
                item_id=job.item_id,
                filename=job.filename,
            ) from exc
        _log.debug(
            "item %s: attempt %d failed (%s), retrying in %.1f s",
            job.item_id,
            attempt,
            type(exc).__name__,
            delay,
        )
        self.downloader._pause(self.run_, delay)


def fetch(
    downloader: Downloading,
    job: _Job,
    run: _Run,
    listed: ListedItem,
    session: Callable[[], requests.Session],
) -> Downloaded:
    """Transfer the item into a part file, record it in the manifest, and place it under a
    free name (the next one when its name is taken by the time it is placed)."""
    folder = run.folder
    part, out = folder.open_part(job.stem)
    try:
        with out:
            _, content_type = _Transfer(downloader, job, run, listed, session, out).run()
            size, mtime_ns = folder.settle(part, out)
            ext = extension_for(content_type, job.filename)
            recorded_type = content_type[:_MAX_CONTENT_TYPE_CHARS]
            stem = job.stem
            while True:
                name = stem + ext
                # Recorded before it is placed: a name in place is always recorded.
                folder.record(
                    _Entry(job.item_id, job.variant, stem, name, size, recorded_type, mtime_ns)
                )
                try:
                    folder.place(part, out, name)
                    break
                except FileExistsError:
                    _log.debug("item %s: %s is taken, trying another name", job.item_id, name)
                    stem = folder.reclaim(job.item_id, job.variant, job.base, stem)
    except BaseException:
        with contextlib.suppress(OSError):
            folder.unlink(part)
        raise
    folder.fsync()
    folder.drop_stale_parts(job.stem)
    return Downloaded(job.item_id, folder.path / name, size, content_type, job.variant)


def _whole_number(text: str) -> int | None:
    """A header's non-negative ASCII integer (``Content-Length``), else None."""
    text = text.strip()
    return int(text) if re.fullmatch(r"\d{1,19}", text, re.ASCII) else None
