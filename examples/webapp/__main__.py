"""``python -m examples.webapp`` (``make webapp``): the example app on http://127.0.0.1:PORT/.

By default it starts the emulator beside it, in strict auth mode (tokens expire and are
checked, as Google's are), registers a web client whose redirect URI is this app's
``/oauth2callback``, and signs people in on the emulator's consent page. With
``PICKER_WEBAPP_CLIENT_SECRETS=client_secret.json`` it talks to Google instead, on
http://localhost:PORT/ (add ``http://localhost:PORT/oauth2callback`` to the web client's
authorized redirect URIs). ``PORT`` is 8000 unless set (0 takes a free one), and the app keeps
its files in the project's ``instance/`` unless ``PICKER_WEBAPP_INSTANCE`` names another
folder. Ctrl-C stops it: running imports are stopped and their sessions deleted first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from examples.webapp.app import create_app, shutdown
from picker_discovery.errors import PickerError
from picker_discovery.web import SQLiteTokenStore, WebSignIn

INSTANCE = Path(__file__).resolve().parents[2] / "instance"


class _Later:
    """A WSGI app that is set once the port is known (the redirect URI names it)."""

    app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        assert self.app is not None
        return self.app(environ, start_response)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        port = int(os.environ.get("PORT", "8000"))
    except ValueError:
        print(f"PORT must be a port number, not {os.environ['PORT']!r}", file=sys.stderr)
        return 2
    secrets_file = os.environ.get("PICKER_WEBAPP_CLIENT_SECRETS")
    instance = Path(os.environ.get("PICKER_WEBAPP_INSTANCE") or INSTANCE)
    host = "localhost" if secrets_file else "127.0.0.1"
    wsgi = _Later()
    try:
        server = make_server(host, port, wsgi, threaded=True)
    except OSError as exc:
        print(
            f"cannot listen on {host}:{port} ({exc}); set PORT=... to use another port",
            file=sys.stderr,
        )
        return 1
    signal.signal(signal.SIGTERM, _stop)
    base = f"http://{host}:{server.server_port}/"
    with contextlib.ExitStack() as stack:
        stack.callback(server.server_close)
        try:
            if secrets_file:
                signin = WebSignIn.from_client_secrets_file(
                    secrets_file,
                    redirect_uri=base + "oauth2callback",
                    store=SQLiteTokenStore(instance / "tokens.sqlite3"),
                )
                app = create_app(signin, instance_path=instance)
                where = "Google"
            else:
                app = _with_emulator(stack, base, instance)
                where = "the emulator (strict auth: tokens expire and refresh)"
        except (PickerError, OSError) as exc:
            print(f"cannot start the app: {exc}", file=sys.stderr)
            return 1
        wsgi.app = app
        stack.callback(shutdown, app)
        print(f"The example app runs against {where}.", flush=True)
        print(f"Open {base} in your browser. Ctrl-C stops it.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):  # Werkzeug's loop may take it itself
            server.serve_forever()
        # Cleaning up deletes sessions at Google: a second Ctrl-C must not cut it short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("Stopping: ending running imports and deleting their sessions.", flush=True)
    return 0


def _with_emulator(stack: contextlib.ExitStack, base: str, instance: Path) -> Flask:
    from picker_discovery.testing import Emulator

    emulator = stack.enter_context(Emulator(poll_interval="2s"))
    emulator.backend.configure(auth="strict")
    client = emulator.register_client(
        redirect_uris=[base + "oauth2callback"], javascript_origins=[base.rstrip("/")]
    )
    # A new emulator issues new clients and tokens: those of an earlier run are useless.
    path = instance / "emulator-tokens.sqlite3"
    path.unlink(missing_ok=True)
    store = SQLiteTokenStore(path)
    signin = WebSignIn(client, redirect_uri=base + "oauth2callback", store=store)
    return create_app(
        signin,
        instance_path=instance,
        api_endpoint=emulator.url,
        media_hosts=[emulator.media_url.rstrip("/")],
    )


if __name__ == "__main__":
    sys.exit(main())
