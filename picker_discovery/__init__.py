"""picker-discovery: the Google Photos Picker API (photospicker v1) from Python, offline-ready."""

from picker_discovery import errors, models
from picker_discovery.client import PickerClient, check_session_id
from picker_discovery.clock import Clock, FakeClock, SystemClock
from picker_discovery.discovery import SCOPE, DiscoveryDocumentError, refresh
from picker_discovery.errors import (
    FailedPrecondition,
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
from picker_discovery.retry import RetryPolicy
from picker_discovery.service import build

__all__ = [
    "SCOPE",
    "Clock",
    "DiscoveryDocumentError",
    "FailedPrecondition",
    "FakeClock",
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
    "SessionNotFound",
    "SystemClock",
    "Unauthenticated",
    "VideoMetadata",
    "build",
    "check_session_id",
    "errors",
    "models",
    "refresh",
]
__version__ = "0.1.0"
