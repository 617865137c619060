"""Signing people in to a web app with Google, and keeping their tokens (the ``web`` extra).

The web-server OAuth flow for the picker scope, on google-auth-oauthlib's ``Flow`` with a
random ``state`` and PKCE (S256) checked, and a small token store (SQLite by default, one row
per user) that every refresh updates. ``pip install 'picker-discovery[web]'``. In a Flask app::

    from picker_discovery import PickerClient
    from picker_discovery.errors import AccessNotGranted, SignInRequired
    from picker_discovery.web import PendingSignIn, SQLiteTokenStore, WebSignIn

    signin = WebSignIn.from_client_secrets_file(
        "client_secret.json",
        redirect_uri="https://app.example/oauth2callback",
        store=SQLiteTokenStore("instance/tokens.sqlite3"),
    )

    @app.get("/login")
    def login():
        url, pending = signin.start()
        session["pending"] = pending.to_dict()      # Flask's signed cookie, or server-side
        return redirect(url)

    @app.get("/oauth2callback")
    def callback():
        pending = PendingSignIn.from_dict(session.pop("pending", {}))
        user = signin.finish(request.url, pending)  # AccessNotGranted if the person declined
        session["user_id"] = user.id
        return redirect("/")

    @app.post("/import")
    def start_import():
        try:
            client = PickerClient(credentials=signin.credentials(session["user_id"]))
        except SignInRequired:                      # never signed in, or access revoked
            return redirect("/login")
        ...

    signin.sign_out(user_id)                        # revokes the grant, deletes the row

The credentials refresh themselves when the access token expires (or the API answers 401) and
write the new token to the store; a refresh token that was revoked or has expired deletes the
user's row and raises :class:`~picker_discovery.errors.SignInRequired`. Every endpoint that
will carry a code or a token is checked before anything is sent: https on Google's hosts, or a
loopback address (the emulator of :mod:`picker_discovery.testing`, whose
``register_client()`` gives a ``client_config`` to use here).

Rooms: ``_config`` (the settings, checked), ``_store`` (:class:`TokenStore`,
:class:`SQLiteTokenStore`), ``_credentials`` (:class:`StoredCredentials`), ``_answers``
(:class:`PendingSignIn`, :class:`SignedInUser`, the callback's parameters), ``_endpoints``
(userinfo and revocation) and ``_signin`` (:class:`WebSignIn`). The names below are imported
on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from picker_discovery import _lazy

if TYPE_CHECKING:
    from picker_discovery.errors import (
        AccessNotGranted as AccessNotGranted,
        SignInRequired as SignInRequired,
    )
    from picker_discovery.web._answers import (
        PendingSignIn as PendingSignIn,
        SignedInUser as SignedInUser,
    )
    from picker_discovery.web._credentials import StoredCredentials as StoredCredentials
    from picker_discovery.web._signin import WebSignIn as WebSignIn
    from picker_discovery.web._store import (
        SQLiteTokenStore as SQLiteTokenStore,
        TokenStore as TokenStore,
    )

_ANSWERS = "picker_discovery.web._answers"
_STORE = "picker_discovery.web._store"

# Every public name and the module it lives in: __all__ is derived from this one table.
_WHERE: dict[str, str] = {
    "AccessNotGranted": "picker_discovery.errors",
    "PendingSignIn": _ANSWERS,
    "SQLiteTokenStore": _STORE,
    "SignInRequired": "picker_discovery.errors",
    "SignedInUser": _ANSWERS,
    "StoredCredentials": "picker_discovery.web._credentials",
    "TokenStore": _STORE,
    "WebSignIn": "picker_discovery.web._signin",
}

__all__ = sorted(_WHERE)

__getattr__, __dir__ = _lazy.exports(__name__, _WHERE, globals(), rename_private=True)
