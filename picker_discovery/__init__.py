"""picker-discovery: the Google Photos Picker API (photospicker v1) from Python, offline-ready.

The public names are imported on first use (PEP 562), so ``import picker_discovery`` and
``picker_discovery.build()`` load only what building needs, and ``picker-discovery --help``
loads neither googleapiclient nor the models: bench/cold_start.py measures this.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from picker_discovery import errors, models
    from picker_discovery._client import PickerClient, check_session_id
    from picker_discovery._clock import Clock, FakeClock, SystemClock
    from picker_discovery._discovery import SCOPE, DiscoveryDocumentError, refresh
    from picker_discovery._journal import CleanupReport, SessionJournal
    from picker_discovery._retry import RetryPolicy
    from picker_discovery._service import build
    from picker_discovery.errors import (
        FailedPrecondition,
        MalformedResponse,
        NotFound,
        PermissionDenied,
        PickerError,
        PickerHttpError,
        PickingCancelled,
        PickingTimeout,
        RepeatedPageToken,
        ResourceExhausted,
        ServerError,
        SessionNotFound,
        TooManyPages,
        Unauthenticated,
    )
    from picker_discovery.models import (
        MediaFile,
        MediaFileMetadata,
        MediaType,
        PhotoMetadata,
        PickedMediaItem,
        PickingConfig,
        PickingSession,
        PollingConfig,
        ProcessingStatus,
        VideoMetadata,
    )

# Where each public name lives: the module to import the first time the name is asked for.
_WHERE: dict[str, str] = {
    "CleanupReport": "picker_discovery._journal",
    "SessionJournal": "picker_discovery._journal",
    "errors": "picker_discovery.errors",
    "models": "picker_discovery.models",
    "PickerClient": "picker_discovery._client",
    "check_session_id": "picker_discovery._client",
    "Clock": "picker_discovery._clock",
    "FakeClock": "picker_discovery._clock",
    "SystemClock": "picker_discovery._clock",
    "SCOPE": "picker_discovery._discovery",
    "DiscoveryDocumentError": "picker_discovery._discovery",
    "refresh": "picker_discovery._discovery",
    **dict.fromkeys(
        (
            "FailedPrecondition",
            "MalformedResponse",
            "NotFound",
            "PermissionDenied",
            "PickerError",
            "PickerHttpError",
            "PickingCancelled",
            "PickingTimeout",
            "RepeatedPageToken",
            "ResourceExhausted",
            "ServerError",
            "SessionNotFound",
            "TooManyPages",
            "Unauthenticated",
        ),
        "picker_discovery.errors",
    ),
    **dict.fromkeys(
        (
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
        "picker_discovery.models",
    ),
    "RetryPolicy": "picker_discovery._retry",
    "build": "picker_discovery._service",
}

__all__ = [
    "SCOPE",
    "CleanupReport",
    "Clock",
    "DiscoveryDocumentError",
    "FailedPrecondition",
    "FakeClock",
    "MalformedResponse",
    "MediaFile",
    "MediaFileMetadata",
    "MediaType",
    "NotFound",
    "PermissionDenied",
    "PhotoMetadata",
    "PickedMediaItem",
    "PickerClient",
    "PickerError",
    "PickerHttpError",
    "PickingCancelled",
    "PickingConfig",
    "PickingSession",
    "PickingTimeout",
    "PollingConfig",
    "ProcessingStatus",
    "RepeatedPageToken",
    "ResourceExhausted",
    "RetryPolicy",
    "ServerError",
    "SessionJournal",
    "SessionNotFound",
    "SystemClock",
    "TooManyPages",
    "Unauthenticated",
    "VideoMetadata",
    "build",
    "check_session_id",
    "errors",
    "models",
    "refresh",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'picker_discovery' has no attribute {name!r}")
    module = importlib.import_module(where)
    value = module if where.rsplit(".", 1)[1] == name else getattr(module, name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
