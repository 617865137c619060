"""``python -m examples.webapp`` (what ``make webapp`` runs) as a real process: it starts the
emulator in strict auth mode beside the app, prints the URL to open, signs a person in through
the emulator's consent page and back to its redirect URI, and Ctrl-C ends it cleanly, deleting
the session of an import still waiting for its pick."""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
ALICE = "alice@example.com"
URL_LINE = re.compile(r"Open (http://(?:127\.0\.0\.1|localhost):\d+/) in your browser")


class Running:
    """The app's process, its output collected as it comes."""

    def __init__(self, instance: Path, client_secrets: Path | None = None) -> None:
        env = {
            **os.environ,
            "PORT": "0",
            "PICKER_WEBAPP_INSTANCE": str(instance),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("PICKER_WEBAPP_CLIENT_SECRETS", None)
        if client_secrets is not None:
            env["PICKER_WEBAPP_CLIENT_SECRETS"] = str(client_secrets)
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
            env.pop(name, None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "examples.webapp"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._url = threading.Event()
        self.url = ""
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.out, True)),
            threading.Thread(target=self._read, args=(self.process.stderr, self.err, False)),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: object, lines: list[str], look: bool) -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.append(line)
            found = URL_LINE.search(line) if look else None
            if found:
                self.url = found.group(1)
                self._url.set()

    def wait_for_url(self, timeout: float = 60) -> str:
        assert self._url.wait(timeout), "".join(self.out + self.err)
        return self.url

    def wait(self, timeout: float = 60) -> int:
        """The exit code, once the process has ended and its output is read."""
        code = self.process.wait(timeout)
        for reader in self._readers:
            reader.join(timeout=10)
        return code

    def stop(self, timeout: float = 60) -> int:
        """Ctrl-C, and the exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.wait(timeout)


@contextlib.contextmanager
def started(instance: Path, client_secrets: Path | None = None) -> Iterator[Running]:
    app = Running(instance, client_secrets)
    try:
        yield app
    finally:
        if app.process.poll() is None:
            app.process.kill()
            app.process.wait(10)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    with started(tmp_path / "instance") as app:
        yield app


def sign_in(browser: requests.Session, url: str) -> str:
    """Go through the emulator's consent page as a browser would (Allow); the home page."""
    consent = browser.get(url + "signin", timeout=30)
    assert consent.status_code == 200 and "id=allow" in consent.text
    fields = [
        (html.unescape(name), html.unescape(value))
        for name, value in re.findall(
            r'<input type=hidden name="([^"]*)" value="([^"]*)">', consent.text
        )
    ]
    grants = re.findall(r'name=grant value="([^"]*)"', consent.text)
    form = [*fields, ("user", ALICE), ("action", "allow"), *(("grant", g) for g in grants)]
    action = urllib.parse.urljoin(consent.url, "/o/oauth2/v2/auth")
    home = browser.post(action, data=form, timeout=30)  # -> /oauth2callback -> home
    assert home.status_code == 200, home.text
    return home.text


def test_it_prints_the_url_serves_the_app_and_stops_cleanly_on_ctrl_c(
    running: Running,
) -> None:
    url = running.wait_for_url()
    browser = requests.Session()
    browser.trust_env = False
    home = browser.get(url, timeout=30)
    assert home.status_code == 200 and 'id="signin"' in home.text
    start = browser.get(url + "signin", allow_redirects=False, timeout=30)
    assert start.status_code == 302
    auth = urllib.parse.urlsplit(start.headers["Location"])
    emulator = f"{auth.scheme}://{auth.netloc}/"
    query = dict(urllib.parse.parse_qsl(auth.query))
    assert query["redirect_uri"] == url + "oauth2callback"
    # Strict mode: a token the emulator never issued gets Google's 401.
    refused = browser.post(
        emulator + "v1/sessions", json={}, headers={"Authorization": "Bearer made-up"}, timeout=30
    )
    assert (refused.status_code, refused.json()["error"]["status"]) == (401, "UNAUTHENTICATED")

    page = sign_in(browser, url)
    assert ALICE in page and 'id="import"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    started = browser.post(
        url + "imports",
        data={"csrf_token": html.unescape(token.group(1))},
        headers={"Accept": "application/json"},
        timeout=30,
    )
    assert started.status_code == 201, started.text
    session_id = started.json()["autocloseUri"].split("/pick/")[1].split("/")[0]
    live = browser.get(emulator + "_control/sessions", timeout=30).json()["sessions"]
    assert [s["id"] for s in live] == [session_id]

    assert running.stop() == 0
    err = "".join(running.err)
    assert "Traceback" not in err, err
    assert f"session {session_id} deleted" in err  # the waiting import deleted its session
    assert "Stopping" in "".join(running.out)


def test_with_client_secrets_it_signs_in_with_google(tmp_path: Path) -> None:
    # Nothing reaches Google here: the app starts and sends the browser to Google's consent.
    secrets = tmp_path / "client_secret.json"
    client = {
        "client_id": "1234-example.apps.googleusercontent.com",
        "client_secret": "GOCSPX-example",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    secrets.write_text(json.dumps({"web": client}), encoding="utf-8")
    with started(tmp_path / "instance", secrets) as running:
        url = running.wait_for_url()
        assert url.startswith("http://localhost:")
        assert "against Google" in "".join(running.out)
        browser = requests.Session()
        browser.trust_env = False
        start = browser.get(url + "signin", allow_redirects=False, timeout=30)
        assert start.status_code == 302
        auth = urllib.parse.urlsplit(start.headers["Location"])
        query = dict(urllib.parse.parse_qsl(auth.query))
        assert (auth.scheme, auth.netloc) == ("https", "accounts.google.com")
        assert query["redirect_uri"] == url + "oauth2callback"
        assert query["client_id"] == client["client_id"]
        assert "photospicker.mediaitems.readonly" in query["scope"]
        assert running.stop() == 0
        assert "Traceback" not in "".join(running.err)


def test_an_unusable_client_secrets_file_is_a_clear_error(tmp_path: Path) -> None:
    secrets = tmp_path / "client_secret.json"
    secrets.write_text(json.dumps({"installed": {}}), encoding="utf-8")
    with started(tmp_path / "instance", secrets) as running:
        code = running.wait()
    err = "".join(running.err)
    assert code == 1 and "Traceback" not in err
    assert "cannot start the app" in err and "Web application" in err
