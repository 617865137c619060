"""The example web app (examples/webapp) wired to a strict-mode emulator, for its tests.

``webapp(emulator, folder, base)`` builds the app with a web client registered for ``base``'s
``/oauth2callback``; ``sign_in(client, emulator)`` goes through the consent with Flask's test
client; ``LiveApp`` serves an app on a loopback port for the browser; ``wait_state`` polls an
import's JSON until it ends.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import BaseWSGIServer, make_server

from examples.webapp import create_app, shutdown
from picker_discovery.testing import Emulator
from picker_discovery.testing.library import MediaItem
from picker_discovery.web import SQLiteTokenStore, WebSignIn

__all__ = [
    "ALICE",
    "BOB",
    "TEST_BASE",
    "LiveApp",
    "photos",
    "sign_in",
    "strict_emulator",
    "wait_state",
    "webapp",
]

ALICE = "alice@example.com"
BOB = "bob@example.com"
TEST_BASE = "http://localhost/"  # where Flask's test client says requests go


def strict_emulator(lifetime: float = 600, **settings: Any) -> Emulator:
    """An emulator (not started) that checks tokens as Google does, issuing them for
    ``lifetime`` seconds, and asks clients to poll every 0.2 s."""
    emulator = Emulator(poll_interval="0.2s", **settings)
    emulator.backend.configure(auth="strict", access_token_lifetime=f"{lifetime}s")
    return emulator


def webapp(emulator: Emulator, folder: Path, base: str = TEST_BASE, **options: Any) -> Flask:
    """The example app on ``emulator``, keeping its files in ``folder``, reached at ``base``."""
    redirect = base + "oauth2callback"
    client = emulator.register_client(
        redirect_uris=[redirect], javascript_origins=[base.rstrip("/")]
    )
    store = SQLiteTokenStore(folder / "tokens.sqlite3")
    signin = WebSignIn(client, redirect_uri=redirect, store=store)
    app = create_app(
        signin,
        instance_path=folder / "instance",
        api_endpoint=emulator.url,
        media_hosts=[emulator.media_url.rstrip("/")],
        secret_key="test-secret-key",
        **options,
    )
    app.config["TESTING"] = True
    return app


def store_of(app: Flask) -> SQLiteTokenStore:
    store = app.extensions["picker_webapp"].signin.store
    assert isinstance(store, SQLiteTokenStore)
    return store


def sign_in(client: FlaskClient, emulator: Emulator, user: str = ALICE, **consent: Any) -> Any:
    """Sign in through ``/signin``, the consent (Allow, or ``allow=False``) and the callback;
    returns the callback's response."""
    start = client.get("/signin")
    assert start.status_code == 302, start.text
    answer = emulator.authorize(start.headers["Location"], user=user, **consent)
    parts = urllib.parse.urlsplit(answer)
    return client.get(f"{parts.path}?{parts.query}")


def csrf(client: FlaskClient) -> str:
    """The CSRF token of ``client``'s browser session (the home page makes one)."""
    client.get("/")
    with client.session_transaction() as session:
        token = session["csrf"]
    assert isinstance(token, str)
    return token


def photos(emulator: Emulator, user: str, count: int) -> list[MediaItem]:
    """The first ``count`` photos of ``user``'s library."""
    found = [item for item in emulator.backend.library(user) if not item.is_video]
    return found[:count]


def wait_state(
    read: Callable[[], dict[str, Any]],
    states: Iterable[str] = ("done", "failed"),
    timeout: float = 60,
) -> dict[str, Any]:
    """Poll ``read()`` (an import's JSON) until its state is one of ``states``."""
    wanted = set(states)
    deadline = time.monotonic() + timeout
    while True:
        answer = read()
        if answer.get("state") in wanted:
            return answer
        assert time.monotonic() < deadline, f"the import stayed {answer}"
        time.sleep(0.1)


class LiveApp:
    """The example app served over HTTP on a loopback port, for a browser."""

    def __init__(self, emulator: Emulator, folder: Path, **options: Any) -> None:
        self._app: Flask | None = None
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/"
        self.app = webapp(emulator, folder, self.url, **options)
        self._app = self.app
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))

    def _wsgi(self, environ: Any, start_response: Any) -> Any:
        assert self._app is not None
        return self._app(environ, start_response)

    def __enter__(self) -> LiveApp:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()
        shutdown(self.app, timeout=30)
