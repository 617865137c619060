"""The example web app's factory: :func:`create_app`."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flask import Flask, Response
from flask.typing import ResponseReturnValue

from examples.webapp import auth, views
from examples.webapp.importer import ClientFactory, Importer
from examples.webapp.storage import Storage
from examples.webapp.web import EXTENSION, WebApp, not_found, page_context
from picker_discovery import PickerClient
from picker_discovery.web import StoredCredentials, WebSignIn

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

# The app's pages load only their own script, style and images, and refuse to be framed.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(
    signin: WebSignIn,
    *,
    instance_path: str | os.PathLike[str] | None = None,
    api_endpoint: str | None = None,
    media_hosts: Sequence[str] = (),
    secret_key: str | bytes | None = None,
    max_item_count: int = 50,
    thumbnail_size: int = 256,
    client_factory: ClientFactory | None = None,
    config: dict[str, Any] | None = None,
) -> Flask:
    """The Flask app that signs people in with ``signin`` and imports the photos they pick.

    Args:
        signin: the web sign-in (its token store keeps every user's tokens).
        instance_path: where the app keeps its files (``storage/``, the session key); Flask's
            ``instance/`` beside the project by default.
        api_endpoint: the Picker API's root (the emulator's URL); Google's when None.
        media_hosts: origins besides Google's content hosts that may receive the token when
            fetching bytes (the emulator's media origin).
        secret_key: signs the session cookie; by default one kept in the instance folder.
        max_item_count, thumbnail_size: the most items per import; the thumbnails' box.
        client_factory: makes the :class:`PickerClient` for a user's credentials (tests).
        config: more Flask settings.
    """
    app = Flask(
        __name__,
        instance_path=os.fspath(Path(instance_path).resolve()) if instance_path else None,
    )
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    app.config.update(
        SECRET_KEY=secret_key or _secret_key(Path(app.instance_path)),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.config.update(config or {})

    def make_client(credentials: StoredCredentials) -> PickerClient:
        options = {"api_endpoint": api_endpoint} if api_endpoint else None
        # One client serves many users here: no session journal (see the README).
        return PickerClient(credentials=credentials, client_options=options, journal=False)

    storage = Storage(Path(app.instance_path) / "storage")
    importer = Importer(
        signin,
        storage,
        client_factory or make_client,
        media_hosts=media_hosts,
        max_item_count=max_item_count,
        thumbnail_size=thumbnail_size,
    )
    app.extensions[EXTENSION] = WebApp(signin, storage, importer)
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(views.blueprint)
    app.context_processor(page_context)

    @app.after_request
    def secure(response: Response) -> Response:
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(404)
    def missing(error: Exception) -> ResponseReturnValue:
        return not_found()

    return app


def shutdown(app: Flask, *, timeout: float = 30.0) -> None:
    """Stop ``app``'s running imports (each deletes its session) and refuse new ones."""
    app_state: WebApp = app.extensions[EXTENSION]
    app_state.importer.shutdown(timeout=timeout)


def _secret_key(folder: Path) -> bytes:
    """The session key kept in ``folder/secret_key`` (0600), made on first use."""
    path = folder / "secret_key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key
