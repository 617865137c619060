"""Fetching thumbnails with the bearer token, only from allowlisted hosts.

A ``baseUrl`` answers only with the bearer token, which an ``<img src=...>`` in the browser
cannot send: :class:`ThumbnailFetcher` fetches ``baseUrl=w256-h256-c`` (sending the token only
where the downloader's :class:`~picker_discovery._media.pool.HostAllowlist` allows it) and
hands back a :class:`Thumbnail`, whose bytes the grid embeds as a ``data:`` URI.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from picker_discovery._media.hosts import DEFAULT_ALLOWED_HOSTS, HostAllowlist
from picker_discovery._media.items import Size
from picker_discovery._media.transfer import authorized_sessions, open_allowed
from picker_discovery.errors import (
    MediaHttpError,
    MediaUrlExpired,
    NoCredentials,
    ThumbnailError,
)
from picker_discovery.models import PickedMediaItem

if TYPE_CHECKING:
    import requests
    from google.auth.credentials import Credentials

    from picker_discovery._client import PickerClient

THUMBNAIL_SIZE = 256
_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_MAX_THUMBNAIL_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Thumbnail:
    """The bytes of an image and their Content-Type."""

    data: bytes
    content_type: str

    def data_uri(self) -> str:
        return f"data:{self.content_type};base64,{base64.b64encode(self.data).decode('ascii')}"


Fetch = Callable[[str], Thumbnail]
"""Fetches one URL (``baseUrl=w256-h256-c``) with the token; raises on failure."""


def _content_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


class ThumbnailFetcher:
    """Fetches thumbnails with the bearer token, only from allowlisted hosts.

    Args:
        credentials: google-auth credentials holding the picker scope; each thread gets an
            ``AuthorizedSession`` on them (which refreshes the token when it can).
        session_factory: instead of ``credentials``, makes a ``requests.Session`` that
            attaches the token.
        allowed_hosts: where the token may go: ``*.googleusercontent.com`` over https by
            default; add an origin such as ``http://127.0.0.1:8081`` for the emulator.
        timeout: ``(connect, read)`` seconds per request.

    A URL, or a redirect, to any other host raises
    :class:`~picker_discovery.errors.UntrustedMediaHost` before anything is sent there (the
    allowlist is :class:`picker_discovery._media.pool.HostAllowlist`, the downloader's). Redirects
    are followed by hand so that each hop is checked. Only images
    (PNG, JPEG, GIF, WebP) of at most 4 MiB are accepted.
    """

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        session_factory: Callable[[], requests.Session] | None = None,
        allowed_hosts: HostAllowlist | Iterable[str] = DEFAULT_ALLOWED_HOSTS,
        timeout: tuple[float, float] = (10.0, 30.0),
    ) -> None:
        self._session_factory = authorized_sessions(credentials, session_factory)
        self.allowlist = HostAllowlist.of(allowed_hosts)
        self.timeout = timeout
        self._local = threading.local()

    @classmethod
    def for_client(
        cls, client: PickerClient, *, media_hosts: Iterable[str] = ()
    ) -> ThumbnailFetcher:
        """A fetcher sending ``client``'s credentials to Google's content hosts and
        ``media_hosts`` (origins such as an emulator's ``media_url``), like
        :meth:`PickerClient.downloader` (an ``http://`` origin off this machine only if the
        client was made with ``allow_insecure_http``).

        Raises:
            NoCredentials: the client has no credentials (it was built over a bare transport).
            ValueError: a media host would receive the token over plain http off this machine.
        """
        credentials = client.credentials
        if credentials is None:
            raise NoCredentials(
                "this client has no credentials to fetch thumbnails with: build it with "
                "credentials=..., or pass ThumbnailFetcher(credentials) yourself"
            )
        allowlist = HostAllowlist(
            [*DEFAULT_ALLOWED_HOSTS, *media_hosts], allow_insecure_http=client.allow_insecure_http
        )
        return cls(credentials, allowed_hosts=allowlist)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._session_factory()
            self._local.session = session
        return session

    def __call__(self, url: str) -> Thumbnail:
        """Fetch ``url``.

        Raises the downloader's classes for what a thumbnail shares with a download:
        :class:`~picker_discovery.errors.UntrustedMediaHost`,
        :class:`~picker_discovery.errors.MediaUrlExpired` (HTTP 401 or 403: the baseUrl
        expired or the token is not the session's),
        :class:`~picker_discovery.errors.MediaHttpError` (another error status, or too many
        redirects); :class:`ThumbnailError` for an answer that is no image to show.
        """
        response = open_allowed(self._session(), url, self.allowlist, timeout=self.timeout)
        with response:
            status = response.status_code
            if status in (401, 403):
                raise MediaUrlExpired(
                    f"the media host answered HTTP {status}: the baseUrl has probably expired "
                    "(or the token is not the session owner's, or lacks the photospicker "
                    "scope); list the session again for fresh baseUrls"
                )
            if status != 200:
                raise MediaHttpError(f"the media host answered HTTP {status}", code=status)
            kind = _content_type(response.headers.get("Content-Type"))
            if kind not in _IMAGE_TYPES:
                raise ThumbnailError(f"not an image: Content-Type {kind or 'missing'}")
            data = bytearray()
            for chunk in response.iter_content(1 << 16):
                data += chunk
                if len(data) > _MAX_THUMBNAIL_BYTES:
                    raise ThumbnailError("the thumbnail is larger than 4 MiB")
            return Thumbnail(bytes(data), kind)


def _short(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.netloc else "an unusable URL"


def thumbnail_url(item: PickedMediaItem, size: int = THUMBNAIL_SIZE) -> str | None:
    """``baseUrl=wS-hS-c`` (cropped to a square), or ``None`` without a baseUrl.

    Photos and videos alike: image parameters on a video give a still of it.
    """
    media = item.media_file
    if media is None or not media.base_url:
        return None
    return f"{media.base_url}={Size(size, size, crop=True).variant}"


def _check_image(thumbnail: Thumbnail) -> Thumbnail:
    kind = _content_type(thumbnail.content_type)
    if kind not in _IMAGE_TYPES:
        raise ThumbnailError(f"not an image: Content-Type {kind or 'missing'}")
    return Thumbnail(thumbnail.data, kind)
