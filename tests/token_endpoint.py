"""A loopback OAuth token endpoint, for the sign-in and token-refresh tests.

The emulator plays the Picker API, its media origins and its picking page, not Google's OAuth
server yet; until it does, this small endpoint answers the token requests (the code exchange
of the installed-app flow, and refresh-token grants) that those tests send. It is the one
HTTP server the tests keep besides the emulator; everything else runs on the emulator.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from picker_discovery._discovery import SCOPE

__all__ = ["TokenEndpoint"]


class TokenEndpoint:
    """Answers ``POST /token`` as ``mode`` says and records every form it was sent.

    ``ok``: a new access token (``access_token``, else ``access-N`` for the N-th request),
    granting ``granted``, with ``refresh_token`` if set; ``invalid_grant``: a 400 refusal;
    ``echo``: a hostile 400 repeating the request's form and Authorization header; ``html``:
    an HTML 400 page repeating the form (not retried, unlike a 500); ``drop``: the connection
    closes without an answer.
    """

    def __init__(self) -> None:
        self.mode = "ok"
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.granted = SCOPE
        self.requests: list[dict[str, list[str]]] = []
        self._lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with endpoint._lock:
                    endpoint.requests.append(urllib.parse.parse_qs(body.decode()))
                    count = len(endpoint.requests)
                mode = endpoint.mode
                if mode == "drop":
                    self.close_connection = True
                    return
                if mode == "html":
                    self._send(400, "text/html", f"<p>oops {body.decode()}</p>".encode())
                    return
                answer: dict[str, Any]
                if mode == "ok":
                    status, answer = 200, endpoint._granted(count)
                elif mode == "echo":
                    described = (
                        f"bad request: {body.decode()} ({self.headers.get('Authorization')})"
                    )
                    status = 400
                    answer = {"error": "invalid_request", "error_description": described}
                else:
                    status = 400
                    answer = {
                        "error": "invalid_grant",
                        "error_description": "Token has been expired or revoked.",
                    }
                self._send(status, "application/json", json.dumps(answer).encode())

            def _send(self, status: int, kind: str, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.url = f"{self.origin}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))
        self._thread.daemon = True
        self._thread.start()

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self.requests)

    def _granted(self, count: int) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "access_token": self.access_token or f"access-{count}",
            "expires_in": 3599,
            "scope": self.granted,
            "token_type": "Bearer",
        }
        if self.refresh_token is not None:
            answer["refresh_token"] = self.refresh_token
        return answer

    def client_secrets(self, folder: Path) -> Path:
        """An installed-app client file whose auth and token URIs point here."""
        path = folder / "client_secret.json"
        installed = {
            "client_id": "123-abc.apps.googleusercontent.com",
            "client_secret": "shh",
            "auth_uri": f"{self.origin}/auth",
            "token_uri": self.url,
            "redirect_uris": ["http://localhost"],
        }
        path.write_text(json.dumps({"installed": installed}))
        return path

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
