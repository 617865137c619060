"""The fake Picker service's state and rules, with no I/O.

One :class:`Backend` holds users (one per bearer token, made on first use; a token its OAuth
server issued stands for the test user it was issued to, keyed by email), their libraries,
their sessions, the OAuth server's clients and grants (:attr:`Backend.oauth`) and the faults
scripted for the next requests. The in-process transport
(:mod:`picker_discovery.testing.transport`) and the loopback emulator
(:mod:`picker_discovery.testing.emulator`) both answer through it, so every rule is written
once. Time comes from a :class:`FakeClock`: tests advance it instead of sleeping.

The rules follow the project's API facts sheet. Behaviours nobody documents (``[open]`` there)
are settings of :class:`BackendConfig`, each with a comment saying what was chosen and why.

Every method that serves the API raises :class:`ApiError` (code, status, message) for an error
answer, and checks each success answer against the discovery document's schemas.

This module holds the state, its settings and the controls tests use; the parts it is made of
live beside it and are re-exported here: the API methods (:mod:`._handlers`), the error answers
(:mod:`._api_errors`), faults and attempts (:mod:`.faults`), the user and session records
(:mod:`._records`) and the API's time formats (:mod:`._times`).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from picker_discovery import _discovery as discovery
from picker_discovery._clock import FakeClock
from picker_discovery._errorbase import BadArgument, UnknownName
from picker_discovery.testing._api_errors import STATUS_CODES, ApiError
from picker_discovery.testing._config import BackendConfig, _normalized
from picker_discovery.testing._handlers import Handlers
from picker_discovery.testing._oauth import OAuthServer
from picker_discovery.testing._records import Session, User
from picker_discovery.testing._times import (
    MAX_DURATION,
    format_duration,
    format_time,
    parse_duration,
)
from picker_discovery.testing.faults import FAULT_METHODS, Attempt, Fault
from picker_discovery.testing.library import MediaItem, ProcessingStatus, generate_library
from picker_discovery.testing.schema import SchemaValidator

__all__ = [
    "FAULT_METHODS",
    "STATUS_CODES",
    "ApiError",
    "Attempt",
    "Backend",
    "BackendConfig",
    "Fault",
    "Session",
    "User",
    "format_duration",
    "format_time",
    "parse_duration",
]

logger = logging.getLogger(__name__)

# --- the backend -------------------------------------------------------------------------------


class Backend(Handlers):
    """The fake Picker service: users, libraries, sessions, rules, faults and a clock.

    Thread-safe: one lock guards the state, so the threaded emulator can share it. Its
    ``clock`` is by default a frozen :class:`FakeClock` at the real current time.
    """

    def __init__(
        self,
        config: BackendConfig | None = None,
        *,
        clock: FakeClock | None = None,
        document: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        config = config or BackendConfig()
        self._config = replace(config, **_normalized(settings)) if settings else config
        self.clock = clock or FakeClock()
        if document is None:
            document, _ = discovery.load_document()
        self.document: Mapping[str, Any] = document
        self.validator = SchemaValidator(document)
        self._lock = threading.RLock()
        self._secret = secrets.token_bytes(32)
        self._users: dict[str, User] = {}
        self._sessions: dict[str, Session] = {}
        self._media: dict[str, tuple[str, str]] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._attempts: list[Attempt] = []
        self.oauth = OAuthServer()

    # -- settings, reset, inspection ------------------------------------------------------------

    @property
    def config(self) -> BackendConfig:
        return self._config

    def configure(self, **settings: Any) -> BackendConfig:
        """Change settings (the fields of :class:`BackendConfig`); returns the new config.

        Durations may be given as ``"5s"`` strings or seconds.
        """
        with self._lock:
            self._config = replace(self._config, **_normalized(settings))
            return self._config

    def reset(self) -> None:
        """Forget every user, session, fault, attempt and OAuth grant (settings, the clock,
        registered OAuth clients and test users stay)."""
        self.oauth.reset()
        with self._lock:
            self._users.clear()
            self._sessions.clear()
            self._media.clear()
            self._faults.clear()
            self._attempts.clear()

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, seconds: float | timedelta) -> datetime:
        """Move the fake clock forward; returns the new time. A step that is not a finite
        number of seconds from 0 to a century is refused, and the clock does not move."""
        step = seconds.total_seconds() if isinstance(seconds, timedelta) else seconds
        if isinstance(step, bool) or not isinstance(step, (int, float)):
            raise BadArgument(f"advance the clock by seconds (a number), not {seconds!r}")
        if not 0 <= step <= MAX_DURATION:
            raise BadArgument(f"advance the clock by 0 to {MAX_DURATION:.0f} s, not {seconds!r}")
        return self.clock.advance(seconds)

    def user(self, token: str) -> User:
        """The user behind ``token``, made (with a fresh library) on first use."""
        with self._lock:
            user = self._users.get(token)
            if user is None:
                digest = hashlib.sha256(f"{self._config.seed}\0{token}".encode()).hexdigest()[:16]
                user = User(token, generate_library(digest, self._config.library_size))
                self._users[token] = user
            return user

    def _principal(self, token: str) -> tuple[str, frozenset[str] | None]:
        """Whose request a bearer token makes: the user's key and, for a token the OAuth
        server issued, its scopes. In strict mode an unknown, expired or revoked token is
        Google's 401."""
        info = self.oauth.lookup(token, self.clock.now())
        strict = self._config.auth == "strict"
        if info is not None and (info.live or not strict):
            return info.email, info.scopes
        if strict:
            raise ApiError(
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential. See "
                "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                headers={
                    "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                    'error="invalid_token"'
                },
                bare=self._config.unauthenticated_body == "bare",
            )
        return token, None

    def seed_library(
        self,
        token: str,
        *,
        seed: int | str | None = None,
        count: int | None = None,
        items: Sequence[MediaItem] | None = None,
        has_photos_account: bool = True,
        has_picker_scope: bool = True,
    ) -> list[MediaItem]:
        """Give ``token``'s user a new library: ``items``, or ``count`` generated from ``seed``.

        ``has_photos_account=False`` makes sessions.create answer FAILED_PRECONDITION for them;
        ``has_picker_scope=False`` makes their token one without the picker scope: every call
        answers 403 "Request had insufficient authentication scopes."
        Returns the library.
        """
        user = self.user(token)
        if items is not None:
            library = list(items)
        else:
            seed_text = f"{seed}" if seed is not None else f"{self._config.seed}\0{token}"
            library = generate_library(
                seed_text, self._config.library_size if count is None else count
            )
        with self._lock:
            user.library = library
            user.has_photos_account = has_photos_account
            user.has_picker_scope = has_picker_scope
        return list(library)

    def library(self, token: str) -> list[MediaItem]:
        return list(self.user(token).library)

    def set_processing_status(self, token: str, item_id: str, status: str) -> MediaItem:
        """Move a video of ``token``'s library to ``PROCESSING``, ``READY`` or ``FAILED``
        (say, to let a test see a video finish processing between two listings)."""
        if status not in ("PROCESSING", "READY", "FAILED"):
            raise BadArgument(f"status must be PROCESSING, READY or FAILED, not {status!r}")
        user = self.user(token)
        with self._lock:
            item = user.item(item_id)
            if item is None or not item.is_video:
                raise BadArgument(f"{item_id!r} is not a video in this user's library")
            changed = replace(item, processing_status=cast(ProcessingStatus, status))
            user.library = [changed if i.id == item_id else i for i in user.library]
            return changed

    def session(self, session_id: str) -> Session:
        """The session with this id (any owner); ``KeyError`` if there is none."""
        with self._lock:
            try:
                return self._sessions[session_id]
            except KeyError:
                raise UnknownName(f"no session {session_id!r} (deleted, or never made)") from None

    def sessions(self, token: str | None = None) -> list[Session]:
        """Every session, or those of ``token``'s user."""
        with self._lock:
            return [s for s in self._sessions.values() if token is None or s.owner == token]

    # -- faults and attempts --------------------------------------------------------------------

    def set_faults(
        self,
        method: str,
        faults: Iterable[Fault | int | Mapping[str, Any] | None],
        *,
        item_id: str | None = None,
    ) -> None:
        """Script the next requests to ``method`` (one of :data:`FAULT_METHODS`).

        Each request spends one fault, in order; once they are spent requests pass. ``503``
        is short for ``Fault(status=503)``, ``None`` for a request that passes. For
        ``media``, ``item_id`` scripts only the requests for that library item's baseUrls
        (whichever session listed them), so faults land on the item meant however many
        downloads run at once; an item's own script is spent before the method's.
        """
        if item_id is not None and method != "media":
            raise BadArgument(f"item_id scripts media requests only, not {method!r}")
        if method not in FAULT_METHODS:
            raise BadArgument(f"cannot script faults for {method!r}; use one of {FAULT_METHODS}")
        script = [f if isinstance(f, Fault) else Fault.from_json(f) for f in faults]
        for fault in script:
            if fault.status is not None and not 400 <= fault.status <= 599:
                raise BadArgument(f"a fault's status must be 400-599, not {fault.status}")
            if fault.bends_media and method != "media":
                raise BadArgument(
                    "short_range, size_delta, hide_total, ignore_range, range_shift, "
                    "no_accept_ranges and etag bend media answers: "
                    f"script them for 'media', not {method!r}"
                )
        with self._lock:
            self._faults[method if item_id is None else f"{method}\0{item_id}"] = script

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending_faults(self, method: str | None = None) -> int:
        """How many scripted faults are not spent yet."""
        with self._lock:
            return sum(
                len(v)
                for k, v in self._faults.items()
                if method is None or k.partition("\0")[0] == method
            )

    def record_attempt(
        self,
        method: str,
        http_method: str,
        path: str,
        *,
        origin: str = "api",
        headers: Mapping[str, str] | None = None,
        item_id: str | None = None,
    ) -> Fault | None:
        """Note a request's arrival and hand out its next scripted fault (the item's own
        script first, for a media request whose item is known, then its method's).

        ``headers`` are kept without Authorization (only whether it was sent), so the record
        never holds a token.
        """
        return self.arrive(
            method, http_method, path, origin=origin, headers=headers, item_id=item_id
        )[1]

    def arrive(
        self,
        method: str,
        http_method: str,
        path: str,
        *,
        origin: str = "api",
        headers: Mapping[str, str] | None = None,
        item_id: str | None = None,
    ) -> tuple[Attempt, Fault | None]:
        """:meth:`record_attempt`, also returning the attempt (for :meth:`note_sent`)."""
        sent = {k.lower(): v for k, v in (headers or {}).items()}
        authorized = bool(sent.pop("authorization", "").strip())
        attempt = Attempt(
            method, http_method, path, self.clock.now(), time.monotonic(), origin, sent, authorized
        )
        with self._lock:
            self._attempts.append(attempt)
            script = self._faults.get(f"{method}\0{item_id}") if item_id is not None else None
            if not script:
                script = self._faults.get(method)
            return attempt, (script.pop(0) if script else None)

    def note_sent(self, attempt: Attempt, sent: int) -> None:
        """Record how many body bytes went out in answer to ``attempt``."""
        with self._lock:
            attempts = self._attempts
            for index in range(len(attempts) - 1, -1, -1):  # newest first: it is near the end
                if attempts[index] is attempt:
                    attempts[index] = replace(attempt, sent=sent)
                    return

    def attempts(self, method: str | None = None) -> list[Attempt]:
        """The requests that arrived, oldest first, optionally only those to ``method``."""
        with self._lock:
            return [a for a in self._attempts if method is None or a.method == method]

    def clear_attempts(self) -> None:
        with self._lock:
            self._attempts.clear()

    # -- controls on sessions -------------------------------------------------------------------

    def pick(
        self,
        session_id: str,
        item_ids: Sequence[str] | None = None,
        *,
        first: int | None = None,
    ) -> list[str]:
        """Finish picking in ``session_id`` as its user would, without a browser.

        Picks ``item_ids``, or the ``first`` N items of the library, or (neither given) as
        many as ``maxItemCount`` allows from the start of the library. Returns the ids picked.

        Raises:
            KeyError: no such session.
            ValueError: the session was already picked or has expired, an id is not in the
                user's library, or more items than ``maxItemCount`` were asked for.
        """
        with self._lock:
            session = self.session(session_id)
            user = self.user(session.owner)
            if session.media_items_set:
                raise BadArgument(f"session {session_id} was already picked; create a new one")
            if session.expired(self.clock.now()):
                raise BadArgument(f"session {session_id} has expired; create a new one")
            if item_ids is None:
                count = session.max_item_count if first is None else first
                if count < 0:
                    raise BadArgument(f"cannot pick the first {count} items")
                item_ids = [item.id for item in user.library[:count]]
            ids = list(dict.fromkeys(item_ids))
            unknown = [i for i in ids if user.item(i) is None]
            if unknown:
                raise BadArgument(f"not in the user's library: {', '.join(unknown)}")
            if len(ids) > session.max_item_count:
                raise BadArgument(
                    f"{len(ids)} items is more than this session's maxItemCount "
                    f"{session.max_item_count}"
                )
            if not ids:
                raise BadArgument("pick at least one item: the picker's Done needs one")
            session.picked = ids
            logger.info("session %s: %d items picked", session_id, len(ids))
            return list(ids)

    def expire_session(self, session_id: str) -> None:
        """Make the session's expireTime now: gets answer PERMISSION_DENIED from here on."""
        with self._lock:
            session = self.session(session_id)
            session.expire_time = min(session.expire_time, self.clock.now())

    def expire_base_urls(self, session_id: str) -> None:
        """End the lifetime of the baseUrls listed so far (listing again renews them)."""
        with self._lock:
            session = self.session(session_id)
            if session.base_urls_issued is not None:
                session.base_urls_issued = (
                    self.clock.now() - self._config.base_url_lifetime - timedelta(seconds=1)
                )

    # -- the picking page -----------------------------------------------------------------------

    def page_session(self, session_id: str) -> tuple[Session, list[MediaItem]]:
        """The session a picking page URL names and its owner's library (no token: the id in
        the URL stands for Google's sign-in). ``KeyError`` if there is no such session."""
        with self._lock:
            session = self.session(session_id)
            return session, list(self.user(session.owner).library)
