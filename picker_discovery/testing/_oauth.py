"""Google's OAuth 2.0 as the emulator plays it: clients, test users, codes, grants and tokens.

State and rules only, no I/O: the routes (:mod:`picker_discovery.testing._oauth_routes`) read
the HTTP requests and render the pages. The behaviour follows Google's documented endpoints:

* the authorization request (``/o/oauth2/v2/auth``) is checked (known client, a registered
  ``redirect_uri``, ``response_type=code``, a scope, PKCE ``S256`` only) before the consent page
  is shown, and an invalid one never redirects;
* consent makes a single-use code (10 minutes) bound to the client, the ``redirect_uri``, the
  user, the granted scopes and the PKCE challenge; ``include_granted_scopes=true`` adds the
  scopes this user granted this client before;
* a refresh token comes with ``access_type=offline`` on the first consent or with
  ``prompt=consent``, as at Google;
* the token endpoint answers Google's error bodies (``invalid_grant``, ``invalid_client``,
  ``redirect_uri_mismatch``, ``unsupported_grant_type``, ``invalid_request``);
* revoking any token of a grant revokes everything the user granted that client (its refresh
  tokens and their access tokens), as Google's revocation does.

Access tokens expire after the backend's ``access_token_lifetime``, on the backend's clock.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from picker_discovery._errorbase import BadArgument, PickerError
from picker_discovery.testing._oauth_clients import AUTH_PATH, TOKEN_PATH, Client, TestUser
from picker_discovery.testing._oauth_tokens import (
    OAuthError,
    TokenEndpoint,
    TokenInfo,
    _Code,
    _Grant,
)

__all__ = [
    "AUTH_PATH",
    "CODE_LIFETIME",
    "IDENTITY_SCOPES",
    "REVOKE_PATH",
    "TOKEN_PATH",
    "USERINFO_PATH",
    "AuthRequest",
    "Client",
    "OAuthError",
    "OAuthServer",
    "PageError",
    "TestUser",
    "TokenInfo",
]

REVOKE_PATH = "/revoke"
USERINFO_PATH = "/oauth2/v3/userinfo"
CODE_LIFETIME = timedelta(minutes=10)
# Scopes the consent page does not offer as a checkbox: who you are, not what the app may do.
IDENTITY_SCOPES = frozenset(
    {
        "openid",
        "email",
        "profile",
        "https://www.googleapis.com/auth/userinfo.email",
        "https://www.googleapis.com/auth/userinfo.profile",
    }
)
DEFAULT_USERS = (("alice@example.com", "Alice Example"), ("bob@example.com", "Bob Example"))


class PageError(PickerError):
    """An authorization request Google answers with an error page ("Error 400:
    redirect_uri_mismatch"), never with a redirect."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"Error {status}: {error}")
        self.status = status
        self.error = error
        self.description = description


@dataclass(frozen=True)
class AuthRequest:
    """A checked authorization request (the consent page's parameters)."""

    client: Client
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    offline: bool
    prompt: tuple[str, ...]
    include_granted_scopes: bool
    login_hint: str | None

    def params(self) -> dict[str, str]:
        """The request's parameters again (the consent form carries them back)."""
        out = {
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": " ".join(self.scopes),
            "access_type": "offline" if self.offline else "online",
        }
        if self.state is not None:
            out["state"] = self.state
        if self.code_challenge is not None:
            out["code_challenge"] = self.code_challenge
            out["code_challenge_method"] = "S256"
        if self.prompt:
            out["prompt"] = " ".join(self.prompt)
        if self.include_granted_scopes:
            out["include_granted_scopes"] = "true"
        if self.login_hint:
            out["login_hint"] = self.login_hint
        return out


