"""The error tree: every exception the package raises is a :class:`PickerError`.

Every API error is a :class:`PickerHttpError`, which is both a
``googleapiclient.errors.HttpError`` (``except HttpError``, ``e.resp.status``, ``e.content``,
``e.uri`` and ``e.reason`` keep working) and a :class:`PickerError`. The class is chosen from the
body's ``error.status`` first (``FAILED_PRECONDITION`` and ``INVALID_ARGUMENT`` share HTTP 400),
then from the HTTP code, then by range (4xx, 5xx), so an HTML or otherwise unreadable body still
gives the right class. Each status class registers its status, HTTP code and ``google.rpc.Code``
number as it is defined (``class NotFound(ClientError, status="NOT_FOUND", code=404,
rpc_code=5)``): the lookup tables are built from the classes, never kept beside them.

Errors that are also a built-in exception keep that base, so ``except ValueError`` (or
``TypeError``, ``ImportError``, ``HttpError``) written against the built-in keeps working::

    PickerError
    ├── BadArgument (ValueError)             an argument a function cannot use; nothing sent
    │   ├── BadArgumentType (TypeError)      an argument of the wrong type
    │   └── NoCredentials                    media bytes asked of a client without credentials
    ├── MissingExtra (ImportError)           an optional extra is not installed
    ├── UnknownName (KeyError)               a name looked up is not there (the test kit)
    ├── InvalidState (RuntimeError)          a call the object's state does not allow
    ├── CredentialsFileError (ValueError)    a token or client secrets file that is unusable
    ├── AccessNotGranted (PermissionError)   the scope not granted, or a token file not private
    ├── SignInRequired (PermissionError)     a web user must sign in (again): no token, revoked
    ├── DiscoveryDocumentError (ValueError)  a discovery document missing, unreadable or wrong
    ├── MalformedResponse (ValueError)       an answer that is not what the schema describes
    ├── PickingTimeout                       waiting for the user's pick ran out of time
    ├── PickingCancelled                     another thread cancelled the wait
    ├── RepeatedPageToken                    mediaItems.list sent a page token twice
    ├── TooManyPages                         mediaItems.list sent more pages than can exist
    ├── PickerHttpError (HttpError)
    │   ├── ClientError                      4xx
    │   │   ├── InvalidArgument              400 INVALID_ARGUMENT (stands for 400)
    │   │   ├── FailedPrecondition           400 FAILED_PRECONDITION
    │   │   ├── OutOfRange                   400 OUT_OF_RANGE
    │   │   ├── Unauthenticated              401 UNAUTHENTICATED
    │   │   ├── PermissionDenied             403 PERMISSION_DENIED
    │   │   ├── NotFound                     404 NOT_FOUND
    │   │   │   └── SessionNotFound          a session that is missing or not the caller's
    │   │   ├── AlreadyExists                409 ALREADY_EXISTS
    │   │   ├── Aborted                      409 ABORTED (stands for 409)
    │   │   ├── ResourceExhausted            429 RESOURCE_EXHAUSTED
    │   │   └── Cancelled                    499 CANCELLED
    │   └── ServerError                      5xx
    │       ├── Internal                     500 INTERNAL (stands for 500)
    │       ├── Unknown                      500 UNKNOWN
    │       ├── DataLoss                     500 DATA_LOSS
    │       ├── Unimplemented                501 UNIMPLEMENTED
    │       ├── Unavailable                  503 UNAVAILABLE
    │       └── DeadlineExceeded             504 DEADLINE_EXCEEDED
    └── MediaError                           one item's bytes could not be fetched or saved
        ├── MediaNotReady                    a video still processing (or of unknown status)
        ├── MediaProcessingFailed            a video whose processing FAILED: never retried
        ├── UntrustedMediaHost               a URL (or redirect) off the allowlist: nothing sent
        ├── MediaUrlExpired                  a baseUrl expired (HTTP 401/403) and was not renewed
        ├── MediaHttpError                   another error status from the media host
        ├── IncompleteDownload               the body ended short of its length, retries spent
        └── ThumbnailError                   a thumbnail that is no image the notebook shows

A media host (``lh3.googleusercontent.com``, ...) answers bare HTTP rather than the API's JSON
errors, so the media errors are not ``HttpError``\\ s. The downloader and the notebook's
thumbnails raise the same class for the same condition.

Elsewhere in the package, also ``PickerError``\\ s: ``picker_discovery._cli.CommandError`` (a
command's failure with its exit code) and, in the test kit, ``testing.ApiError`` (the fake
service's error answer), ``testing.schema.SchemaError`` (a ``ValueError``) and
``testing.canned.MockExhausted`` (an ``AssertionError``).

This module is the public face of the tree: the classes live in private modules by concern,
and it re-exports every one of them (each reads as ``picker_discovery.errors.X``). Like them it
is a leaf, importing nothing from the project but these modules:

- ``_errorbase``: the root and the errors raised on the cold-start path (standard library only);
- ``_errors_http``: :class:`PickerHttpError`, the status registry, the class per status,
  :func:`error_class` and :func:`from_http_error`;
- ``_errors_session``: waiting for a pick and listing a session's items;
- ``_errors_auth``: credentials missing, unusable or not granted;
- ``_errors_media``: the media errors.
"""

from __future__ import annotations

from picker_discovery._errorbase import (
    BadArgument,
    BadArgumentType,
    DiscoveryDocumentError,
    InvalidState,
    MalformedResponse,
    MissingExtra,
    PickerError,
    UnknownName,
)
from picker_discovery._errors_auth import (
    AccessNotGranted,
    CredentialsFileError,
    NoCredentials,
    SignInRequired,
)
from picker_discovery._errors_http import (
    ERROR_INFO_TYPE as ERROR_INFO_TYPE,
    Aborted,
    AlreadyExists,
    Cancelled,
    ClientError,
    DataLoss,
    DeadlineExceeded,
    ErrorInfo,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    PickerHttpError,
    ResourceExhausted,
    ServerError,
    SessionNotFound,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
    error_class,
    from_http_error,
)
from picker_discovery._errors_media import (
    IncompleteDownload,
    MediaError,
    MediaHttpError,
    MediaNotReady,
    MediaProcessingFailed,
    MediaUrlExpired,
    ThumbnailError,
    UntrustedMediaHost,
)
from picker_discovery._errors_session import (
    PickingCancelled,
    PickingTimeout,
    RepeatedPageToken,
    TooManyPages,
)

__all__ = [
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
    "DiscoveryDocumentError",
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
]
