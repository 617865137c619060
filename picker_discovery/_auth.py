"""Signing in a person: the installed-app OAuth flow and a token kept owner-only.

The flow needs the optional ``login`` extra (``pip install 'picker-discovery[login]'``, which
brings google-auth-oauthlib); loading and refreshing a stored token needs only google-auth.

The token file holds a refresh token: it is written with mode 0600 in a 0700 directory, through
a temporary file renamed into place, so it is never readable by others nor left half-written.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import stat
import uuid
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import google.auth.exceptions
import google.auth.transport.requests
import google.oauth2.credentials

from picker_discovery import _checks, _dirs
from picker_discovery._discovery import SCOPE
from picker_discovery._errorbase import BadArgument, MissingExtra
from picker_discovery._secrets import credential_secrets, install_log_filter, scrub
from picker_discovery.errors import AccessNotGranted, CredentialsFileError

__all__ = ["TOKEN_FILE_NAME", "load_credentials", "login", "logout", "save_credentials"]

logger = logging.getLogger(__name__)
install_log_filter()  # requests-oauthlib logs the token exchange at DEBUG

TOKEN_FILE_NAME = "token.json"


DEFAULT_ACCOUNT = "default"
_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")


def default_token_path() -> Path:
    """The token file in the platform's per-user config directory."""
    return _dirs.user_config_dir() / TOKEN_FILE_NAME


def token_path(account: str | None = None) -> Path:
    """The token file of a named account (``login --account NAME``): ``accounts/NAME.json``
    in the config directory; the default account's is :func:`default_token_path`.

    Raises:
        BadArgument: the name is not letters, digits and ``._@+-`` (at most 100, starting
            with a letter or digit), so it cannot name a path elsewhere.
    """
    if account is None or account == DEFAULT_ACCOUNT:
        return default_token_path()
    if not isinstance(account, str) or not _ACCOUNT_NAME.fullmatch(account):
        raise BadArgument(
            f"account name {account!r} is not usable: use letters, digits and ._@+- "
            "(for example --account work or --account me@example.com)"
        )
    return _dirs.user_config_dir() / "accounts" / f"{account}.json"


def accounts() -> list[str]:
    """The accounts signed in on this machine (whose token files exist), default first."""
    names = [DEFAULT_ACCOUNT] if default_token_path().exists() else []
    folder = _dirs.user_config_dir() / "accounts"
    if folder.is_dir():
        names += sorted(p.stem for p in folder.glob("*.json") if _ACCOUNT_NAME.fullmatch(p.stem))
    return names


class _CallbackBrowser(webbrowser.BaseBrowser):
    """Hands the authorization URL to the caller, then opens a real browser if asked."""

    def __init__(self, on_url: Callable[[str], None] | None, open_browser: bool) -> None:
        super().__init__("picker-discovery")
        self._on_url = on_url
        self._open_browser = open_browser

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        if self._on_url is not None:
            self._on_url(url)
        return webbrowser.open(url, new=new, autoraise=autoraise) if self._open_browser else True