class OAuthServer(TokenEndpoint):
    """Clients, test users, pending codes, grants and tokens. Thread-safe.

    :meth:`reset` forgets codes, grants and tokens; registered clients and test users stay,
    like the backend's settings.
    """

    IDENTITY = IDENTITY_SCOPES

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._clients: dict[str, Client] = {}
        self._users: dict[str, TestUser] = {}
        for email, name in DEFAULT_USERS:
            self.add_test_user(email, name)
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._codes: dict[str, _Code] = {}
            self._grants: list[_Grant] = []
            self._refresh: dict[str, _Grant] = {}
            self._access: dict[str, tuple[_Grant, datetime]] = {}
            # Scopes each user granted each client (include_granted_scopes adds them), and
            # whether a refresh token was handed out already (Google gives one on first consent).
            self._consented: dict[tuple[str, str], set[str]] = {}

    # -- clients and users ----------------------------------------------------------------------

    def register_client(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        redirect_uris: Iterable[str] = (),
        javascript_origins: Iterable[str] = (),
        kind: str = "web",
    ) -> Client:
        if kind not in ("web", "installed"):
            raise BadArgument(f"kind must be 'web' or 'installed', not {kind!r}")
        uris = tuple(redirect_uris)
        origins = tuple(javascript_origins)
        for value in (*uris, *origins):
            if not isinstance(value, str) or not value.startswith(("http://", "https://")):
                raise BadArgument(f"redirect URIs and origins must be http(s) URLs: {value!r}")
        client = Client(
            client_id or f"{secrets.randbelow(10**12):012d}-emu.apps.googleusercontent.com",
            client_secret or f"GOCSPX-{secrets.token_urlsafe(21)}",
            uris,
            origins,
            kind,
        )
        with self._lock:
            self._clients[client.client_id] = client
        return client

    def client(self, client_id: str) -> Client | None:
        with self._lock:
            return self._clients.get(client_id)

    def add_test_user(self, email: str, name: str | None = None) -> TestUser:
        if not isinstance(email, str) or email.count("@") != 1 or email.strip() != email:
            raise BadArgument(f"a test user needs an email address, not {email!r}")
        sub = str(int(hashlib.sha256(email.lower().encode()).hexdigest()[:15], 16))
        user = TestUser(email, name or email.split("@")[0].title(), sub)
        with self._lock:
            self._users[email] = user
        return user

    def _user(self, email: str) -> TestUser:
        with self._lock:
            return self._users.get(email) or TestUser(email, email, "0")

    def test_users(self) -> list[TestUser]:
        with self._lock:
            return list(self._users.values())

    # -- the authorization endpoint -------------------------------------------------------------

    def check_request(self, params: Mapping[str, str]) -> AuthRequest:
        """The authorization request, or a :class:`PageError` saying what is wrong with it."""

        def need(name: str) -> str:
            value = params.get(name, "")
            if not value:
                raise PageError(400, "invalid_request", f"Missing required parameter: {name}")
            return value

        client_id = need("client_id")
        client = self.client(client_id)
        if client is None:
            raise PageError(401, "invalid_client", "The OAuth client was not found.")
        redirect_uri = need("redirect_uri")
        if not client.accepts(redirect_uri):
            raise PageError(
                400,
                "redirect_uri_mismatch",
                f"You can't sign in to this app because it doesn't comply with Google's OAuth "
                f"2.0 policy. redirect_uri={redirect_uri} is not registered for this client.",
            )
        response_type = need("response_type")
        if response_type != "code":
            raise PageError(
                400, "unsupported_response_type", f"Invalid response_type: {response_type}"
            )
        scopes = tuple(dict.fromkeys(need("scope").split()))
        method = params.get("code_challenge_method", "")
        challenge = params.get("code_challenge") or None
        if method and method != "S256":
            raise PageError(
                400, "invalid_request", f"Invalid code_challenge_method: {method} (use S256)."
            )
        if challenge is not None and not method:
            raise PageError(400, "invalid_request", "Missing code_challenge_method (use S256).")
        if method and challenge is None:
            raise PageError(400, "invalid_request", "Missing required parameter: code_challenge")
        access_type = params.get("access_type", "online") or "online"
        if access_type not in ("online", "offline"):
            raise PageError(400, "invalid_request", f"Invalid access_type: {access_type}")
        prompt = tuple(params.get("prompt", "").split())
        if any(p not in ("none", "consent", "select_account") for p in prompt) or (
            "none" in prompt and len(prompt) > 1
        ):
            raise PageError(400, "invalid_request", f"Invalid prompt: {' '.join(prompt)}")
        return AuthRequest(
            client,
            redirect_uri,
            scopes,
            params.get("state"),
            challenge,
            access_type == "offline",
            prompt,
            params.get("include_granted_scopes", "").lower() == "true",
            params.get("login_hint") or None,
        )

    def consent(
        self,
        request: AuthRequest,
        *,
        email: str,
        allow: bool,
        now: datetime,
        scopes: Sequence[str] | None = None,
    ) -> str:
        """What the consent page's Allow or Deny does: the redirect URL, with ``code``,
        ``scope`` and ``state`` or with ``error=access_denied``. ``scopes`` is what the user
        left checked (identity scopes are always granted); None grants all."""
        if not allow:
            return self._redirect(request, {"error": "access_denied"})
        with self._lock:
            if email not in self._users:
                raise BadArgument(f"no test user {email!r}; add one with add_test_user")
            granted = set(request.scopes) if scopes is None else set(scopes)
            extra = granted - set(request.scopes)
            if extra:
                raise BadArgument(f"scopes not requested: {' '.join(sorted(extra))}")
            granted |= set(request.scopes) & IDENTITY_SCOPES
            key = (request.client.client_id, email)
            before = self._consented.get(key)
            if request.include_granted_scopes and before:
                granted |= before
            refresh = request.offline and (before is None or "consent" in request.prompt)
            self._consented[key] = (before or set()) | granted
            code = f"4/0Emu{secrets.token_urlsafe(32)}"
            self._codes[code] = _Code(
                request.client.client_id,
                request.redirect_uri,
                email,
                frozenset(granted),
                request.code_challenge,
                refresh,
                now + CODE_LIFETIME,
            )
        ordered = [s for s in request.scopes if s in granted]
        ordered += sorted(granted - set(ordered))
        return self._redirect(request, {"code": code, "scope": " ".join(ordered)})

    def silent(self, request: AuthRequest, *, now: datetime) -> str:
        """``prompt=none``: a code at once if ``login_hint`` (else the first test user) granted
        this client every requested scope before, else ``error=interaction_required``."""
        with self._lock:
            email = request.login_hint or next(iter(self._users), "")
            before = self._consented.get((request.client.client_id, email), set())
            if email in self._users and set(request.scopes) <= before:
                return self.consent(request, email=email, allow=True, now=now)
        return self._redirect(request, {"error": "interaction_required"})

    @staticmethod
    def _redirect(request: AuthRequest, params: dict[str, str]) -> str:
        if request.state is not None:
            params["state"] = request.state
        parts = urllib.parse.urlsplit(request.redirect_uri)
        query = "&".join(q for q in (parts.query, urllib.parse.urlencode(params)) if q)
        return urllib.parse.urlunsplit(parts._replace(query=query))
