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
import uuid
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import google.auth.exceptions
import google.auth.transport.requests
import google.oauth2.credentials

from picker_discovery import _dirs
from picker_discovery.discovery import SCOPE

__all__ = ["TOKEN_FILE_NAME", "load_credentials", "login", "logout", "save_credentials"]

logger = logging.getLogger(__name__)

TOKEN_FILE_NAME = "token.json"


def default_token_path() -> Path:
    """The token file in the platform's per-user config directory."""
    return _dirs.user_config_dir() / TOKEN_FILE_NAME


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
) -> google.oauth2.credentials.Credentials:
    """Run the installed-app flow for the picker scope and store the token.

    A loopback server on ``host:port`` (any free port by default) receives Google's redirect.
    ``on_authorization_url`` receives the URL to open, for a person to open it by hand when
    ``open_browser`` is false or no browser can start.

    Raises:
        ImportError: the ``login`` extra is not installed.
        ValueError: the client secrets file is not an OAuth client for an installed app.
    """
    try:
        from google_auth_oauthlib.flow import InstalledAppFlow
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "signing in needs google-auth-oauthlib: pip install 'picker-discovery[login]'"
        ) from exc
    secrets = Path(client_secrets_file)
    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(secrets), scopes=[SCOPE])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"{secrets} is not a usable OAuth client secrets file ({exc}); download the JSON "
            "of an OAuth client of type 'Desktop app' from the Google Cloud console"
        ) from exc
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
    except Warning as exc:  # oauthlib raises (not warns) when fewer scopes were granted
        raise PermissionError(f"{refused} ({exc})") from exc
    granted = set(credentials.granted_scopes or credentials.scopes or [])
    if granted and SCOPE not in granted:
        raise PermissionError(refused)
    save_credentials(credentials, token_path)
    return cast(google.oauth2.credentials.Credentials, credentials)


def save_credentials(
    credentials: google.oauth2.credentials.Credentials,
    token_path: str | os.PathLike[str] | None = None,
) -> Path:
    """Write ``credentials`` as an authorized-user JSON file readable by its owner only."""
    path = Path(token_path) if token_path is not None else default_token_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _dirs.write_atomically(path, credentials.to_json().encode("utf-8"))  # mode 0600
    logger.info("stored the OAuth token at %s", path)
    return path


def load_credentials(
    token_path: str | os.PathLike[str] | None = None,
    *,
    request: Any = None,
) -> google.oauth2.credentials.Credentials | None:
    """The stored credentials, refreshed (and stored again) when expired; None if absent.

    Raises:
        ValueError: the token file is not an authorized-user token.
        google.auth.exceptions.RefreshError: the refresh token was revoked or has expired;
            sign in again.
    """
    path = Path(token_path) if token_path is not None else default_token_path()
    try:
        info = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the token file {path}: {exc}; sign in again") from exc
    try:
        credentials: google.oauth2.credentials.Credentials = (
            google.oauth2.credentials.Credentials.from_authorized_user_info(info, scopes=[SCOPE])
        )
    except ValueError as exc:
        raise ValueError(f"{path} is not a usable token file ({exc}); sign in again") from exc
    if not credentials.valid and credentials.refresh_token:
        try:
            credentials.refresh(request or google.auth.transport.requests.Request())
        except google.auth.exceptions.RefreshError as exc:
            raise google.auth.exceptions.RefreshError(
                f"the token in {path} could not be refreshed ({exc}); sign in again"
            ) from exc
        save_credentials(credentials, path)
    return credentials


def logout(token_path: str | os.PathLike[str] | None = None) -> bool:
    """Forget the stored token. Returns whether there was one."""
    path = Path(token_path) if token_path is not None else default_token_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    logger.info("removed the OAuth token at %s", path)
    return True
