"""Credentials that keep their token store up to date: written back after every refresh,
deleted when the refresh token stops working.

:class:`StoredCredentials` is a ``google.oauth2.credentials.Credentials``, so it works wherever
google-auth credentials do (``picker_discovery.build``, ``PickerClient``, google-auth-httplib2's
``AuthorizedHttp``, ``AuthorizedSession``): those call :meth:`~StoredCredentials.refresh` when
the token has expired or the API answers 401, and the refresh stores the new access token.
A refresh token that was revoked or has expired (``invalid_grant``) deletes the user's row and
raises :class:`~picker_discovery.errors.SignInRequired`, as does a row deleted meanwhile
(signed out elsewhere).
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import google.auth.exceptions
import google.oauth2.credentials

from picker_discovery._errors_auth import CredentialsFileError, SignInRequired
from picker_discovery._secrets import credential_secrets, scrub
from picker_discovery.web._store import TokenStore

__all__ = ["StoredCredentials", "load_info"]

logger = logging.getLogger(__name__)

_Base = google.oauth2.credentials.Credentials
_SIGN_IN_AGAIN = "send them through the sign-in again"


def load_info(store: TokenStore, user_id: str) -> dict[str, Any]:
    """``user_id``'s stored token; a row that cannot be read is deleted.

    Raises:
        SignInRequired: nobody is signed in as ``user_id``, or the stored token was unreadable
            (it is deleted, so the next sign-in starts clean).
    """
    try:
        info = store.load(user_id)
    except CredentialsFileError as exc:
        store.delete(user_id)
        logger.warning("deleted the unreadable token of user %r: %s", user_id, exc)
        raise SignInRequired(
            f"the stored token of user {user_id!r} could not be read and was deleted ({exc}); "
            f"{_SIGN_IN_AGAIN}"
        ) from exc
    if info is None:
        raise SignInRequired(
            f"nobody is signed in as user {user_id!r} (no stored token: never signed in, "
            f"signed out, or access was revoked); {_SIGN_IN_AGAIN}"
        )
    return info


class StoredCredentials(_Base):
    """A user's credentials from a :class:`~picker_discovery.web.TokenStore`, which every
    refresh updates.

    Made by :meth:`picker_discovery.web.WebSignIn.credentials`. Copies made by google-auth
    (``with_quota_project``, ``with_token_uri``, ...) and ``copy.copy``/``copy.deepcopy`` keep
    the store (the same one). A pickled copy does not
    (a store holds a connection and a lock): unpickled, it refreshes like plain
    ``Credentials`` and stores nothing; get fresh credentials from ``WebSignIn.credentials``
    instead of pickling them.
    """

    def __init__(
        self,
        *args: Any,
        store: TokenStore | None = None,
        user_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        _Base.__init__(self, *args, **kwargs)
        self._store = store
        self._user_id = user_id

    @property
    def user_id(self) -> str | None:
        """The user these credentials belong to."""
        return self._user_id

    @property
    def store(self) -> TokenStore | None:
        """Where a refresh writes the new token (None in an unpickled copy)."""
        return self._store

    def authorized_user_info(self) -> dict[str, Any]:
        """The authorized-user JSON of these credentials, as a dict (what the store keeps)."""
        info: dict[str, Any] = json.loads(_Base.to_json(self))
        return info

    def _make_copy(self) -> StoredCredentials:
        copy: StoredCredentials = _Base._make_copy(self)
        copy._store, copy._user_id = self._store, self._user_id
        return copy

    def __copy__(self) -> StoredCredentials:
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def __deepcopy__(self, memo: dict[int, Any]) -> StoredCredentials:
        clone = type(self).__new__(type(self))
        memo[id(self)] = clone
        for name, value in self.__dict__.items():  # the store is shared, not copied
            setattr(clone, name, value if name == "_store" else copy.deepcopy(value, memo))
        return clone

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = _Base.__getstate__(self)
        state.pop("_store", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        _Base.__setstate__(self, state)
        self._store = None
        self._user_id = state.get("_user_id")

    def refresh(self, request: Any) -> None:
        """Get a new access token with the refresh token, and store it.

        Raises:
            SignInRequired: the refresh token was revoked or has expired (``invalid_grant``),
                there is none, or the user's row is gone (signed out); the row is deleted.
            google.auth.exceptions.RefreshError: another refusal (the token endpoint's answer,
                with every secret scrubbed).
        """
        store, user_id = self._store, self._user_id
        if store is not None and user_id is not None:
            load_info(store, user_id)  # signed out meanwhile: do not bring the row back
        if self.refresh_token is None:
            self._forget()
            raise SignInRequired(
                f"the access token of user {self._user_id!r} has expired and there is no "
                f"refresh token to renew it; {_SIGN_IN_AGAIN}"
            )
        secrets = credential_secrets(self)
        try:
            _Base.refresh(self, request)
        except google.auth.exceptions.RefreshError as exc:
            invalid_grant = _is_invalid_grant(exc)
            scrub(exc, secrets)
            if invalid_grant:
                self._forget()
                raise SignInRequired(
                    f"the refresh token of user {self._user_id!r} was revoked or has expired "
                    f"({exc.args[0] if exc.args else 'invalid_grant'}); the stored token was "
                    f"deleted; {_SIGN_IN_AGAIN}"
                ) from exc
            raise
        except Exception as exc:
            scrub(exc, secrets)
            raise
        if store is None or user_id is None:
            return
        try:
            store.save(user_id, self.authorized_user_info())
        except Exception as exc:
            # The new token works; failing to keep it costs one more refresh later.
            scrub(exc, credential_secrets(self))
            logger.warning("could not store the refreshed token of user %r: %s", user_id, exc)

    def _forget(self) -> None:
        if self._store is not None and self._user_id is not None:
            self._store.delete(self._user_id)


def _is_invalid_grant(exc: google.auth.exceptions.RefreshError) -> bool:
    """Whether the token endpoint refused the refresh token itself (Google's
    ``{"error": "invalid_grant"}``), rather than the client or the network failing."""
    for arg in exc.args:
        if isinstance(arg, dict) and arg.get("error") == "invalid_grant":
            return True
    return bool(exc.args) and str(exc.args[0]).startswith("invalid_grant")
