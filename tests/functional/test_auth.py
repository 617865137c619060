"""Signing in: the installed-app flow against the emulator's OAuth server, and the token file."""

from __future__ import annotations

import json
import re
import stat
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import google.auth.exceptions
import google.oauth2.credentials
import pytest

import picker_discovery.errors
from picker_discovery import _auth as auth
from picker_discovery._discovery import SCOPE
from picker_discovery.testing import Emulator

CLIENT_ID = "123-abc.apps.googleusercontent.com"
CLIENT_SECRET = "shh"


class SignIn:
    """The emulator's OAuth server with an installed-app client, and a person at its consent
    page (``consent``) who allows as told and whose browser follows the redirect."""

    def __init__(self, emu: Emulator, folder: Path) -> None:
        self.emu = emu
        config = emu.register_client(
            CLIENT_ID, CLIENT_SECRET, redirect_uris=["http://localhost"], kind="installed"
        )
        self.client_secrets = folder / "client_secret.json"
        self.client_secrets.write_text(json.dumps(config))
        self.granted: list[str] | None = None  # the scopes the person leaves checked
        self.redirects: list[str] = []

    def consent(self, url: str) -> None:
        """Press Allow on the consent page, then follow Google's redirect, as a browser."""
        back = self.emu.authorize(url, scopes=self.granted)
        self.redirects.append(back)
        threading.Thread(target=lambda: urllib.request.urlopen(back, timeout=10).read()).start()

    def exchanges(self) -> int:
        return len(self.emu.attempts("oauth.token"))

    def token_request(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        data = urllib.parse.urlencode(
            {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form}
        ).encode()
        try:
            with urllib.request.urlopen(self.emu.token_uri, data, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())


@pytest.fixture
def oauth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SignIn]:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator's endpoints are http
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    with Emulator() as emu:
        yield SignIn(emu, tmp_path)


def test_login_runs_the_flow_and_stores_an_owner_only_token(oauth: SignIn, tmp_path: Path) -> None:
    urls: list[str] = []

    def on_url(url: str) -> None:
        urls.append(url)
        oauth.consent(url)

    credentials = auth.login(oauth.client_secrets, open_browser=False, on_authorization_url=on_url)
    backend = oauth.emu.backend
    issued = backend.oauth.lookup(credentials.token or "", backend.now())
    assert issued is not None and issued.email == "alice@example.com"  # the emulator's token
    [url] = urls
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert url.startswith(f"{oauth.emu.auth_uri}?")
    assert query["scope"] == [SCOPE]
    assert query["redirect_uri"][0].startswith("http://localhost:")
    # The code of the redirect was exchanged, once, with the authorization-code grant: it is
    # spent now.
    assert oauth.exchanges() == 1
    [back] = oauth.redirects
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(back).query)["code"][0]
    spent = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": query["redirect_uri"][0],
    }
    assert oauth.token_request(spent) == (
        400,
        {"error": "invalid_grant", "error_description": "Bad Request"},
    )

    token = auth.default_token_path()
    assert token == tmp_path / "config" / "picker-discovery" / "token.json"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert stat.S_IMODE(token.parent.stat().st_mode) == 0o700
    stored = json.loads(token.read_text())
    assert stored["scopes"] == [SCOPE]
    refreshed = oauth.token_request(
        {"grant_type": "refresh_token", "refresh_token": stored["refresh_token"]}
    )
    assert refreshed[0] == 200  # the stored refresh token is the one the emulator issued
    assert [p.name for p in token.parent.iterdir()] == ["token.json"]


def test_login_refuses_a_grant_without_the_picker_scope(oauth: SignIn, tmp_path: Path) -> None:
    oauth.granted = []  # the person unchecks the picker scope
    with pytest.raises(PermissionError, match="did not grant"):
        auth.login(oauth.client_secrets, open_browser=False, on_authorization_url=oauth.consent)
    assert not auth.default_token_path().exists()


