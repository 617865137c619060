"""Errors about media bytes: one item's bytes that could not be fetched or saved.

The downloader and the notebook's thumbnails raise the same class for the same condition. A
leaf: it imports only the base module ``_errorbase``. Import these names from
:mod:`picker_discovery.errors`.
"""

from __future__ import annotations

from picker_discovery._errorbase import PickerError

__all__ = [
    "IncompleteDownload",
    "MediaError",
    "MediaHttpError",
    "MediaNotReady",
    "MediaProcessingFailed",
    "MediaUrlExpired",
    "ThumbnailError",
    "UntrustedMediaHost",
]


# Errors about media bytes. A media host (lh3.googleusercontent.com, ...) is not the API: its
# answers are bare HTTP without Google's JSON error body, so these are not HttpErrors.


class MediaError(PickerError):
    """One media item's bytes could not be fetched or saved.

    Attributes:
        item_id: the media item's id, when known.
        filename: the item's ``mediaFile.filename`` (or the file being written), when known.
    """

    def __init__(
        self, message: str, *, item_id: str | None = None, filename: str | None = None
    ) -> None:
        super().__init__(message)
        self.item_id = item_id
        self.filename = filename


class MediaNotReady(MediaError):
    """A video is not ready for ``=dv`` yet: its ``processingStatus`` is not ``READY``.

    Attributes:
        status: the ``processingStatus`` seen (``"PROCESSING"``, ``"UNSPECIFIED"``, ...), or
            ``None`` when the item carried none.
    """

    def __init__(
        self,
        message: str,
        *,
        item_id: str | None = None,
        filename: str | None = None,
        status: str | None = None,
    ) -> None:
        super().__init__(message, item_id=item_id, filename=filename)
        self.status = status


class MediaProcessingFailed(MediaError):
    """Google Photos could not process this video (``processingStatus`` is ``FAILED``).

    Waiting or retrying will not help; the user can re-upload the video to Google Photos.
    """


class UntrustedMediaHost(MediaError):
    """A media URL, or a redirect, points at a host that is not on the allowlist.

    Nothing was sent to that host. Attributes: ``url`` (the refused URL).
    """

    def __init__(
        self, message: str, *, url: str, item_id: str | None = None, filename: str | None = None
    ) -> None:
        super().__init__(message, item_id=item_id, filename=filename)
        self.url = url


class MediaUrlExpired(MediaError):
    """An item's ``baseUrl`` expired and could not be renewed by re-listing the session."""


class MediaHttpError(MediaError):
    """The media host answered an error status. Attributes: ``code`` (the HTTP status)."""

    def __init__(
        self, message: str, *, code: int, item_id: str | None = None, filename: str | None = None
    ) -> None:
        super().__init__(message, item_id=item_id, filename=filename)
        self.code = code


class IncompleteDownload(MediaError):
    """The connection kept dropping (or bodies came short) until the retries ran out.

    Attributes: ``received`` (bytes on disk when it gave up), ``expected`` (the full size, when
    the server said).
    """

    def __init__(
        self,
        message: str,
        *,
        received: int,
        expected: int | None,
        item_id: str | None = None,
        filename: str | None = None,
    ) -> None:
        super().__init__(message, item_id=item_id, filename=filename)
        self.received = received
        self.expected = expected


class ThumbnailError(MediaError):
    """A thumbnail came back but is no image the notebook will show: not PNG, JPEG, GIF or
    WebP, or larger than 4 MiB.

    Failures a thumbnail shares with a download raise the same class as the downloader does:
    :class:`UntrustedMediaHost`, :class:`MediaUrlExpired` (HTTP 401 or 403),
    :class:`MediaHttpError` (another error status). Catch :class:`MediaError` for all of them.
    """


# Raised and caught as picker_discovery.errors.X: tracebacks, reprs and pickles name the public
# module, which re-exports every name here.
for _name in __all__:
    globals()[_name].__module__ = "picker_discovery.errors"
del _name
