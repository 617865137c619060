"""A web sign-in's settings, checked before anything is sent: the OAuth client, the redirect
URI, the scopes and every endpoint that will carry a code or a token.

- ``token_uri``, ``userinfo_uri`` and ``revoke_uri`` carry the code, tokens or the client
  secret: https on a ``*.googleapis.com`` host (``accounts.google.com`` too for the
  authorization and revocation endpoints), a loopback address (the emulator of
  :mod:`picker_discovery.testing`), or a host the caller allowed.
- ``redirect_uri`` receives the code in the person's browser: https, or http to loopback only.
- The userinfo and revocation endpoints default to Google's when the token endpoint is
  Google's, and to the same loopback origin's ``/oauth2/v3/userinfo`` and ``/revoke`` when it
  is a loopback one (the emulator's layout, which mirrors Google's paths).
"""

from __future__ import annotations

import logging
import os
import threading
import urllib.parse
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from picker_discovery._discovery import SCOPE
from picker_discovery._errorbase import BadArgument, BadArgumentType, PickerError
from picker_discovery._urls import GOOGLE_API_SUFFIX, is_loopback, url_problem

__all__ = [
    "GOOGLE_REVOKE_URI",
    "GOOGLE_USERINFO_URI",
    "IDENTITY_SCOPES",
    "WebSettings",
    "oauthlib_allows_loopback_http",
    "oauthlib_quiet",
    "settings",
    "web_client",
]

GOOGLE_USERINFO_URI = "https://openidconnect.googleapis.com/v1/userinfo"
GOOGLE_REVOKE_URI = "https://oauth2.googleapis.com/revoke"
_ACCOUNTS = "accounts.google.com"
# The scopes that let the userinfo endpoint say who signed in (short and long spellings:
# Google answers "email" with the long one).
IDENTITY_SCOPES = frozenset(
    {
        "openid",
        "email",
        "profile",
        "https://www.googleapis.com/auth/userinfo.email",
        "https://www.googleapis.com/auth/userinfo.profile",
    }
)
_CLIENT_KEYS = ("client_id", "client_secret", "auth_uri", "token_uri")


@dataclass(frozen=True)
class WebSettings:
    """Everything a sign-in sends, checked."""

    client: dict[str, Any]  # the "web" part of the client secrets
    redirect_uri: str
    scopes: tuple[str, ...]
    userinfo_uri: str | None  # None: no identity scope asked for
    revoke_uri: str


def settings(
    client_config: object,
    *,
    redirect_uri: object,
    extra_scopes: object,
    userinfo_uri: object,
    revoke_uri: object,
    allowed_hosts: Collection[str],
) -> WebSettings:
    """The checked settings of a sign-in."""
    source = "client_config"
    client = web_client(client_config, source, BadArgument)
    redirect = _redirect_uri(redirect_uri)
    listed = client.get("redirect_uris")
    if isinstance(listed, list) and listed and redirect not in listed:
        raise BadArgument(
            f"redirect_uri {redirect!r} is not among the client's redirect_uris {listed}: "
            "Google would refuse the sign-in (redirect_uri_mismatch). Add it to the client's "
            "authorized redirect URIs in the Google Cloud console and download its JSON again"
        )
    hosts = tuple(allowed_hosts)
    _check(client["auth_uri"], f"{source}['web']['auth_uri']", (_ACCOUNTS, *hosts))
    token_uri = _check(client["token_uri"], f"{source}['web']['token_uri']", hosts)
    scopes = _scopes(extra_scopes)
    if userinfo_uri is None:
        userinfo_uri = _beside(token_uri, GOOGLE_USERINFO_URI, "/oauth2/v3/userinfo")
        if userinfo_uri is None and IDENTITY_SCOPES & set(scopes):
            raise BadArgument(
                f"the token endpoint {token_uri} is not Google's nor a loopback one, so the "
                "userinfo endpoint cannot be guessed: give userinfo_uri=..."
            )
    if revoke_uri is None:
        revoke_uri = _beside(token_uri, GOOGLE_REVOKE_URI, "/revoke")
        if revoke_uri is None:
            raise BadArgument(
                f"the token endpoint {token_uri} is not Google's nor a loopback one, so the "
                "revocation endpoint cannot be guessed: give revoke_uri=..."
            )
    return WebSettings(
        client=client,
        redirect_uri=redirect,
        scopes=scopes,
        userinfo_uri=(
            _check(userinfo_uri, "userinfo_uri", hosts) if IDENTITY_SCOPES & set(scopes) else None
        ),
        revoke_uri=_check(revoke_uri, "revoke_uri", (_ACCOUNTS, *hosts)),
    )


