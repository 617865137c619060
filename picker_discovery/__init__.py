"""picker-discovery: the Google Photos Picker API (photospicker v1) from Python, offline-ready."""

from picker_discovery.discovery import SCOPE, DiscoveryDocumentError, refresh
from picker_discovery.service import build

__all__ = ["SCOPE", "DiscoveryDocumentError", "build", "refresh"]
__version__ = "0.1.0"