def login(
    client_secrets_file: str | os.PathLike[str],
    *,
    token_path: str | os.PathLike[str] | None = None,
    open_browser: bool = True,
    on_authorization_url: Callable[[str], None] | None = None,
    host: str = "localhost",
    port: int = 0,
    timeout_seconds: float | None = 300,
    remote: bool | None = None,
    read_redirect: Callable[[str], str] | None = None,
) -> google.oauth2.credentials.Credentials:
    """Run the installed-app flow for the picker scope and store the token.

    A loopback server on ``host:port`` (any free port by default) receives Google's redirect.
    ``on_authorization_url`` receives the URL to open, for a person to open it by hand when
    ``open_browser`` is false or no browser can start.

    ``remote``: this process runs where the person's browser cannot reach its loopback
    server (Colab, JupyterHub, a server over SSH). The person opens the link anywhere, signs
    in, and pastes back the address the browser was sent to (a page that does not load: its
    address is what counts); ``read_redirect(prompt)`` reads it (default: ``input``, whose
    prompt holds the link). Its ``state`` must be this sign-in's, and its ``code`` is
    exchanged with this sign-in's PKCE verifier. ``None`` (the default) means remote in
    Colab and JupyterHub, else local.

    Raises:
        MissingExtra: the ``login`` extra is not installed (an ``ImportError``).
        CredentialsFileError: the client secrets file is not an OAuth client for an installed
            app (a ``ValueError``).
        BadArgument: ``timeout_seconds`` is not a positive number of seconds (at most a week;
            a ``ValueError``).
        TimeoutError: no sign-in reached the loopback server within ``timeout_seconds``.
        AccessNotGranted: the person refused, or did not grant the picker scope.
        BadArgument: (remote) the pasted address is not this sign-in's redirect.
    """
    timeout_seconds = _checks.check_timeout(timeout_seconds, "timeout_seconds")
    try:
        from google_auth_oauthlib.flow import InstalledAppFlow, WSGITimeoutError
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtra(
            "signing in needs google-auth-oauthlib: pip install 'picker-discovery[login]'"
        ) from exc
    secrets = Path(client_secrets_file)
    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(secrets), scopes=[SCOPE])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CredentialsFileError(
            f"{secrets} is not a usable OAuth client secrets file ({exc}); download the JSON "
            "of an OAuth client of type 'Desktop app' from the Google Cloud console"
        ) from exc
    if remote is None:
        remote = _remote_kernel()
    if remote:
        from picker_discovery._auth_remote import paste_back

        pasted = paste_back(
            flow, host=host, port=port, on_url=on_authorization_url, read=read_redirect
        )
        _check_granted(pasted)
        save_credentials(pasted, token_path)
        return cast(google.oauth2.credentials.Credentials, pasted)
    name = f"picker-discovery-{uuid.uuid4().hex}"
    webbrowser.register(name, None, _CallbackBrowser(on_authorization_url, open_browser))
    refused = (
        f"the sign-in did not grant {SCOPE}; sign in again and allow access to the photos you pick"
    )
    try:
        credentials = flow.run_local_server(
            host=host,
            port=port,
            browser=name,
            open_browser=True,  # through the callback browser above, which may not open one
            authorization_prompt_message="",
            timeout_seconds=timeout_seconds,
        )
    except WSGITimeoutError:  # an AttributeError: say what happened instead
        raise TimeoutError(
            f"no sign-in arrived within {timeout_seconds:g} seconds; run login again and "
            "finish signing in in the browser sooner (or give a longer --timeout)"
        ) from None
    except Warning as exc:  # oauthlib raises (not warns) when fewer scopes were granted
        scrub(exc, ())  # it carries the token answer as an attribute
        raise AccessNotGranted(f"{refused} ({exc})") from exc
    except Exception as exc:
        scrub(exc, ())  # an OAuth error may carry the token exchange's answer
        raise
    _check_granted(credentials)
    save_credentials(credentials, token_path)
    return cast(google.oauth2.credentials.Credentials, credentials)


def _check_granted(credentials: Any) -> None:
    granted = set(credentials.granted_scopes or credentials.scopes or [])
    if granted and SCOPE not in granted:
        raise AccessNotGranted(
            f"the sign-in did not grant {SCOPE}; sign in again and allow access to the "
            "photos you pick"
        )


def _remote_kernel() -> bool:
    """Whether this runs where a browser cannot reach its loopback (Colab, JupyterHub)."""
    import sys

    return "google.colab" in sys.modules or bool(
        os.environ.get("JUPYTERHUB_API_URL") or os.environ.get("COLAB_RELEASE_TAG")
    )


