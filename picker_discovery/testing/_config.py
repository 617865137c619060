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
    # "open": any bearer token is a user (keyed by the token), and a token the emulator's OAuth
    # server issued is the user it was issued to (keyed by email), expired or not. "strict": an
    # unknown, expired or revoked token gets Google's 401 UNAUTHENTICATED.
    auth: str = "open"
    # How long an access token from the OAuth server lives (Google's: 3600 s).
    access_token_lifetime: timedelta = timedelta(seconds=3600)
    # The origins a browser may call the API from (CORS); None allows any origin.
    cors_origins: tuple[str, ...] | None = None
    # The caller's Cloud project, as error answers name it (consumer, activation URL).
    project_number: str = "123456789012"
    # False: the project has not enabled the API, and every call answers Google's 403
    # SERVICE_DISABLED with its full details (ErrorInfo with activationUrl, LocalizedMessage,
    # Help).
    api_enabled: bool = True
    # Seconds for a Retry-After header on quota 429s (RESOURCE_EXHAUSTED). Google's quota
    # answers carry none [seen]; None (the default) sends none, as they do.
    quota_retry_after: float | None = None
    # [seen] How a 401 UNAUTHENTICATED body looks: "google", Google's usual JSON ({"error":
    # {...}}); "bare", as some Google endpoints answer it: not wrapped in "error", the gRPC
    # code (16) as "code", and a Content-Type of text/html over the JSON.
    unauthenticated_body: str = "google"
    # [open] Share of mediaItems.list pages (0 to 1) served short: fewer items than pageSize,
    # even none, in the middle of a listing (Google: "may return fewer, even 0"). Which pages,
    # and how short, follows `seed` and the page alone (every session alike), so a page token
    # always answers the same page; an empty page is never followed by another.
    short_pages: float = 0.0
    # [seen] Where "=dv" (a video download) sends the client: None serves the bytes from the
    # media origin; a root URL ("https://video-downloads.googleusercontent.com/") answers a 302
    # to the same path there (the emulator's third origin, `downloads_url`).
    video_download_root: str | None = None
    # [seen] The format of a resized image (=wW-hH, =sN): "original" follows the original's
    # (JPEG for JPEG, PNG for PNG, GIF, WebP; JPEG for HEIC and video thumbnails), as Google's
    # image servers do; "png" answers every resized image as PNG.
    resized_format: str = "original"

    def __post_init__(self) -> None:
        if self.unauthenticated_body not in ("google", "bare"):
            raise BadArgument(
                "unauthenticated_body must be 'google' or 'bare', "
                f"not {self.unauthenticated_body!r}"
            )
        if not isinstance(self.api_enabled, bool):
            raise BadArgument(f"api_enabled must be true or false, not {self.api_enabled!r}")
        if not (isinstance(self.project_number, str) and self.project_number.isdigit()):
            raise BadArgument(f"project_number must be digits, not {self.project_number!r}")
        retry = self.quota_retry_after
        if retry is not None and (
            isinstance(retry, bool)
            or not isinstance(retry, (int, float))
            or not 0 <= retry <= 86400
        ):
            raise BadArgument(
                f"quota_retry_after must be 0 to 86400 seconds or None, not {retry!r}"
            )
        if self.resized_format not in ("original", "png"):
            raise BadArgument(
                f"resized_format must be 'original' or 'png', not {self.resized_format!r}"
            )
        short = self.short_pages
        if isinstance(short, bool) or not isinstance(short, (int, float)) or not 0 <= short <= 1:
            raise BadArgument(f"short_pages must be a share from 0 to 1, not {short!r}")
        root = self.video_download_root
        if root is not None and (
            not isinstance(root, str)
            or not root.startswith(("http://", "https://"))
            or not root.endswith("/")
        ):
            raise BadArgument(
                f"video_download_root must be an http(s) URL ending in '/', or None: {root!r}"
            )
        if self.invalid_max_item_count not in ("reject", "clamp"):
            raise BadArgument("invalid_max_item_count must be 'reject' or 'clamp'")
        if self.auth not in ("open", "strict"):
            raise BadArgument(f"auth must be 'open' or 'strict', not {self.auth!r}")
        if self.access_token_lifetime <= timedelta(0):
            raise BadArgument("access_token_lifetime must be positive")
        if self.cors_origins is not None and (
            isinstance(self.cors_origins, str)
            or not all(isinstance(o, str) and o for o in self.cors_origins)
        ):
            raise BadArgument(
                f"cors_origins must be a list of origins (or None for any), "
                f"not {self.cors_origins!r}"
            )
        for name, low in (("poll_interval", 0), ("polling_timeout", 0)):
            if getattr(self, name) < timedelta(low):
                raise BadArgument(f"{name} must not be negative, not {getattr(self, name)}")
        for name in ("session_lifetime", "base_url_lifetime"):
            if getattr(self, name) <= timedelta(0):
                raise BadArgument(f"{name} must be positive, not {getattr(self, name)}")
        for name, low, high in (
            ("max_live_sessions", 0, 1_000_000),
            ("max_max_item_count", 1, 1_000_000),
            ("default_max_item_count", 1, self.max_max_item_count),
            ("max_page_size", 1, 1_000_000),
            ("default_page_size", 1, 1_000_000),
            ("library_size", 0, 100_000),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise BadArgument(
                    f"{name} must be a whole number from {low} to {high}, not {value!r}"
                )
        if not isinstance(self.validate_responses, bool):
            raise BadArgument(
                f"validate_responses must be true or false, not {self.validate_responses!r}"
            )
        for name in ("api_root", "picker_uri_prefix", "media_root"):
            if not getattr(self, name).endswith("/"):
                raise BadArgument(f"{name} must end with '/': {getattr(self, name)!r}")


def _normalized(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings with durations given as ``"5s"`` or seconds turned into timedeltas."""
    out = dict(settings)
    for name in (
        "poll_interval",
        "polling_timeout",
        "session_lifetime",
        "base_url_lifetime",
        "access_token_lifetime",
    ):
        if name in out:
            out[name] = parse_duration(out[name])
    origins = out.get("cors_origins")
    if isinstance(origins, (list, tuple)):
        # An origin is scheme://host[:port], without a path: "http://app.test/" is the same.
        out["cors_origins"] = tuple(o.rstrip("/") if isinstance(o, str) else o for o in origins)
    elif origins == "*":
        out["cors_origins"] = None
    return out
