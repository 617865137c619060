"""How a worker gets a user's credentials and a client: the one place an app plugs its store in.

Tasks carry a user id, never a token (task arguments sit in Redis and in logs). A worker turns
the id into credentials with :func:`credentials_for`. Two ways are built in, chosen by
``PICKER_CELERY_CREDENTIALS``:

- ``store`` (the default): the tokens people left when they signed in to the web app through
  :class:`picker_discovery.web.WebSignIn`, kept in a :class:`~picker_discovery.web.SQLiteTokenStore`
  at ``PICKER_CELERY_TOKEN_DB`` for the OAuth client in ``PICKER_CELERY_CLIENT_SECRETS``.
  The credentials refresh themselves and write the new token back to the store. A SQLite file
  serves workers on one machine; past that, implement the three methods of
  :class:`~picker_discovery.web.TokenStore` (``load``, ``save``, ``delete``) on your database
  and give it to :func:`use_credentials`.
- ``emulator``: the user id is the bearer token, which only the loopback emulator of
  :mod:`picker_discovery.testing` accepts (every token is a user there).

An app with a store of its own calls ``use_credentials(my_factory)`` where the worker starts
(say, at the end of :mod:`picker_tasks.app`), ``my_factory(user_id)`` returning google-auth
credentials holding the picker scope.

``PICKER_DISCOVERY_ENDPOINT`` points the clients at another API root (the emulator), and
``PICKER_DISCOVERY_MEDIA_HOSTS`` (comma-separated origins) adds where media bytes may be
fetched with the token, as for the command line.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from google.auth.credentials import Credentials

from picker_discovery import PickerClient

if TYPE_CHECKING:
    from picker_discovery.web import WebSignIn

CredentialsFactory = Callable[[str], Credentials]

_factory: CredentialsFactory | None = None


def use_credentials(factory: CredentialsFactory | None) -> None:
    """Make ``factory(user_id)`` the source of every user's credentials in this process
    (None goes back to ``PICKER_CELERY_CREDENTIALS``)."""
    global _factory
    _factory = factory
    client_for.cache_clear()


def credentials_for(user_id: str) -> Credentials:
    """The credentials of ``user_id``.

    Raises:
        picker_discovery.errors.SignInRequired: nobody is signed in as ``user_id`` (or access
            was revoked): the import cannot go on until they sign in again.
    """
    if _factory is not None:
        return _factory(user_id)
    mode = os.environ.get("PICKER_CELERY_CREDENTIALS", "store")
    if mode == "emulator":
        import google.oauth2.credentials

        return google.oauth2.credentials.Credentials(token=user_id)
    if mode == "store":
        return _signin().credentials(user_id)
    raise ValueError(
        f"PICKER_CELERY_CREDENTIALS is {mode!r}; use 'store' (a token store) or 'emulator'"
    )


@functools.lru_cache(maxsize=1)
def _signin() -> WebSignIn:
    from picker_discovery.web import SQLiteTokenStore, WebSignIn

    try:
        secrets = os.environ["PICKER_CELERY_CLIENT_SECRETS"]
        database = os.environ["PICKER_CELERY_TOKEN_DB"]
    except KeyError as exc:
        raise ValueError(
            f"{exc.args[0]} is not set: the workers need the OAuth client's secrets file and "
            "the token store the web app signs people in to (or PICKER_CELERY_CREDENTIALS="
            "emulator against the emulator)"
        ) from None
    redirect = os.environ.get("PICKER_CELERY_REDIRECT_URI", "http://127.0.0.1/oauth2callback")
    return WebSignIn.from_client_secrets_file(
        secrets, redirect_uri=redirect, store=SQLiteTokenStore(database)
    )


def media_hosts() -> list[str]:
    """Origins besides ``*.googleusercontent.com`` the token may be sent to for media bytes."""
    value = os.environ.get("PICKER_DISCOVERY_MEDIA_HOSTS", "")
    return [host.strip() for host in value.split(",") if host.strip()]


@functools.lru_cache(maxsize=256)
def client_for(user_id: str) -> PickerClient:
    """A client acting as ``user_id``, kept for the next task of the same user in this process.

    It keeps no session journal: the job status in Redis (:mod:`picker_tasks.jobs`) is what
    knows the sessions not yet deleted, whichever machine made them.
    """
    endpoint = os.environ.get("PICKER_DISCOVERY_ENDPOINT")
    options = {"api_endpoint": endpoint} if endpoint else None
    return PickerClient(credentials=credentials_for(user_id), client_options=options, journal=False)