def save_credentials(
    credentials: google.oauth2.credentials.Credentials,
    token_path: str | os.PathLike[str] | None = None,
) -> Path:
    """Write ``credentials`` as an authorized-user JSON file readable by its owner only."""
    path = Path(token_path) if token_path is not None else default_token_path()
    _dirs.make_private_dir(path.parent)
    _dirs.write_atomically(path, credentials.to_json().encode("utf-8"))  # mode 0600
    logger.info("stored the OAuth token at %s", path)
    return path


def load_credentials(
    token_path: str | os.PathLike[str] | None = None,
    *,
    request: Callable[..., google.auth.transport.Response] | None = None,
) -> google.oauth2.credentials.Credentials | None:
    """The stored credentials, refreshed (and stored again) when expired; None if absent.

    Raises:
        AccessNotGranted: the token file is open to the group or others (a ``PermissionError``;
            the message gives the ``chmod 600`` that fixes it); it is not read.
        CredentialsFileError: the token file is not an authorized-user token (a ``ValueError``).
        google.auth.exceptions.RefreshError: the refresh token was revoked or has expired;
            sign in again.
    """
    path = Path(token_path) if token_path is not None else default_token_path()
    try:
        text = _read_private(path)
    except FileNotFoundError:
        return None
    except PermissionError:
        raise
    except (OSError, ValueError) as exc:
        raise CredentialsFileError(
            f"cannot read the token file {path}: {exc}; sign in again"
        ) from None
    try:
        info = json.loads(text)
    except ValueError as exc:
        # The decoder's error keeps the whole text (the tokens) as an attribute: not chained.
        raise CredentialsFileError(
            f"the token file {path} is not JSON ({exc.args[0] if exc.args else 'invalid'}); "
            "sign in again"
        ) from None
    if not isinstance(info, dict):
        raise ValueError(
            f"the token file {path} holds a JSON {type(info).__name__}, not the object "
            "'picker-discovery login' stores; sign in again"
        )
    try:
        credentials: google.oauth2.credentials.Credentials = (
            google.oauth2.credentials.Credentials.from_authorized_user_info(info, scopes=[SCOPE])
        )
    except ValueError as exc:
        scrub(exc, _secrets_in(info))
        raise CredentialsFileError(
            f"{path} is not a usable token file ({exc}); sign in again"
        ) from exc
    if not credentials.valid and credentials.refresh_token:
        try:
            credentials.refresh(request or google.auth.transport.requests.Request())
        except google.auth.exceptions.RefreshError as exc:
            # A token endpoint may repeat the refresh token or client secret in its answer.
            scrub(exc, credential_secrets(credentials))
            raise google.auth.exceptions.RefreshError(
                f"the token in {path} could not be refreshed ({exc}); sign in again"
            ) from exc
        save_credentials(credentials, path)
    return credentials


def _secrets_in(info: Any) -> frozenset[str]:
    if not isinstance(info, dict):
        return frozenset()
    return frozenset(
        value
        for key in ("token", "refresh_token", "client_secret", "id_token")
        if isinstance(value := info.get(key), str)
    )


def _read_private(path: Path) -> str:
    """The token file's text, if no one but its owner may read or write it (as ssh insists
    for a private key). The mode is checked on the opened file, so it cannot change between
    the check and the read.

    Raises:
        AccessNotGranted: the group or others have access; the message gives the ``chmod``.
    """
    with open(path, "rb") as fh:
        mode = os.fstat(fh.fileno()).st_mode
        if os.name == "posix" and stat.S_IMODE(mode) & 0o077:
            raise AccessNotGranted(
                f"the token file {path} is open to other users (mode "
                f"{stat.S_IMODE(mode):04o}) and holds your refresh token, so it is not used. "
                f"Make it yours alone with: chmod 600 {shlex.quote(str(path))} "
                "(or sign in again if others may have read it)"
            )
        return fh.read().decode("utf-8")


def logout(token_path: str | os.PathLike[str] | None = None) -> bool:
    """Forget the stored token. Returns whether there was one."""
    path = Path(token_path) if token_path is not None else default_token_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    logger.info("removed the OAuth token at %s", path)
    return True
