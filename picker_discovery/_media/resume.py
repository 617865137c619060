"""What one item's transfer decides, without sending anything: which request to make next,
what an answer means, whether a body is whole, and when to give up.

The synchronous downloader (:mod:`picker_discovery._media.transfer`, ``requests`` on worker
threads) and the asyncio client (:mod:`picker_discovery._aio._transfer`, httpx on the event
loop) send the requests and read the bodies; both feed what they get to one
:class:`TransferState`, so a resume, a restart, a renewed baseUrl and a typed error are the
same decisions over either stack.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import IO, Any, Literal

from picker_discovery._media.items import ListedItem, _base_url, _mime_type
from picker_discovery._media.run import _Job
from picker_discovery._retry import RetryPolicy
from picker_discovery.errors import (
    IncompleteDownload,
    MediaHttpError,
    MediaUrlExpired,
)

__all__ = ["MAX_REDIRECTS", "REDIRECT_STATUS", "TransferState", "_Retryable"]

_log = logging.getLogger("picker_discovery._media.transfer")


class _Retryable(Exception):
    """An attempt failed in a way worth another: an error status, or a broken body."""

    def __init__(self, why: str, status: int | None = None, headers: Any = None) -> None:
        super().__init__(why)
        self.status = status
        self.headers = headers


_RETRY_STATUS = {408, 429, 500, 502, 503, 504}
REDIRECT_STATUS = {301, 302, 303, 307, 308}
MAX_REDIRECTS = 5
_MAX_URL_RENEWALS = 2
_CONTENT_RANGE = re.compile(r"bytes (\d{1,19})-(\d{1,19})/(\d{1,19}|\*)", re.ASCII)

Step = Literal["renew", "done", "body"]
"""What to do with an answer's head: renew the baseUrl and ask again, nothing more (the file
is complete), or read its body into the file."""


class TransferState:
    """One item's bytes into its part file ``out``: a small state machine over HTTP answers.

    State: ``offset`` (bytes in the file), ``total`` (the whole file's size, once a server
    said it), whether the server resumes (``resumable``) and its strong ``etag``, and the
    ``attempt`` and ``renewals`` counted against the retry policy. The sender asks
    :meth:`headers` for each request, gives the answer's head to :meth:`answer`, each chunk
    of its body to :meth:`write`, the end of the body to :meth:`body_ended`, and any failure
    worth another attempt to :meth:`failed`, until the file holds exactly ``total`` bytes:

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
        job: _Job,
        listed: ListedItem,
        out: IO[bytes],
        retry: RetryPolicy,
        *,
        can_renew: bool,
    ) -> None:
        self.job, self.listed, self.out, self.retry = job, listed, out, retry
        self.can_renew = can_renew
        self.offset = 0
        self.total: int | None = None
        self.content_type: str | None = None
        self.resumable = False  # the server answered 206 or advertised Accept-Ranges: bytes
        self.etag: str | None = None  # a strong validator: a resume may survive a new URL
        self.attempt = 0
        self.renewals = 0
        self._status = 0
        self._end: int | None = None

    # -- before a request ---------------------------------------------------------------------

    def stale(self, now: float, url_lifetime: float) -> bool:
        """Whether the baseUrl was listed so long ago that it should be renewed before use."""
        if self.can_renew and now - self.listed.listed_at >= url_lifetime:
            _log.debug("item %s: baseUrl listed too long ago, renewing it", self.job.item_id)
            return True
        return False

    def renewed(self, fresh: ListedItem) -> None:
        """Go on with the item as a newer listing gave it (a new baseUrl)."""
        if self.offset and self.etag is None:
            self._restart()  # without If-Range, a new URL's bytes may not continue the old ones
        self.listed = fresh

    def url(self) -> str:
        """The URL of the item's bytes in the variant asked for."""
        return _base_url(self.listed.item) + "=" + self.job.variant

    def headers(self) -> dict[str, str]:
        """The headers of the next request: a ``Range`` to resume when the server can."""
        headers = {"Accept-Encoding": "identity"}
        if self.offset and not self.resumable:
            self._restart()
        if self.offset:
            headers["Range"] = f"bytes={self.offset}-"
            if self.etag:
                headers["If-Range"] = self.etag
        return headers

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

    # -- an answer ----------------------------------------------------------------------------

    def answer(self, status: int, headers: Mapping[str, str], reason: str | None) -> Step:
        """Read an answer's head (``headers`` looked up case-insensitively).

        Raises:
            _Retryable: an answer worth another attempt (an error status, a bad range).
            MediaHttpError, MediaUrlExpired: the item fails.
        """
        job = self.job
        if status in (401, 403):
            self._expired(status)
            return "renew"
        if status in _RETRY_STATUS:
            raise _Retryable(f"HTTP {status}", status, dict(headers))
        if status == 416 and self.offset:
            self._past_the_end(headers.get("Content-Range", ""))
            return "done"
        end: int | None
        if status == 206:
            end = self._check_range(headers.get("Content-Range", ""))
        elif status == 200:
            if self.offset:
                self._restart()  # the server ignored the Range (or If-Range failed)
            self.total = _whole_number(headers.get("Content-Length", ""))
            end = self.total
        else:
            raise MediaHttpError(
                f"item {job.item_id!r} ({job.filename}): the media host answered "
                f"HTTP {status} {reason or ''}".rstrip()
                + "; the item may no longer be available",
                code=status,
                item_id=job.item_id,
                filename=job.filename,
            )
        if self.content_type is None:
            self.content_type = headers.get("Content-Type") or _mime_type(self.listed.item)
        encoding = headers.get("Content-Encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            # Asked for identity; a coded body cannot be checked or resumed by size.
            self.total, self.resumable, end = None, False, None
        elif status == 206 or headers.get("Accept-Ranges", "").strip().lower() == "bytes":
            self.resumable = True
        tag = headers.get("ETag")
        self.etag = tag if tag and not tag.startswith("W/") else None
        self._status, self._end = status, end
        return "body"

    def _expired(self, status: int) -> None:
        job = self.job
        if not self.can_renew:
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

    def _past_the_end(self, header: str) -> None:
        """A 416 to a resume: complete if the file is exactly as long as the server says."""
        match = re.fullmatch(r"bytes \*/(\d{1,19})", header.strip(), re.ASCII)
        size = int(match.group(1)) if match else None
        if size is not None and size == self.offset and self.total in (None, size):
            self.total = size
            return
        self.resumable = False
        raise _Retryable(
            f"the server cannot serve the bytes from {self.offset} (it says the file is "
            f"{size if size is not None else 'of unknown size'} bytes now)"
        )

    # -- its body -----------------------------------------------------------------------------

    def write(self, chunk: bytes | memoryview) -> None:
        """Append a chunk of the body to the file (never past the end the answer announced)."""
        end = self._end
        if end is not None and self.offset + len(chunk) > end:
            self.resumable = False
            raise _Retryable(f"the server sent more than the {end} bytes it announced")
        self.out.write(chunk)
        self.offset += len(chunk)

    def body_ended(self) -> bool:
        """The body ended: True when the file is complete, False to ask for the rest.

        Raises:
            _Retryable: the body ended before the end its answer announced.
        """
        end = self._end
        if end is not None and self.offset != end:
            raise _Retryable(f"the body ended at {self.offset} of {end} bytes")
        if self._status == 200 or self.offset == self.total:
            return True
        _log.debug(
            "item %s: the server sent bytes up to %d of %s; asking for the rest",
            self.job.item_id,
            self.offset,
            self.total if self.total is not None else "an unknown total",
        )
        return False

    # -- a failed attempt ---------------------------------------------------------------------

    def failed(self, exc: Exception) -> float:
        """How long to wait before the next attempt after ``exc`` (a :class:`_Retryable` or a
        transport failure), as the retry policy says.

        Raises:
            MediaHttpError: an error status the policy gave up on.
            IncompleteDownload: broken bodies or connections the policy gave up on.
        """
        job, attempt = self.job, self.attempt
        failed_status = exc.status if isinstance(exc, _Retryable) else None
        if isinstance(exc, _Retryable) and failed_status is not None:
            delay = self.retry.retry_delay(attempt, status=failed_status, headers=exc.headers)
        else:  # a dropped connection or a short or misplaced body, as the policy knows it
            delay = self.retry.retry_delay(attempt, exception=ConnectionError(str(exc)))
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
        return delay


def _whole_number(text: str) -> int | None:
    """A header's non-negative ASCII integer (``Content-Length``), else None."""
    text = text.strip()
    return int(text) if re.fullmatch(r"\d{1,19}", text, re.ASCII) else None
