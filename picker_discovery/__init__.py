"""picker-discovery: the Google Photos Picker API (photospicker v1) from Python, offline-ready.

Everything a user needs is here, at the package root: ``picker_discovery.build``,
``picker_discovery.PickerClient``, every error, the models, the downloader, the retry policy and
the clocks. The implementation lives in private modules (``_client``, ``_service``,
``_media``, ...); the public submodules are :mod:`picker_discovery.errors`,
:mod:`picker_discovery.models`, :mod:`picker_discovery.notebook`, :mod:`picker_discovery.web`
and :mod:`picker_discovery.testing`.

The public names are imported on first use (PEP 562), so ``import picker_discovery`` and
``picker_discovery.build()`` load only what building needs, and ``picker-discovery --help``
loads neither googleapiclient nor the models: bench/cold_start.py measures this. ``_WHERE`` below
is the one list of public names; ``__all__`` is derived from it, and a test checks that the
typing block agrees with it and that every name resolves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from picker_discovery import _lazy

if TYPE_CHECKING:
    from picker_discovery import errors as errors, models as models
    from picker_discovery._aio._client import AsyncPickerClient as AsyncPickerClient
    from picker_discovery._aio._many import AsyncSessionsWait as AsyncSessionsWait
    from picker_discovery._arguments import check_session_id as check_session_id
    from picker_discovery._auth import (
        load_credentials as load_credentials,
        login as login,
        logout as logout,
        save_credentials as save_credentials,
    )
    from picker_discovery._cleanup import CleanupReport as CleanupReport
    from picker_discovery._client import PickerClient as PickerClient
    from picker_discovery._clock import (
        Clock as Clock,
        FakeClock as FakeClock,
        SystemClock as SystemClock,
    )
    from picker_discovery._discovery import (
        SCOPE as SCOPE,
        DiscoveryDocumentError as DiscoveryDocumentError,
        refresh as refresh,
    )
    from picker_discovery._journal import SessionJournal as SessionJournal
    from picker_discovery._many import SessionsWait as SessionsWait
    from picker_discovery._media.hosts import (
        DEFAULT_ALLOWED_HOSTS as DEFAULT_ALLOWED_HOSTS,
        HostAllowlist as HostAllowlist,
    )
    from picker_discovery._media.items import Size as Size
    from picker_discovery._media.pool import Downloader as Downloader
    from picker_discovery._media.results import (
        Downloaded as Downloaded,
        DownloadResult as DownloadResult,
        Failed as Failed,
        Progress as Progress,
        Skipped as Skipped,
        SkipReason as SkipReason,
    )
    from picker_discovery._ratelimit import RateLimit as RateLimit
    from picker_discovery._retry import (
        RetryPolicy as RetryPolicy,
    )
    from picker_discovery._schedule import WaitOutcome as WaitOutcome
    from picker_discovery._service import (
        build as build,
    )
    from picker_discovery._step import SelectionCheck as SelectionCheck
    from picker_discovery.errors import (
        Aborted as Aborted,
        AccessNotGranted as AccessNotGranted,
        AlreadyExists as AlreadyExists,
        BadArgument as BadArgument,
        BadArgumentType as BadArgumentType,
        Cancelled as Cancelled,
        ClientError as ClientError,
        CredentialsFileError as CredentialsFileError,
        DataLoss as DataLoss,
        DeadlineExceeded as DeadlineExceeded,
        ErrorInfo as ErrorInfo,
        FailedPrecondition as FailedPrecondition,
        IncompleteDownload as IncompleteDownload,
        Internal as Internal,
        InvalidArgument as InvalidArgument,
        InvalidState as InvalidState,
        MalformedResponse as MalformedResponse,
        MediaError as MediaError,
        MediaHttpError as MediaHttpError,
        MediaNotReady as MediaNotReady,
        MediaProcessingFailed as MediaProcessingFailed,
        MediaUrlExpired as MediaUrlExpired,
        MissingExtra as MissingExtra,
        NoCredentials as NoCredentials,
        NotFound as NotFound,
        OutOfRange as OutOfRange,
        PermissionDenied as PermissionDenied,
        PickerError as PickerError,
        PickerHttpError as PickerHttpError,
        PickingCancelled as PickingCancelled,
        PickingTimeout as PickingTimeout,
        RepeatedPageToken as RepeatedPageToken,
        ResourceExhausted as ResourceExhausted,
        ServerError as ServerError,
        SessionNotFound as SessionNotFound,
        SignInRequired as SignInRequired,
        ThumbnailError as ThumbnailError,
        TooManyPages as TooManyPages,
        Unauthenticated as Unauthenticated,
        Unavailable as Unavailable,
        Unimplemented as Unimplemented,
        Unknown as Unknown,
        UnknownName as UnknownName,
        UntrustedMediaHost as UntrustedMediaHost,
        error_class as error_class,
        from_http_error as from_http_error,
    )
    from picker_discovery.models import (
        ListMediaItemsResponse as ListMediaItemsResponse,
        MediaFile as MediaFile,
        MediaFileMetadata as MediaFileMetadata,
        MediaType as MediaType,
        PhotoMetadata as PhotoMetadata,
        PickedMediaItem as PickedMediaItem,
        PickingConfig as PickingConfig,
        PickingSession as PickingSession,
        PollingConfig as PollingConfig,
        ProcessingStatus as ProcessingStatus,
        VideoMetadata as VideoMetadata,
    )

_ERRORS = "picker_discovery.errors"
_MODELS = "picker_discovery.models"

# Every public name and the module it lives in: the one list, imported the first time a name is
# asked for.
_WHERE: dict[str, str] = {
    "errors": "picker_discovery.errors",
    "models": "picker_discovery.models",
    "build": "picker_discovery._service",
    "PickerClient": "picker_discovery._client",
    "AsyncPickerClient": "picker_discovery._aio._client",
    "AsyncSessionsWait": "picker_discovery._aio._many",
    "check_session_id": "picker_discovery._arguments",
    "DiscoveryDocumentError": "picker_discovery._discovery",
    "SCOPE": "picker_discovery._discovery",
    "refresh": "picker_discovery._discovery",
    "load_credentials": "picker_discovery._auth",
    "login": "picker_discovery._auth",
    "logout": "picker_discovery._auth",
    "save_credentials": "picker_discovery._auth",
    "RetryPolicy": "picker_discovery._retry",
    "RateLimit": "picker_discovery._ratelimit",
    "SessionsWait": "picker_discovery._many",
    "WaitOutcome": "picker_discovery._schedule",
    "SelectionCheck": "picker_discovery._step",
    "Clock": "picker_discovery._clock",
    "FakeClock": "picker_discovery._clock",
    "SystemClock": "picker_discovery._clock",
    "CleanupReport": "picker_discovery._cleanup",
    "SessionJournal": "picker_discovery._journal",
    "DEFAULT_ALLOWED_HOSTS": "picker_discovery._media.hosts",
    "HostAllowlist": "picker_discovery._media.hosts",
    "Downloader": "picker_discovery._media.pool",
    "Size": "picker_discovery._media.items",
    **dict.fromkeys(
        (
            "DownloadResult",
            "Downloaded",
            "Failed",
            "Progress",
            "SkipReason",
            "Skipped",
        ),
        "picker_discovery._media.results",
    ),
    **dict.fromkeys(
        (
            "Aborted",
            "AccessNotGranted",
            "AlreadyExists",
            "BadArgument",
            "BadArgumentType",
            "Cancelled",
            "ClientError",
            "CredentialsFileError",
            "DataLoss",
            "DeadlineExceeded",
            "ErrorInfo",
            "FailedPrecondition",
            "IncompleteDownload",
            "Internal",
            "InvalidArgument",
            "InvalidState",
            "MalformedResponse",
            "MediaError",
            "MediaHttpError",
            "MediaNotReady",
            "MediaProcessingFailed",
            "MediaUrlExpired",
            "MissingExtra",
            "NoCredentials",
            "NotFound",
            "OutOfRange",
            "PermissionDenied",
            "PickerError",
            "PickerHttpError",
            "PickingCancelled",
            "PickingTimeout",
            "RepeatedPageToken",
            "ResourceExhausted",
            "ServerError",
            "SessionNotFound",
            "SignInRequired",
            "ThumbnailError",
            "TooManyPages",
            "Unauthenticated",
            "Unavailable",
            "Unimplemented",
            "Unknown",
            "UnknownName",
            "UntrustedMediaHost",
            "error_class",
            "from_http_error",
        ),
        _ERRORS,
    ),
    **dict.fromkeys(
        (
            "ListMediaItemsResponse",
            "MediaFile",
            "MediaFileMetadata",
            "MediaType",
            "PhotoMetadata",
            "PickedMediaItem",
            "PickingConfig",
            "PickingSession",
            "PollingConfig",
            "ProcessingStatus",
            "VideoMetadata",
        ),
        _MODELS,
    ),
}

__all__ = sorted(_WHERE)
__version__ = "0.1.0"

__getattr__, __dir__ = _lazy.exports(__name__, _WHERE, globals(), rename_private=True)
