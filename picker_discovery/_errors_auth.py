"""Errors about credentials: none given, a token or secrets file that is unusable, a scope not
granted, a web sign-in that must be done again.

A leaf: it imports only the base module ``_errorbase``. Import these names from
:mod:`picker_discovery.errors`.
"""

from __future__ import annotations

from picker_discovery._errorbase import BadArgument, PickerError

__all__ = ["AccessNotGranted", "CredentialsFileError", "NoCredentials", "SignInRequired"]


class NoCredentials(BadArgument):
    """A client or fetcher made without credentials was asked to fetch media bytes.

    Media hosts need the bearer token, which only credentials give: build the client with
    ``credentials=...``, or make the downloader or fetcher with credentials yourself.
    """


class CredentialsFileError(PickerError, ValueError):
    """A saved token file, or an OAuth client secrets file, cannot be used.

    The message names the file and why; sign in again (or download the client's JSON again).
    It is a ``ValueError`` too, as it was before it joined the tree.
    """


class AccessNotGranted(PickerError, PermissionError):
    """Credentials are not used: the sign-in did not grant the photospicker scope, or the token
    file is open to other users. The message says what to do; a ``PermissionError`` too."""


class SignInRequired(PickerError, PermissionError):
    """The person must sign in (again) before their photos can be picked.

    Raised by :mod:`picker_discovery.web`: nobody is signed in under that user id, the stored
    refresh token was revoked or has expired (the stored token is deleted), or a sign-in's
    answer cannot be trusted (its ``state`` does not match, it has no code, the code was
    refused). Send the person through the sign-in again; a ``PermissionError`` too.
    """


# Raised and caught as picker_discovery.errors.X: tracebacks, reprs and pickles name the public
# module, which re-exports every name here.
for _name in __all__:
    globals()[_name].__module__ = "picker_discovery.errors"
del _name
