"""The token side of the emulator's OAuth server: the token endpoint (code exchange and refresh
grants, Google's error bodies), revocation, the userinfo endpoint and access-token lookups.

State and rules only, no I/O; :class:`~picker_discovery.testing._oauth.OAuthServer` mixes it in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from picker_discovery._errorbase import PickerError

if TYPE_CHECKING:
    from picker_discovery.testing._oauth_clients import Client, TestUser

__all__ = ["OAuthError", "TokenEndpoint", "TokenInfo"]


class OAuthError(PickerError):
    """An error answer of the token, revocation or userinfo endpoint, in Google's shape:
    ``{"error": ..., "error_description": ...}`` with an HTTP status."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    email: str
    scopes: frozenset[str]
    challenge: str | None
    refresh: bool
    expires: datetime


@dataclass
class _Grant:
    client_id: str
    email: str
    scopes: frozenset[str]
    refresh_token: str | None
    revoked: bool = False
    access_tokens: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class TokenInfo:
    """What an issued access token stands for, and whether it still works."""

    email: str
    scopes: frozenset[str]
    live: bool  # False once expired or revoked


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class TokenEndpoint:
    """The token endpoint, revocation and lookups, over the state OAuthServer keeps."""

    _lock: threading.RLock
    _users: dict[str, TestUser]
    _codes: dict[str, _Code]
    _grants: list[_Grant]
    _refresh: dict[str, _Grant]
    _access: dict[str, tuple[_Grant, datetime]]
    _consented: dict[tuple[str, str], set[str]]
    IDENTITY: frozenset[str] = frozenset()

    if TYPE_CHECKING:

        def client(self, client_id: str) -> Client | None: ...

        def _user(self, email: str) -> TestUser: ...

    # -- the token endpoint ---------------------------------------------------------------------

    def token(
        self,
        form: Mapping[str, str],
        *,
        basic: tuple[str, str] | None,
        now: datetime,
        lifetime: timedelta,
    ) -> dict[str, Any]:
        """Answer one token request (its form, and HTTP Basic client credentials if sent)."""
        grant_type = form.get("grant_type", "")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        client = self._authenticate_client(form, basic)
        with self._lock:
            if grant_type == "authorization_code":
                grant = self._exchange(client, form, now)
            else:
                grant = self._refreshed(client, form)
            access = f"ya29.emu-{secrets.token_urlsafe(32)}"
            self._access[access] = (grant, now + lifetime)
            grant.access_tokens.add(access)
            answer: dict[str, Any] = {
                "access_token": access,
                "expires_in": int(lifetime.total_seconds()),
                "scope": " ".join(sorted(grant.scopes)),
                "token_type": "Bearer",
            }
            if grant_type == "authorization_code" and grant.refresh_token is not None:
                answer["refresh_token"] = grant.refresh_token
            if "openid" in grant.scopes:
                answer["id_token"] = self._id_token(client, grant.email, now)
            return answer

    def _authenticate_client(
        self, form: Mapping[str, str], basic: tuple[str, str] | None
    ) -> Client:
        client_id, secret = basic if basic is not None else ("", "")
        client_id = client_id or form.get("client_id", "")
        secret = secret or form.get("client_secret", "")
        if not client_id:
            raise OAuthError(400, "invalid_request", "Missing required parameter: client_id")
        client = self.client(client_id)
        if client is None:
            raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
        if not secret:
            raise OAuthError(400, "invalid_request", "client_secret is missing.")
        if not hmac.compare_digest(secret.encode(), client.client_secret.encode()):
            raise OAuthError(401, "invalid_client", "Unauthorized")
        return client

    def _exchange(self, client: Client, form: Mapping[str, str], now: datetime) -> _Grant:
        value = form.get("code", "")
        if not value:
            raise OAuthError(400, "invalid_request", "Missing required parameter: code")
        code = self._codes.pop(value, None)  # single use, whatever the outcome
        if code is None or code.client_id != client.client_id or now >= code.expires:
            raise OAuthError(400, "invalid_grant", "Bad Request")
        redirect_uri = form.get("redirect_uri", "")
        if not redirect_uri:
            raise OAuthError(400, "invalid_request", "Missing required parameter: redirect_uri")
        if redirect_uri != code.redirect_uri:
            raise OAuthError(400, "redirect_uri_mismatch", "Bad Request")
        verifier = form.get("code_verifier", "")
        if code.challenge is not None and not verifier:
            raise OAuthError(400, "invalid_grant", "Missing code verifier.")
        if code.challenge is not None and not hmac.compare_digest(_s256(verifier), code.challenge):
            raise OAuthError(400, "invalid_grant", "Invalid code verifier.")
        refresh = f"1//0emu{secrets.token_urlsafe(40)}" if code.refresh else None
        grant = _Grant(client.client_id, code.email, code.scopes, refresh)
        self._grants.append(grant)
        if refresh is not None:
            self._refresh[refresh] = grant
        return grant

    def _refreshed(self, client: Client, form: Mapping[str, str]) -> _Grant:
        value = form.get("refresh_token", "")
        if not value:
            raise OAuthError(400, "invalid_request", "Missing required parameter: refresh_token")
        grant = self._refresh.get(value)
        if grant is None or grant.revoked:
            raise OAuthError(400, "invalid_grant", "Token has been expired or revoked.")
        if grant.client_id != client.client_id:
            raise OAuthError(401, "unauthorized_client", "Unauthorized")
        return grant

    def _id_token(self, client: Client, email: str, now: datetime) -> str:
        """An unsigned JWT with the claims apps read (the emulator signs nothing)."""
        user = self._user(email)
        claims = {
            "iss": "https://accounts.google.com",
            "aud": client.client_id,
            "sub": user.sub,
            "email": email,
            "email_verified": True,
            "name": user.name,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + 3600,
        }

        def part(data: Mapping[str, Any]) -> str:
            raw = json.dumps(data, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.emulator"

    # -- revocation, lookups --------------------------------------------------------------------

    def revoke(self, token: str) -> None:
        """Revoke everything the user granted the client behind ``token`` (an access or a
        refresh token)."""
        with self._lock:
            grant = self._refresh.get(token)
            if grant is None and token in self._access:
                grant = self._access[token][0]
            if grant is None or grant.revoked:
                raise OAuthError(400, "invalid_token", "Token expired or revoked")
            for other in self._grants:
                if (other.client_id, other.email) == (grant.client_id, grant.email):
                    other.revoked = True
            self._consented.pop((grant.client_id, grant.email), None)

    def issued_tokens(self) -> list[str]:
        """Every access and refresh token issued since the last reset, for tests that prove
        no token reaches a log, an error or the attempt log."""
        with self._lock:
            refresh = [g.refresh_token for g in self._grants if g.refresh_token is not None]
            return [*self._access, *refresh]

    def lookup(self, token: str, now: datetime) -> TokenInfo | None:
        """What an access token issued here stands for; None for a token never issued here."""
        with self._lock:
            found = self._access.get(token)
            if found is None:
                return None
            grant, expires = found
            return TokenInfo(grant.email, grant.scopes, not grant.revoked and now < expires)

    def userinfo(self, token: str | None, now: datetime) -> dict[str, Any]:
        """The OpenID userinfo of a live access token (the fields its scopes allow)."""
        info = self.lookup(token, now) if token else None
        if info is None or not info.live:
            raise OAuthError(401, "invalid_request", "Invalid Credentials")
        user = self._user(info.email)
        body: dict[str, Any] = {"sub": user.sub}
        if info.scopes & self.IDENTITY:
            body.update(email=user.email, email_verified=True, name=user.name)
        return body
