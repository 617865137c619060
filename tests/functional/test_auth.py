"""Signing in: the installed-app flow against a loopback token endpoint, and the token file."""

from __future__ import annotations

import json
import stat
import threading
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

from picker_discovery import _auth as auth
from picker_discovery._discovery import SCOPE
from tests.token_endpoint import TokenEndpoint as LoopbackTokenEndpoint


@pytest.fixture
def oauth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[LoopbackTokenEndpoint]:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the loopback token endpoint is http
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    endpoint = (
        LoopbackTokenEndpoint()
    )  # the emulator plays no OAuth yet: see tests/token_endpoint.py
    endpoint.refresh_token = "refresh-1"
    yield endpoint
    endpoint.close()


def consent(url: str) -> None:
    """What a person's browser does after they allow access: follow Google's redirect."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    redirect = query["redirect_uri"][0]
    back = f"{redirect}?state={query['state'][0]}&code=the-code&scope={SCOPE}"
    threading.Thread(target=lambda: urllib.request.urlopen(back, timeout=10).read()).start()


def test_login_runs_the_flow_and_stores_an_owner_only_token(
    oauth: LoopbackTokenEndpoint, tmp_path: Path
) -> None:
    urls: list[str] = []

    def on_url(url: str) -> None:
        urls.append(url)
        consent(url)

    credentials = auth.login(
        oauth.client_secrets(tmp_path), open_browser=False, on_authorization_url=on_url
    )
    assert credentials.token == "access-1"
    [url] = urls
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert url.startswith(f"{oauth.origin}/auth?")
    assert query["scope"] == [SCOPE]
    assert query["redirect_uri"][0].startswith("http://localhost:")
    [exchange] = oauth.requests
    assert exchange["code"] == ["the-code"] and exchange["grant_type"] == ["authorization_code"]

    token = auth.default_token_path()
    assert token == tmp_path / "config" / "picker-discovery" / "token.json"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert stat.S_IMODE(token.parent.stat().st_mode) == 0o700
    stored = json.loads(token.read_text())
    assert (stored["refresh_token"], stored["scopes"]) == ("refresh-1", [SCOPE])
    assert [p.name for p in token.parent.iterdir()] == ["token.json"]


def test_login_refuses_a_grant_without_the_picker_scope(
    oauth: LoopbackTokenEndpoint, tmp_path: Path
) -> None:
    oauth.granted = "openid"
    with pytest.raises(PermissionError, match="did not grant"):
        auth.login(oauth.client_secrets(tmp_path), open_browser=False, on_authorization_url=consent)
    assert not auth.default_token_path().exists()


def test_a_sign_in_that_never_comes_is_a_timeout_error(
    oauth: LoopbackTokenEndpoint, tmp_path: Path
) -> None:
    """No browser ever follows the redirect: the wait ends with its own error, no token."""
    urls: list[str] = []
    with pytest.raises(TimeoutError, match=r"no sign-in arrived within 0\.2 seconds"):
        auth.login(
            oauth.client_secrets(tmp_path),
            open_browser=False,
            on_authorization_url=urls.append,
            timeout_seconds=0.2,
        )
    assert len(urls) == 1 and oauth.requests == []
    assert not auth.default_token_path().exists()


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf")])
def test_login_refuses_a_timeout_that_cannot_work(
    oauth: LoopbackTokenEndpoint, tmp_path: Path, timeout: float
) -> None:
    with pytest.raises(ValueError, match="timeout_seconds"):
        auth.login(oauth.client_secrets(tmp_path), open_browser=False, timeout_seconds=timeout)


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