def test_a_sign_in_that_never_comes_is_a_timeout_error(oauth: SignIn, tmp_path: Path) -> None:
    """No browser ever follows the redirect: the wait ends with its own error, no token."""
    urls: list[str] = []
    with pytest.raises(TimeoutError, match=r"no sign-in arrived within 0\.2 seconds"):
        auth.login(
            oauth.client_secrets,
            open_browser=False,
            on_authorization_url=urls.append,
            timeout_seconds=0.2,
        )
    assert len(urls) == 1 and oauth.exchanges() == 0
    assert not auth.default_token_path().exists()


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf")])
def test_login_refuses_a_timeout_that_cannot_work(
    oauth: SignIn, tmp_path: Path, timeout: float
) -> None:
    with pytest.raises(ValueError, match="timeout_seconds"):
        auth.login(oauth.client_secrets, open_browser=False, timeout_seconds=timeout)


def test_login_explains_a_bad_client_secrets_file(tmp_path: Path) -> None:
    bad = tmp_path / "client_secret.json"
    bad.write_text('{"web": 1}')
    with pytest.raises(ValueError, match="Desktop app"):
        auth.login(bad, open_browser=False)


class TokenEndpoint:
    """A google-auth transport standing in for Google's token endpoint during a refresh."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, list[str]]]] = []
        self.refuse = refuse

    def __call__(self, url: str, method: str = "GET", body: Any = None, **kwargs: Any) -> Any:
        form = urllib.parse.parse_qs(body.decode() if isinstance(body, bytes) else body)
        self.calls.append((url, form))
        if self.refuse:
            answer: dict[str, Any] = {"error": "invalid_grant", "error_description": "Revoked."}
            status = 400
        else:
            status = 200
            answer = {"access_token": "fresh", "expires_in": 3599, "scope": SCOPE}

        return SimpleNamespace(
            status=status,
            headers={"content-type": "application/json"},
            data=json.dumps(answer).encode(),
        )


def stored_token(path: Path, *, expired: bool) -> Path:
    expiry = datetime.now(timezone.utc) + timedelta(hours=-1 if expired else 1)
    credentials = google.oauth2.credentials.Credentials(
        token="old-access",
        refresh_token="refresh-1",
        token_uri="https://oauth2.googleapis.com/token",
        client_id="123-abc.apps.googleusercontent.com",
        client_secret="shh",
        scopes=[SCOPE],
        expiry=expiry.replace(tzinfo=None),
    )
    return auth.save_credentials(credentials, path)


def test_a_valid_token_loads_without_a_request(tmp_path: Path) -> None:
    endpoint = TokenEndpoint()
    credentials = auth.load_credentials(
        stored_token(tmp_path / "t.json", expired=False), request=endpoint
    )
    assert credentials is not None and credentials.token == "old-access"
    assert endpoint.calls == []


def test_an_expired_token_is_refreshed_at_google_and_stored_again(tmp_path: Path) -> None:
    path = stored_token(tmp_path / "t.json", expired=True)
    endpoint = TokenEndpoint()
    credentials = auth.load_credentials(path, request=endpoint)
    assert credentials is not None and credentials.token == "fresh"
    [(url, form)] = endpoint.calls
    assert url == "https://oauth2.googleapis.com/token"
    assert (form["grant_type"], form["refresh_token"]) == (["refresh_token"], ["refresh-1"])
    assert json.loads(path.read_text())["token"] == "fresh"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_revoked_token_says_to_sign_in_again(tmp_path: Path) -> None:
    path = stored_token(tmp_path / "t.json", expired=True)
    with pytest.raises(google.auth.exceptions.RefreshError, match="sign in again"):
        auth.load_credentials(path, request=TokenEndpoint(refuse=True))
    assert json.loads(path.read_text())["token"] == "old-access"


def test_missing_and_broken_token_files(tmp_path: Path) -> None:
    assert auth.load_credentials(tmp_path / "absent.json") is None
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    broken.chmod(0o600)
    with pytest.raises(ValueError, match="sign in again"):
        auth.load_credentials(broken)
    broken.write_text('{"token": "x"}')
    with pytest.raises(ValueError, match="not a usable token file"):
        auth.load_credentials(broken)


def test_logout_forgets_the_token(tmp_path: Path) -> None:
    path = stored_token(tmp_path / "t.json", expired=False)
    assert auth.logout(path) is True
    assert not path.exists()
    assert auth.logout(path) is False


# -- signing in where the browser cannot reach this process (paste the address back) ------


def test_remote_login_exchanges_the_pasted_code_with_pkce(oauth: SignIn, tmp_path: Path) -> None:
    urls: list[str] = []
    prompts: list[str] = []

    def paste(prompt: str) -> str:
        prompts.append(prompt)
        return oauth.emu.authorize(urls[0])  # the address the browser ends on

    credentials = auth.login(
        oauth.client_secrets, remote=True, on_authorization_url=urls.append, read_redirect=paste
    )
    [url] = urls
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["redirect_uri"] == ["http://localhost:8085/"]
    assert "address your browser ends on" in prompts[0]
    issued = oauth.emu.backend.oauth.lookup(credentials.token or "", oauth.emu.backend.now())
    assert issued is not None and issued.email == "alice@example.com"
    assert oauth.exchanges() == 1
    stored = json.loads(auth.default_token_path().read_text())
    assert stored["refresh_token"] == credentials.refresh_token


def test_remote_login_refuses_an_address_of_another_sign_in(oauth: SignIn) -> None:
    urls: list[str] = []

    def paste_tampered(prompt: str) -> str:
        back = oauth.emu.authorize(urls[0])
        return re.sub(r"state=[^&]+", "state=someone-elses", back)

    with pytest.raises(picker_discovery.errors.BadArgument, match="another sign-in"):
        auth.login(
            oauth.client_secrets,
            remote=True,
            on_authorization_url=urls.append,
            read_redirect=paste_tampered,
        )
    assert oauth.exchanges() == 0  # the code was never sent
    assert not auth.default_token_path().exists()


@pytest.mark.parametrize(
    ("pasted", "match"),
    [
        ("4/0AbCdEf-just-the-code", "not the address"),
        ("http://localhost:8085/?state={state}", "no code="),
    ],
)
def test_remote_login_says_what_to_paste(oauth: SignIn, pasted: str, match: str) -> None:
    urls: list[str] = []

    def paste(prompt: str) -> str:
        state = urllib.parse.parse_qs(urllib.parse.urlsplit(urls[0]).query)["state"][0]
        return pasted.format(state=state)

    with pytest.raises(picker_discovery.errors.BadArgument, match=match):
        auth.login(
            oauth.client_secrets, remote=True, on_authorization_url=urls.append, read_redirect=paste
        )


def test_remote_login_denied_is_not_granted(oauth: SignIn) -> None:
    urls: list[str] = []
    with pytest.raises(PermissionError, match="refused"):
        auth.login(
            oauth.client_secrets,
            remote=True,
            on_authorization_url=urls.append,
            read_redirect=lambda prompt: oauth.emu.authorize(urls[0], allow=False),
        )


def test_a_jupyterhub_kernel_signs_in_by_paste_without_being_told(
    oauth: SignIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a notebook on JupyterHub (or Colab) the loopback cannot be reached: ``login()``
    asks for the address, its prompt holding the link to open."""
    monkeypatch.setenv("JUPYTERHUB_API_URL", "http://hub:8081/hub/api")

    def paste(prompt: str) -> str:
        url = re.search(r"Open (\S+) ,", prompt)
        assert url, prompt
        return oauth.emu.authorize(url.group(1))

    credentials = auth.login(oauth.client_secrets, read_redirect=paste)
    assert credentials.valid
