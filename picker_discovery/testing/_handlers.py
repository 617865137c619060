"""The API methods of the fake service (sessions.create/get/delete, mediaItems.list, media),
over the state a :class:`~picker_discovery.testing.backend.Backend` holds."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import threading
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from picker_discovery._discovery import SCOPE
from picker_discovery.testing._api_errors import ApiError, service_disabled
from picker_discovery.testing._records import Session, User
from picker_discovery.testing._times import format_create_time, format_duration, format_time
from picker_discovery.testing.library import MediaItem
from picker_discovery.testing.schema import SchemaValidator

if TYPE_CHECKING:
    from picker_discovery._clock import FakeClock
    from picker_discovery.testing._config import BackendConfig

__all__ = ["Handlers"]

# The service logs as one logger, whichever of its modules speaks.
logger = logging.getLogger("picker_discovery.testing.backend")

_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_INT_RE = re.compile(r"^[+-]?\d+$")


class Handlers:
    """The API's methods of :class:`~picker_discovery.testing.backend.Backend`."""

    # The state they answer from, set up by Backend.
    clock: FakeClock
    validator: SchemaValidator
    _config: BackendConfig
    _lock: threading.RLock
    _secret: bytes
    _sessions: dict[str, Session]
    _media: dict[str, tuple[str, str]]

    if TYPE_CHECKING:

        def user(self, token: str) -> User: ...

        def _principal(self, token: str) -> tuple[str, frozenset[str] | None]: ...

    # -- the API --------------------------------------------------------------------------------

    def _authenticate(self, token: str | None) -> User:
        if not token:
            raise ApiError(
                "UNAUTHENTICATED",
                "Request is missing required authentication credential. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential. See "
                "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                reason="CREDENTIALS_MISSING",
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
                bare=self._config.unauthenticated_body == "bare",
            )
        if not self._config.api_enabled:
            raise service_disabled(self._config.project_number)
        key, scopes = self._principal(token)
        user = self.user(key)
        if not user.has_picker_scope or (scopes is not None and SCOPE not in scopes):
            raise ApiError("PERMISSION_DENIED", "Request had insufficient authentication scopes.")
        return user

    def _owned_session(self, token: str, session_id: str) -> Session:
        session = self._sessions.get(session_id)
        if session is None or session.owner != token:
            # Another user's session answers exactly like a missing one: ids leak nothing.
            raise ApiError("NOT_FOUND", "Requested entity was not found.")
        return session

    def _check_live(self, session: Session) -> None:
        if session.expired(self.clock.now()):
            raise ApiError(
                "PERMISSION_DENIED",
                f"Access to session {session.id} has expired. Create a new session.",
            )

    def _parse_max_item_count(self, raw: Any) -> int:
        cfg = self._config
        if raw is None:
            return cfg.default_max_item_count
        if isinstance(raw, bool) or not (
            isinstance(raw, int) or (isinstance(raw, str) and _INT_RE.match(raw))
        ):
            raise ApiError(
                "INVALID_ARGUMENT",
                f"Invalid value at 'picking_session.picking_config.max_item_count' (TYPE_INT64), "
                f"{json.dumps(raw)}",
            )
        value = int(raw)
        if 1 <= value <= cfg.max_max_item_count:
            return value
        if cfg.invalid_max_item_count == "clamp":
            return cfg.default_max_item_count if value < 1 else cfg.max_max_item_count
        raise ApiError(
            "INVALID_ARGUMENT",
            f"pickingConfig.maxItemCount must be between 1 and {cfg.max_max_item_count}, "
            f"got {value}.",
        )

    def _session_json(self, session: Session) -> dict[str, Any]:
        now = self.clock.now()
        body: dict[str, Any] = {
            "id": session.id,
            "pickerUri": self._config.picker_uri_prefix + session.id,
        }
        if not session.media_items_set:
            left = session.create_time + self._config.polling_timeout - now
            body["pollingConfig"] = {
                "pollInterval": format_duration(self._config.poll_interval),
                "timeoutIn": format_duration(max(left, timedelta(0))),
            }
        body["expireTime"] = format_time(session.expire_time)
        body["pickingConfig"] = dict(session.picking_config)
        body["mediaItemsSet"] = session.media_items_set
        return self._valid("PickingSession", body)

    def _valid(self, schema: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._config.validate_responses:
            self.validator.validate(schema, body)
        return body

    def create_session(
        self,
        token: str | None,
        body: Any = None,
        *,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """sessions.create: a new session for the token's user."""
        user = self._authenticate(token)
        if body is None:
            body = {}
        if not isinstance(body, Mapping):
            raise ApiError("INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object.")
        for key in body:
            if key not in (
                "pickingConfig",
                "id",
                "pickerUri",
                "pollingConfig",
                "expireTime",
                "mediaItemsSet",
            ):
                raise ApiError(
                    "INVALID_ARGUMENT",
                    f"Invalid JSON payload received. Unknown name \"{key}\" at 'picking_session': "
                    "Cannot find field.",
                )
        raw_config = body.get("pickingConfig") or {}
        if not isinstance(raw_config, Mapping):
            raise ApiError("INVALID_ARGUMENT", "pickingConfig must be an object.")
        known = self.validator.properties("PickingConfig")
        for key in raw_config:
            if key not in known:
                raise ApiError(
                    "INVALID_ARGUMENT",
                    f'Invalid JSON payload received. Unknown name "{key}" at '
                    "'picking_session.picking_config': Cannot find field.",
                )
        if request_id is not None and not _UUID_RE.match(request_id):
            # [open] Google documents a UUID; the version digit is not checked here.
            raise ApiError(
                "INVALID_ARGUMENT",
                f"requestId must be a UUID (8-4-4-4-12 hexadecimal digits), got {request_id!r}.",
            )
        max_items = self._parse_max_item_count(raw_config.get("maxItemCount"))
        picking_config: dict[str, Any] = {"maxItemCount": str(max_items)}
        for flag in ("showEducationBanner", "showZeroState", "showExpandedAppBar"):
            if isinstance(raw_config.get(flag), bool):
                picking_config[flag] = raw_config[flag]
        with self._lock:
            if not user.has_photos_account:
                raise ApiError(
                    "FAILED_PRECONDITION",
                    "The user does not have a Google Photos account. They need to open Google "
                    "Photos once before picking.",
                )
            now = self.clock.now()
            live = [
                s for s in self._sessions.values() if s.owner == user.token and not s.expired(now)
            ]
            if len(live) >= self._config.max_live_sessions:
                raise ApiError(
                    "RESOURCE_EXHAUSTED",
                    f"The user has too many active sessions ({len(live)}). Delete finished "
                    "sessions with sessions.delete and try again.",
                    reason="TOO_MANY_SESSIONS",
                )
            # [open] requestId is not documented as an idempotency key: each create makes a
            # new session even when the requestId repeats.
            session = Session(
                id=str(uuid.uuid4()),
                owner=user.token,
                create_time=now,
                expire_time=now + self._config.session_lifetime,
                max_item_count=max_items,
                picking_config=picking_config,
                request_id=request_id,
            )
            self._sessions[session.id] = session
            logger.info("created session %s", session.id)
            return self._session_json(session)

    def get_session(self, token: str | None, session_id: str) -> dict[str, Any]:
        """sessions.get."""
        user = self._authenticate(token)
        with self._lock:
            session = self._owned_session(user.token, session_id)
            self._check_live(session)
            return self._session_json(session)

    def delete_session(self, token: str | None, session_id: str) -> dict[str, Any]:
        """sessions.delete. [open] An expired session can still be deleted (Google asks
        clients to delete every session, also after a timeout)."""
        user = self._authenticate(token)
        with self._lock:
            session = self._owned_session(user.token, session_id)
            del self._sessions[session.id]
            for key in session.media_keys.values():
                self._media.pop(key, None)
            logger.info("deleted session %s", session.id)
            return self._valid("Empty", {})

    def _page_token(self, session_id: str, offset: int, page: int = 0) -> str:
        data = json.dumps([session_id, offset, page]).encode()
        payload = base64.urlsafe_b64encode(data).rstrip(b"=")
        mac = hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]
        return (payload + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode("ascii")

    def _read_page_token(self, session_id: str, token: str) -> tuple[int, int]:
        bad = ApiError(
            "INVALID_ARGUMENT",
            "Invalid page token. Use the nextPageToken of the previous page of this session.",
        )
        try:
            payload_text, mac_text = token.split(".")
            payload = payload_text.encode("ascii")
            mac = base64.urlsafe_b64decode(mac_text + "=" * (-len(mac_text) % 4))
            expected = hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]
            if not hmac.compare_digest(mac, expected):
                raise bad
            sid, offset, page = json.loads(
                base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4))
            )
        except (ValueError, UnicodeError, binascii.Error, TypeError):
            raise bad from None
        if sid != session_id or not all(isinstance(n, int) and n >= 0 for n in (offset, page)):
            raise bad
        return offset, page

    def _page_length(self, offset: int, page: int, size: int) -> int:
        """How many items page number ``page`` (from ``offset``) holds: ``size``, or fewer
        for the share of pages the ``short_pages`` setting asks for. The pattern comes from
        the seed alone, not the session's random id, so a seed gives every session the same
        page lengths, run after run, and a token always answers the same page; an odd page is
        never empty, so no two empty pages follow each other."""
        share = self._config.short_pages
        if not share:
            return size
        digest = hashlib.sha256(f"{self._config.seed}\0{offset}\0{page}".encode())
        draw = int.from_bytes(digest.digest()[:8], "big")
        if (draw % 10_000) >= share * 10_000:
            return size
        low = 1 if page % 2 else 0
        return low + (draw >> 16) % max(1, size - low)

    def list_media_items(
        self,
        token: str | None,
        session_id: str | None,
        *,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """mediaItems.list: one page of the items picked in a session."""
        user = self._authenticate(token)
        if not session_id:
            raise ApiError("INVALID_ARGUMENT", "sessionId is required.")
        if page_size is not None and page_size < 0:
            raise ApiError("INVALID_ARGUMENT", f"pageSize must not be negative, got {page_size}.")
        size = page_size or self._config.default_page_size
        size = min(size, self._config.max_page_size)
        with self._lock:
            session = self._owned_session(user.token, session_id)
            self._check_live(session)
            if session.picked is None:
                raise ApiError(
                    "FAILED_PRECONDITION",
                    "The user has not finished picking media items yet. Poll sessions.get until "
                    "mediaItemsSet is true.",
                )
            offset, page = self._read_page_token(session.id, page_token) if page_token else (0, 0)
            now = self.clock.now()
            session.base_urls_issued = now
            size = self._page_length(offset, page, size)
            page_ids = session.picked[offset : offset + size]
            items = []
            for item_id in page_ids:
                item = user.item(item_id)
                if item is None:  # removed by a later seed_library; Google would skip it too
                    continue
                items.append(self._item_json(session, item))
            body: dict[str, Any] = {}
            if items:
                body["mediaItems"] = items
            if offset + size < len(session.picked):
                body["nextPageToken"] = self._page_token(session.id, offset + size, page + 1)
            return self._valid("ListMediaItemsResponse", body)

    def _media_key(self, session: Session, item_id: str) -> str:
        key = session.media_keys.get(item_id)
        if key is None:
            raw = hmac.new(self._secret, f"{session.id}\0{item_id}".encode(), hashlib.sha256)
            key = "AGgF" + base64.urlsafe_b64encode(raw.digest()).decode("ascii").rstrip("=")
            session.media_keys[item_id] = key
            self._media[key] = (session.id, item_id)
        return key

    def _item_json(self, session: Session, item: MediaItem) -> dict[str, Any]:
        return {
            "id": item.id,
            "createTime": format_create_time(item.create_time),
            "type": item.type,
            "mediaFile": {
                "baseUrl": self._config.media_root + self._media_key(session, item.id),
                "mimeType": item.mime_type,
                "filename": item.filename,
                "mediaFileMetadata": item.metadata_json(),
            },
        }

    def item_id_for_key(self, key: str) -> str | None:
        """The library item id a baseUrl's key stands for, if it was ever listed."""
        with self._lock:
            found = self._media.get(key)
            return found[1] if found is not None else None

    def media_item_for_key(self, token: str | None, key: str) -> MediaItem:
        """The item behind a baseUrl's key, if ``token`` may fetch it now.

        Raises ``ApiError``: 401 without a token, 404 for an unknown key (a deleted session's
        keys are forgotten), 403 for another user's token, an expired session, or a baseUrl
        past its lifetime.
        """
        if not token:
            raise ApiError("UNAUTHENTICATED", "Sign in: send the session owner's bearer token.")
        owner, _ = self._principal(token)
        with self._lock:
            found = self._media.get(key)
            if found is None:
                raise ApiError("NOT_FOUND", "No such media: list the session again for baseUrls.")
            session_id, item_id = found
            session = self._sessions.get(session_id)
            if session is None:
                raise ApiError("PERMISSION_DENIED", "The session of this baseUrl was deleted.")
            if session.owner != owner:
                raise ApiError(
                    "PERMISSION_DENIED", "This baseUrl belongs to another user's session."
                )
            now = self.clock.now()
            if session.expired(now):
                raise ApiError("PERMISSION_DENIED", "The session of this baseUrl has expired.")
            issued = session.base_urls_issued
            if issued is None or now >= issued + self._config.base_url_lifetime:
                raise ApiError(
                    "PERMISSION_DENIED",
                    "This baseUrl has expired (they live "
                    f"{format_duration(self._config.base_url_lifetime)}). List the session's "
                    "media items again for fresh ones.",
                )
            item = self.user(session.owner).item(item_id)
            if item is None:
                raise ApiError("NOT_FOUND", "The media item is gone from the user's library.")
            return item
