"""Who takes part in the emulator's OAuth: registered clients and the test users who sign
in, and the two endpoint paths a client's configuration names.

Records only: :mod:`~picker_discovery.testing._oauth_tokens` (the token side) and
:mod:`~picker_discovery.testing._oauth` (the authorization side) both use them.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

__all__ = ["AUTH_PATH", "TOKEN_PATH", "Client", "TestUser"]

AUTH_PATH = "/o/oauth2/v2/auth"
TOKEN_PATH = "/token"
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


@dataclass(frozen=True)
class Client:
    """A registered OAuth client. ``kind`` is ``"web"`` (redirect URIs match exactly) or
    ``"installed"`` (any loopback ``http://localhost`` or ``127.0.0.1`` port is accepted, as
    Google does for desktop apps)."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] = ()
    javascript_origins: tuple[str, ...] = ()
    kind: str = "web"

    def accepts(self, redirect_uri: str) -> bool:
        if redirect_uri in self.redirect_uris:
            return True
        if self.kind != "installed":
            return False
        parts = urllib.parse.urlsplit(redirect_uri)
        return parts.scheme == "http" and parts.netloc.rsplit(":", 1)[0] in _LOOPBACK_HOSTS

    def config(self, api_root: str) -> dict[str, Any]:
        """Google's client-secrets JSON for this client, its URIs on ``api_root``."""
        body: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "auth_uri": api_root.rstrip("/") + AUTH_PATH,
            "token_uri": api_root.rstrip("/") + TOKEN_PATH,
            "redirect_uris": list(self.redirect_uris),
        }
        if self.kind == "web":
            body["javascript_origins"] = list(self.javascript_origins)
        return {self.kind: body}


@dataclass(frozen=True)
class TestUser:
    """A Google account that can sign in on the consent page."""

    __test__ = False  # not a pytest test class

    email: str
    name: str
    sub: str
