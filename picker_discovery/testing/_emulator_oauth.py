"""The emulator's OAuth shortcuts: register a client, add a test user, press the consent
page's button without a browser, and the endpoint URLs to put in client secrets."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from picker_discovery._errorbase import BadArgument
from picker_discovery.testing._http import Request
from picker_discovery.testing._oauth import (
    AUTH_PATH,
    IDENTITY_SCOPES,
    REVOKE_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
    TestUser,
)

if TYPE_CHECKING:
    from picker_discovery.testing.app import App
    from picker_discovery.testing.backend import Backend

__all__ = ["OAuthControls"]


class OAuthControls:
    """Mixed into :class:`~picker_discovery.testing.emulator.Emulator`."""

    backend: Backend
    app: App

    if TYPE_CHECKING:

        @property
        def url(self) -> str: ...

    @property
    def auth_uri(self) -> str:
        """The authorization endpoint (Google's accounts.google.com/o/oauth2/v2/auth)."""
        return self.url.rstrip("/") + AUTH_PATH

    @property
    def token_uri(self) -> str:
        """The token endpoint (Google's oauth2.googleapis.com/token)."""
        return self.url.rstrip("/") + TOKEN_PATH

    @property
    def revoke_uri(self) -> str:
        return self.url.rstrip("/") + REVOKE_PATH

    @property
    def userinfo_uri(self) -> str:
        return self.url.rstrip("/") + USERINFO_PATH

    def register_client(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        redirect_uris: Iterable[str] = (),
        javascript_origins: Iterable[str] = (),
        kind: str = "web",
    ) -> dict[str, Any]:
        """Register an OAuth client; returns Google's client-secrets JSON for it
        (``{"web": {...}}``, or ``{"installed": {...}}`` for ``kind="installed"``, whose
        loopback redirect URIs may use any port), ready for google-auth-oauthlib's
        ``Flow.from_client_config``. Ids are generated when not given."""
        client = self.backend.oauth.register_client(
            client_id,
            client_secret,
            redirect_uris=redirect_uris,
            javascript_origins=javascript_origins,
            kind=kind,
        )
        return client.config(self.url)

    def add_test_user(self, email: str, name: str | None = None) -> TestUser:
        """A Google account the consent page offers (alice@ and bob@example.com exist)."""
        return self.backend.oauth.add_test_user(email, name)

    def authorize(
        self,
        authorization_url: str,
        *,
        user: str = "alice@example.com",
        allow: bool = True,
        scopes: Sequence[str] | None = None,
    ) -> str:
        """Do what the consent page's Allow (or Deny) does for ``authorization_url``, without
        a browser; returns the URL it redirects to (with ``code``, ``scope`` and ``state``, or
        ``error=access_denied``). ``scopes``: the requested scopes left checked (default all).

        Raises BadArgument for a URL that is not this emulator's authorization endpoint, or a
        request the endpoint refuses (its error page's "Error 400: ..." is in the message).
        """
        parts = urllib.parse.urlsplit(authorization_url)
        mine = urllib.parse.urlsplit(self.auth_uri)
        if (parts.scheme, parts.netloc, parts.path) != (mine.scheme, mine.netloc, mine.path):
            raise BadArgument(
                f"not this emulator's authorization endpoint ({self.auth_uri}): "
                f"{parts.scheme}://{parts.netloc}{parts.path}"
            )
        params = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        requested = dict(params).get("scope", "").split()
        boxes = [s for s in requested if s not in IDENTITY_SCOPES]
        if scopes is not None:
            unknown = set(scopes) - set(requested)
            if unknown:
                raise BadArgument(f"scopes not requested: {' '.join(sorted(unknown))}")
            boxes = [s for s in boxes if s in scopes]
        form = [*params, ("user", user), ("action", "allow" if allow else "deny")]
        form += [("grant", s) for s in boxes]
        body = urllib.parse.urlencode(form).encode()
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "content-length": str(len(body)),
        }
        response = self.app.handle(Request("POST", AUTH_PATH, headers, body))
        location = response.headers.get("Location")
        if response.status != 302 or location is None:
            text = response.body.decode("utf-8", "replace")
            start = text.find("<b>Error")
            what = text[start + 3 : text.find("</b>", start)] if start >= 0 else text[:200]
            raise BadArgument(f"the authorization endpoint refused the request: {what}")
        return location