def web_client(config: object, source: str, error: type[PickerError]) -> dict[str, Any]:
    """The ``web`` part of Google's client secrets ``config``; ``error`` if it is not one."""
    hint = "download the JSON of an OAuth client of type 'Web application'"
    if not isinstance(config, Mapping):
        raise error(f"{source} is Google's client secrets dict ({{'web': {{...}}}}); {hint}")
    web = config.get("web")
    if not isinstance(web, Mapping):
        kinds = ", ".join(repr(key) for key in config) or "nothing"
        raise error(f"{source} holds no 'web' client (it has {kinds}); {hint}")
    client = dict(web)
    for key in _CLIENT_KEYS:
        if not isinstance(client.get(key), str) or not client[key]:
            raise error(f"{source}['web'] has no {key!r} string; {hint}")
    return client


def _check(url: object, name: str, hosts: Iterable[str]) -> str:
    problem = url_problem(url, allowed_hosts=tuple(hosts), allow_loopback=True)
    if problem is not None:
        raise BadArgument(f"{name} {url!r} {problem}; nothing was sent")
    assert isinstance(url, str)
    return url


def _redirect_uri(uri: object) -> str:
    if not isinstance(uri, str):
        raise BadArgumentType(f"redirect_uri is a URL string, not {type(uri).__name__}")
    try:
        parts = urllib.parse.urlsplit(uri)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise BadArgument(f"redirect_uri {uri!r} is not a URL ({exc})") from None
    host = parts.hostname or ""
    secure = parts.scheme == "https" and bool(host)
    if not secure and not (parts.scheme == "http" and is_loopback(host)):
        raise BadArgument(
            f"redirect_uri {uri!r} must be an https URL (or http to a loopback address while "
            "developing): the browser brings the sign-in's code there"
        )
    if parts.fragment or "#" in uri:
        raise BadArgument(f"redirect_uri {uri!r} must not have a fragment ('#...')")
    if "@" in parts.netloc:
        raise BadArgument(f"redirect_uri {uri!r} must not have user info ('...@') in its host")
    return uri


def _scopes(extra: object) -> tuple[str, ...]:
    if isinstance(extra, str) or not isinstance(extra, Iterable):
        raise BadArgumentType(
            f"extra_scopes is a sequence of scope strings, not {type(extra).__name__}"
        )
    scopes = [SCOPE]
    for scope in extra:
        if not isinstance(scope, str) or not scope or any(c.isspace() for c in scope):
            raise BadArgument(f"extra_scopes holds {scope!r}, which is not a scope")
        if scope not in scopes:
            scopes.append(scope)
    return tuple(scopes)


def _beside(token_uri: str, google: str, path: str) -> str | None:
    """The endpoint that goes with ``token_uri``: Google's, or the same loopback origin's."""
    parts = urllib.parse.urlsplit(token_uri)
    host = parts.hostname or ""
    if parts.scheme == "https" and host.endswith(GOOGLE_API_SUFFIX):
        return google
    if is_loopback(host):
        return f"{parts.scheme}://{parts.netloc}{path}"
    return None


_INSECURE = "OAUTHLIB_INSECURE_TRANSPORT"
_insecure_lock = threading.Lock()
_insecure_users = 0


@contextmanager
def oauthlib_allows_loopback_http(url: str) -> Iterator[None]:
    """Let oauthlib use ``url`` over plain http while the block runs, when ``url`` is a
    loopback address (checked already: the emulator's authorization or token endpoint).

    oauthlib refuses any http endpoint unless the process-wide variable
    ``OAUTHLIB_INSECURE_TRANSPORT`` is set. It is set only around exchanges with a loopback
    endpoint, counted across threads, and removed when the last one ends (unless it was set
    before); https endpoints leave it untouched.
    """
    global _insecure_users
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not is_loopback(parts.hostname or ""):
        yield
        return
    with _insecure_lock:
        _insecure_users += 1
        if _insecure_users == 1 and _INSECURE not in os.environ:
            os.environ[_INSECURE] = "loopback"
    try:
        yield
    finally:
        with _insecure_lock:
            _insecure_users -= 1
            if _insecure_users == 0 and os.environ.get(_INSECURE) == "loopback":
                del os.environ[_INSECURE]


class _QuietThreads(logging.Filter):
    """Drops the records of the threads inside :func:`oauthlib_quiet`."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread not in self.threads


_QUIET = _QuietThreads()
# requests-oauthlib logs a code exchange whole at DEBUG: the form (code, PKCE verifier), the
# headers (the client secret, as Basic auth) and the answer (the tokens).
logging.getLogger("requests_oauthlib.oauth2_session").addFilter(_QUIET)


@contextmanager
def oauthlib_quiet() -> Iterator[None]:
    """Keep requests-oauthlib's records of this thread out of the logs while the block runs."""
    me = threading.get_ident()
    _QUIET.threads.add(me)
    try:
        yield
    finally:
        _QUIET.threads.discard(me)
