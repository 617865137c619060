"""One item's transfer over ``requests``: a request that checks every hop against the media
host allowlist, and the loop that fetches a file's bytes until it is complete (its decisions
are :class:`~picker_discovery._media.resume.TransferState`'s).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Protocol
from urllib.parse import urljoin

import requests
from google.auth.exceptions import RefreshError

from picker_discovery._media.body import body_chunks, release, worker_buffer
from picker_discovery._media.finish import discard, place_finished
from picker_discovery._media.hosts import HostAllowlist
from picker_discovery._media.items import ListedItem
from picker_discovery._media.results import Downloaded
from picker_discovery._media.resume import (
    MAX_REDIRECTS,
    REDIRECT_STATUS,
    TransferState,
    _Retryable,
)
from picker_discovery._media.run import _Cancelled, _Job, _Run
from picker_discovery._retry import RetryPolicy
from picker_discovery._secrets import credential_secrets, install_log_filter, scrub
from picker_discovery.errors import BadArgument, MediaError, MediaHttpError

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

    from picker_discovery._media.direct import EnvironmentSettings


_log = logging.getLogger(__name__)
install_log_filter()  # google-auth's records of token refreshes never show a token


def authorized_sessions(
    credentials: Credentials | None, session_factory: Callable[[], requests.Session] | None
) -> Callable[[], requests.Session]:
    """A maker of ``requests`` sessions that attach the token: ``session_factory`` itself,
    or a :class:`~picker_discovery._media.direct.DirectSession` on ``credentials`` (google-auth's
    ``AuthorizedSession``, which refreshes the token, sending media GETs the short way).

    Raises:
        ValueError: both or neither were given.
    """
    if (credentials is None) == (session_factory is None):
        raise BadArgument("pass either credentials or a session_factory (exactly one)")
    if session_factory is not None:
        return session_factory

    assert credentials is not None

    environment: EnvironmentSettings | None = None  # one reading for every session made here

    def make() -> requests.Session:
        # Imported here: google-auth's requests transport is only loaded to download.
        from picker_discovery._media.direct import DirectSession, EnvironmentSettings

        nonlocal environment
        if environment is None:
            environment = EnvironmentSettings()
        return DirectSession(credentials, environment)

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
    # A DirectSession's short way, where the session has one.
    get_media: Callable[..., requests.Response] | None = getattr(session, "picker_get_media", None)
    for _ in range(MAX_REDIRECTS + 1):
        allowlist.check(url, item_id=item_id, filename=filename)
        if get_media is not None:
            response = get_media(url, headers or {}, timeout)
        else:
            response = session.get(
                url, headers=headers, stream=True, allow_redirects=False, timeout=timeout
            )
        location = response.headers.get("Location")
        if response.status_code not in REDIRECT_STATUS or not location:
            return response
        response.close()
        url = urljoin(url, location)
    raise MediaHttpError(
        f"item {item_id!r} ({filename}): more than {MAX_REDIRECTS} redirects",
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
    """One item's bytes into its part file over ``requests``: the requests and the bodies,
    with every decision left to a :class:`~picker_discovery._media.resume.TransferState`
    (what each answer means, resuming, renewing, retrying, giving up)."""

    def __init__(
        self,
        downloader: Downloading,
        job: _Job,
        run: _Run,
        listed: ListedItem,
        session: Callable[[], requests.Session],
        out: IO[bytes],
    ) -> None:
        self.downloader, self.job, self.run_ = downloader, job, run
        self.session = session
        self.state = TransferState(
            job, listed, out, downloader.retry, can_renew=run.refresher.available
        )

    def run(self) -> tuple[int, str]:
        """Fetch until complete; return (size, Content-Type)."""
        job, run, downloader, state = self.job, self.run_, self.downloader, self.state
        while True:
            if run.stop.is_set():
                raise _Cancelled()
            if state.stale(downloader._clock(), downloader.url_lifetime):
                self._renew()
            state.attempt += 1
            try:
                if self._request():
                    return state.offset, state.content_type or "application/octet-stream"
                state.attempt -= 1  # a renewal or a continuation is not a failed attempt
            except (
                _Retryable,
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                if run.stop.is_set():  # the run cut this answer off to stop: no retry
                    raise _Cancelled() from exc
                downloader._pause(run, state.failed(exc))
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

    def _renew(self, expired: bool = False) -> None:
        job, state = self.job, self.state
        state.renewed(
            self.run_.refresher.renew(job.item_id, job.filename, state.listed, expired=expired)
        )

    def _request(self) -> bool:
        """One request; True when the file is complete, False to ask again at once."""
        job, run, state = self.job, self.run_, self.state
        headers = state.headers()
        response = open_allowed(
            self.session(),
            state.url(),
            self.downloader.allowlist,
            headers=headers,
            timeout=self.downloader.timeout,
            item_id=job.item_id,
            filename=job.filename,
        )
        try:
            step = state.answer(response.status_code, response.headers, response.reason)
            if step == "renew":
                self._renew(expired=True)
                return False
            if step == "done":
                return True
            buffer = worker_buffer(self.downloader.chunk_size)
            with run.read(response):  # a cancel cuts a stalled body off at once
                for chunk in body_chunks(response, buffer):
                    if run.stop.is_set():
                        raise _Cancelled()
                    state.write(chunk)
                    self.downloader._report(run, job, state.offset, state.total)
                if run.stop.is_set():  # a body cut off may look complete when its size is unknown
                    raise _Cancelled()
            complete = state.body_ended()
            release(response)  # read to its end: the connection serves the next request
            return complete
        finally:
            response.close()


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
            return place_finished(folder, job, part, out, content_type)
    except BaseException:
        discard(folder, part)
        raise
