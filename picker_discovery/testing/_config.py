"""The fake service's settings (:class:`BackendConfig`), apart so that the backend and its
method handlers both read them without importing each other."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from picker_discovery._errorbase import BadArgument
from picker_discovery.testing._times import parse_duration

__all__ = ["BackendConfig"]


@dataclass(frozen=True)
class BackendConfig:
    """Settings of the fake service. Change them with :meth:`Backend.configure`."""

    # Where the service, the picking page and the media bytes live. The emulator points these
    # at its own ports; the in-process defaults look like Google's.
    api_root: str = "https://photospicker.googleapis.com/"
    picker_uri_prefix: str = "https://photos.google.com/integration/picker/"
    media_root: str = "https://lh3.googleusercontent.com/ppa/"
    # pollingConfig: Google's typical values are undocumented ([seen] "5s"/"1800s").
    poll_interval: timedelta = timedelta(seconds=5)
    polling_timeout: timedelta = timedelta(seconds=1800)
    # expireTime: one public run saw about 7 days after creation.
    session_lifetime: timedelta = timedelta(days=7)
    base_url_lifetime: timedelta = timedelta(minutes=60)
    # [open] Google publishes no limit on sessions per user; RESOURCE_EXHAUSTED past this many
    # live (not deleted, not expired) sessions.
    max_live_sessions: int = 100
    default_max_item_count: int = 2000
    max_max_item_count: int = 2000
    # [open] What the service does with maxItemCount 0, negative, above 2000 or not an integer
    # is undocumented. "reject" answers INVALID_ARGUMENT (the most plausible for a validated
    # field); "clamp" quietly uses the default for <= 0 and the maximum above it (non-integers
    # are still INVALID_ARGUMENT: they cannot be parsed).
    invalid_max_item_count: str = "reject"
    default_page_size: int = 50
    max_page_size: int = 100
    library_size: int = 120
    seed: int | str = 0
    # Check every success answer against the discovery document's schemas.
    validate_responses: bool = True

    def __post_init__(self) -> None:
        if self.invalid_max_item_count not in ("reject", "clamp"):
            raise BadArgument("invalid_max_item_count must be 'reject' or 'clamp'")
        for name in ("api_root", "picker_uri_prefix", "media_root"):
            if not getattr(self, name).endswith("/"):
                raise BadArgument(f"{name} must end with '/': {getattr(self, name)!r}")


def _normalized(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings with durations given as ``"5s"`` or seconds turned into timedeltas."""
    out = dict(settings)
    for name in ("poll_interval", "polling_timeout", "session_lifetime", "base_url_lifetime"):
        if name in out:
            out[name] = parse_duration(out[name])
    return out
