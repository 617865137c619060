"""Web sign-in against a loopback token endpoint: what start() asks for, what finish() checks
before anything is sent, and credentials that keep the store current."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import pickle
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import pytest

from picker_discovery import SCOPE
from picker_discovery.errors import (
    AccessNotGranted,
    BadArgument,
    CredentialsFileError,
    MissingExtra,
    SignInRequired,
)
from picker_discovery.web import (
    PendingSignIn,
    SQLiteTokenStore,
    StoredCredentials,
    WebSignIn,
)
from tests.token_endpoint import TokenEndpoint

REDIRECT = "http://127.0.0.1:5000/oauth2callback"
CLIENT_SECRET = "GOCSPX-client-secret-value"


@pytest.fixture
def endpoint(no_proxy: None) -> Iterator[TokenEndpoint]:
    served = TokenEndpoint()
    served.refresh_token = "1//refresh-token-of-alice"
    yield served
    served.close()


def web_config(endpoint: TokenEndpoint, **changes: Any) -> dict[str, Any]:
    web = {
        "client_id": "client-1.apps.googleusercontent.com",
        "client_secret": CLIENT_SECRET,
        "auth_uri": f"{endpoint.origin}/o/oauth2/v2/auth",
        "token_uri": endpoint.url,
        "redirect_uris": [REDIRECT],
    }
    web.update(changes)
    return {"web": web}


@pytest.fixture
def store(tmp_path: Path) -> SQLiteTokenStore:
    return SQLiteTokenStore(tmp_path / "tokens.sqlite3")


@pytest.fixture
def signin(endpoint: TokenEndpoint, store: SQLiteTokenStore) -> WebSignIn:
    # No identity scope: the loopback endpoint plays no userinfo (the emulator tests do).
    return WebSignIn(web_config(endpoint), redirect_uri=REDIRECT, store=store, extra_scopes=())


def query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def callback(**params: str) -> str:
    return f"{REDIRECT}?{urllib.parse.urlencode(params)}"


# -- start ---------------------------------------------------------------------------------


def test_start_asks_for_offline_access_with_pkce_s256_and_a_random_state(
    signin: WebSignIn, endpoint: TokenEndpoint
) -> None:
    url, pending = signin.start(login_hint="alice@example.com")
    asked = query(url)
    assert url.startswith(f"{endpoint.origin}/o/oauth2/v2/auth?")
    assert asked["response_type"] == "code"
    assert asked["client_id"] == "client-1.apps.googleusercontent.com"
    assert asked["redirect_uri"] == REDIRECT
    assert asked["scope"].split() == [SCOPE]
    assert asked["state"] == pending.state
    assert asked["code_challenge_method"] == "S256"
    digest = hashlib.sha256(pending.code_verifier.encode()).digest()
    assert asked["code_challenge"] == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert (asked["access_type"], asked["prompt"], asked["include_granted_scopes"]) == (
        "offline",
        "consent",
        "true",
    )
    assert asked["login_hint"] == "alice@example.com"
    assert pending.code_verifier not in url
    assert endpoint.calls == 0
    _, other = signin.start()
    assert other.state != pending.state and other.code_verifier != pending.code_verifier


def test_the_identity_scopes_are_asked_for_by_default(endpoint: TokenEndpoint, store: Any) -> None:
    signin = WebSignIn(web_config(endpoint), redirect_uri=REDIRECT, store=store)
    assert query(signin.start()[0])["scope"].split() == [SCOPE, "openid", "email"]


def test_a_pending_sign_in_travels_as_a_dict_and_hides_its_verifier(signin: WebSignIn) -> None:
    _, pending = signin.start()
    assert PendingSignIn.from_dict(json.loads(json.dumps(pending.to_dict()))) == pending
    assert pending.code_verifier not in repr(pending)
    with pytest.raises(BadArgument):
        PendingSignIn.from_dict({"state": pending.state})
    with pytest.raises(BadArgument):
        PendingSignIn.from_dict({"state": pending.state, "code_verifier": "short"})


# -- finish: refused before anything is sent -------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"code": "4/0code-from-elsewhere", "state": "another-state-of-enough-length"}, "state"),
        ({"code": "4/0code-without-any-state"}, "state"),
        ({}, "state"),
        ({"STATE": "no code"}, "state"),
        ({"state": "<pending>"}, "no code"),
        ({"state": "<pending>", "code": ""}, "no code"),
        ({"state": "<pending>", "error": "server_error"}, "server_error"),
    ],
)
def test_finish_refuses_an_answer_it_cannot_trust(
    signin: WebSignIn,
    endpoint: TokenEndpoint,
    store: SQLiteTokenStore,
    answer: dict[str, str],
    message: str,
) -> None:
    _, pending = signin.start()
    params = {k: (pending.state if v == "<pending>" else v) for k, v in answer.items()}
    with pytest.raises(SignInRequired, match=message) as refused:
        signin.finish(callback(**params), pending)
    assert "again" in str(refused.value)
    assert endpoint.calls == 0
    assert not store.path.exists() or store.load("anyone") is None


def test_a_repeated_parameter_is_refused(signin: WebSignIn, endpoint: TokenEndpoint) -> None:
    _, pending = signin.start()
    url = callback(state=pending.state, code="4/0one") + "&code=4/0two"
    with pytest.raises(SignInRequired, match="twice"):
        signin.finish(url, pending)
    assert endpoint.calls == 0


def test_a_declined_consent_is_access_not_granted(
    signin: WebSignIn, endpoint: TokenEndpoint
) -> None:
    _, pending = signin.start()
    with pytest.raises(AccessNotGranted, match="declined") as declined:
        signin.finish(callback(error="access_denied", state=pending.state), pending)
    assert isinstance(declined.value, PermissionError)
    assert endpoint.calls == 0


def test_finish_wants_the_pending_sign_in(signin: WebSignIn) -> None:
    with pytest.raises(TypeError, match="PendingSignIn"):
        signin.finish(callback(code="4/0x", state="s" * 20), {"state": "s" * 20})  # type: ignore[arg-type]


# -- finish: the exchange ------------------------------------------------------------------


def test_finish_exchanges_the_code_with_the_verifier_and_stores_the_token(
    signin: WebSignIn, endpoint: TokenEndpoint, store: SQLiteTokenStore
) -> None:
    _, pending = signin.start()
    user = signin.finish(callback(code="4/0the-code", state=pending.state, scope=SCOPE), pending)
    (sent,) = endpoint.requests
    assert sent["grant_type"] == ["authorization_code"]
    assert sent["code"] == ["4/0the-code"]
    assert sent["code_verifier"] == [pending.code_verifier]
    assert sent["redirect_uri"] == [REDIRECT]
    assert user.scopes == (SCOPE,)
    assert user.credentials.token == "access-1"
    stored = store.load(user.id)
    assert stored is not None
    assert stored["refresh_token"] == "1//refresh-token-of-alice"
    assert stored["token"] == "access-1"
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ  # only around the loopback exchange


def test_a_grant_without_the_picker_scope_is_access_not_granted(
    signin: WebSignIn, endpoint: TokenEndpoint, store: SQLiteTokenStore
) -> None:
    endpoint.granted = "openid https://www.googleapis.com/auth/userinfo.email"
    _, pending = signin.start()
    with pytest.raises(AccessNotGranted, match="photospicker"):
        signin.finish(callback(code="4/0the-code", state=pending.state), pending)
    assert store.load("anyone") is None


def test_more_scopes_granted_than_asked_are_fine(
    signin: WebSignIn, endpoint: TokenEndpoint
) -> None:
    endpoint.granted = f"{SCOPE} https://www.googleapis.com/auth/drive.file"
    _, pending = signin.start()
    user = signin.finish(callback(code="4/0the-code", state=pending.state), pending)
    assert set(user.scopes) == {SCOPE, "https://www.googleapis.com/auth/drive.file"}


def test_a_refused_code_asks_to_start_again_and_hides_the_secrets(
    signin: WebSignIn, endpoint: TokenEndpoint
) -> None:
    endpoint.mode = "invalid_grant"
    _, pending = signin.start()
    with pytest.raises(SignInRequired, match="code") as refused:
        signin.finish(callback(code="4/0used-code-value-long-enough", state=pending.state), pending)
    text = repr(refused.value) + repr(refused.value.__cause__)
    assert pending.code_verifier not in text and "4/0used-code-value-long-enough" not in text


# -- settings checked before anything is sent -----------------------------------------------


@pytest.mark.parametrize(
    "redirect",
    [
        "http://app.example/oauth2callback",
        "ftp://app.example/cb",
        "https://app.example/cb#fragment",
        "https://user@app.example/cb",
        "/oauth2callback",
    ],
)
def test_a_redirect_uri_must_be_https_or_loopback(
    endpoint: TokenEndpoint, store: SQLiteTokenStore, redirect: str
) -> None:
    config = web_config(endpoint, redirect_uris=[redirect])
    with pytest.raises(BadArgument, match="redirect_uri"):
        WebSignIn(config, redirect_uri=redirect, store=store)


@pytest.mark.parametrize(
    "redirect", ["https://app.example/oauth2callback", "http://localhost:8000/cb", REDIRECT]
)
def test_https_and_loopback_redirect_uris_are_fine(
    endpoint: TokenEndpoint, store: SQLiteTokenStore, redirect: str
) -> None:
    WebSignIn(web_config(endpoint, redirect_uris=[redirect]), redirect_uri=redirect, store=store)


def test_a_redirect_uri_the_client_does_not_list_is_refused(
    endpoint: TokenEndpoint, store: SQLiteTokenStore
) -> None:
    with pytest.raises(BadArgument, match="redirect_uri_mismatch"):
        WebSignIn(web_config(endpoint), redirect_uri="https://other.example/cb", store=store)


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("token_uri", "https://evil.example/token"),
        ("token_uri", "http://oauth2.googleapis.com/token"),
        ("token_uri", "https://oauth2.googleapis.com.evil.example/token"),
        ("token_uri", "https://user@oauth2.googleapis.com/token"),
        ("auth_uri", "https://accounts.google.com.evil.example/o/oauth2/v2/auth"),
        ("auth_uri", "http://accounts.google.com/o/oauth2/v2/auth"),
    ],
)
def test_an_endpoint_off_google_is_refused_naming_it(
    endpoint: TokenEndpoint, store: SQLiteTokenStore, field: str, url: str
) -> None:
    with pytest.raises(BadArgument, match=field):
        WebSignIn(web_config(endpoint, **{field: url}), redirect_uri=REDIRECT, store=store)
    assert endpoint.calls == 0


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("userinfo_uri", "https://evil.example/userinfo"),
        ("userinfo_uri", "http://openidconnect.googleapis.com/v1/userinfo"),
        ("revoke_uri", "https://evil.example/revoke"),
    ],
)
def test_a_userinfo_or_revoke_uri_off_google_is_refused(
    endpoint: TokenEndpoint, store: SQLiteTokenStore, field: str, url: str
) -> None:
    with pytest.raises(BadArgument, match=field):
        WebSignIn(web_config(endpoint), redirect_uri=REDIRECT, store=store, **{field: url})


def test_google_endpoints_and_allowed_hosts_are_fine(store: SQLiteTokenStore) -> None:
    google = {
        "client_id": "c",
        "client_secret": "s",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    WebSignIn({"web": google}, redirect_uri="https://app.example/cb", store=store)
    proxied = {**google, "token_uri": "https://oauth.corp.example/token"}
    with pytest.raises(BadArgument, match="token_uri"):
        WebSignIn({"web": proxied}, redirect_uri="https://app.example/cb", store=store)
    WebSignIn(
        {"web": proxied},
        redirect_uri="https://app.example/cb",
        store=store,
        allowed_hosts=("oauth.corp.example",),
        userinfo_uri="https://oauth.corp.example/userinfo",
        revoke_uri="https://oauth.corp.example/revoke",
    )


def test_client_config_must_be_a_web_client(store: SQLiteTokenStore, tmp_path: Path) -> None:
    installed = {"installed": {"client_id": "c", "client_secret": "s"}}
    with pytest.raises(BadArgument, match="'web'"):
        WebSignIn(installed, redirect_uri="https://app.example/cb", store=store)
    with pytest.raises(BadArgument, match="token_uri"):
        WebSignIn(
            {
                "web": {
                    "client_id": "c",
                    "client_secret": "s",
                    "auth_uri": "https://accounts.google.com/a",
                }
            },
            redirect_uri="https://app.example/cb",
            store=store,
        )
    path = tmp_path / "client_secret.json"
    path.write_text(json.dumps(installed))
    with pytest.raises(CredentialsFileError, match=r"client_secret\.json"):
        WebSignIn.from_client_secrets_file(path, redirect_uri="https://a.example/cb", store=store)
    with pytest.raises(CredentialsFileError, match=r"missing\.json"):
        WebSignIn.from_client_secrets_file(
            tmp_path / "missing.json", redirect_uri="https://a.example/cb", store=store
        )


def test_from_client_secrets_file_reads_the_json(
    endpoint: TokenEndpoint, store: SQLiteTokenStore, tmp_path: Path
) -> None:
    path = tmp_path / "client_secret.json"
    path.write_text(json.dumps(web_config(endpoint)))
    signin = WebSignIn.from_client_secrets_file(path, redirect_uri=REDIRECT, store=store)
    assert query(signin.start()[0])["client_id"] == "client-1.apps.googleusercontent.com"


def test_without_the_web_extra_the_error_gives_the_pip_command(
    endpoint: TokenEndpoint, store: SQLiteTokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "google_auth_oauthlib.flow", None)
    with pytest.raises(MissingExtra, match=r"pip install 'picker-discovery\[web\]'"):
        WebSignIn(web_config(endpoint), redirect_uri=REDIRECT, store=store)


# -- credentials ------------------------------------------------------------------------------


def signed_in(signin: WebSignIn) -> str:
    _, pending = signin.start()
    return signin.finish(callback(code="4/0the-code", state=pending.state), pending).id


def test_no_row_means_sign_in_required(signin: WebSignIn) -> None:
    with pytest.raises(SignInRequired, match="nobody is signed in"):
        signin.credentials("nobody")


def test_a_refresh_writes_the_new_token_back(
    signin: WebSignIn, endpoint: TokenEndpoint, store: SQLiteTokenStore
) -> None:
    user_id = signed_in(signin)
    credentials = signin.credentials(user_id)
    assert isinstance(credentials, StoredCredentials) and credentials.valid
    before = store.updated_at(user_id)
    credentials.refresh(google.auth.transport.requests.Request())
    assert endpoint.requests[-1]["grant_type"] == ["refresh_token"]
    assert endpoint.requests[-1]["refresh_token"] == ["1//refresh-token-of-alice"]
    stored = store.load(user_id)
    assert stored is not None and stored["token"] == "access-2" == credentials.token
    after = store.updated_at(user_id)
    assert before is not None and after is not None and after > before
    assert signin.credentials(user_id).token == "access-2"


def test_a_revoked_refresh_token_deletes_the_row(
    signin: WebSignIn, endpoint: TokenEndpoint, store: SQLiteTokenStore
) -> None:
    user_id = signed_in(signin)
    credentials = signin.credentials(user_id)
    endpoint.mode = "invalid_grant"
    with pytest.raises(SignInRequired, match="revoked or has expired") as refused:
        credentials.refresh(google.auth.transport.requests.Request())
    assert store.load(user_id) is None
    assert "1//refresh-token-of-alice" not in repr(refused.value.__cause__)
    with pytest.raises(SignInRequired):
        signin.credentials(user_id)


def test_another_refusal_stays_a_refresh_error_without_secrets(
    signin: WebSignIn, endpoint: TokenEndpoint, store: SQLiteTokenStore
) -> None:
    user_id = signed_in(signin)
    credentials = signin.credentials(user_id)
    endpoint.mode = "echo"  # a hostile answer repeating the form (the refresh token)
    with pytest.raises(google.auth.exceptions.RefreshError) as refused:
        credentials.refresh(google.auth.transport.requests.Request())
    assert not isinstance(refused.value, SignInRequired)
    assert "1//refresh-token-of-alice" not in repr(refused.value.args)
    assert CLIENT_SECRET not in repr(refused.value.args)
    assert store.load(user_id) is not None  # kept: the refresh token was not refused


def test_a_signed_out_user_is_not_brought_back_by_a_refresh(
    signin: WebSignIn, endpoint: TokenEndpoint, store: SQLiteTokenStore
) -> None:
    user_id = signed_in(signin)
    credentials = signin.credentials(user_id)
    assert signin.sign_out(user_id, revoke=False) is True
    assert signin.sign_out(user_id, revoke=False) is False
    calls = endpoint.calls
    with pytest.raises(SignInRequired):
        credentials.refresh(google.auth.transport.requests.Request())
    assert endpoint.calls == calls
    assert store.load(user_id) is None


def test_copies_keep_the_store_and_pickles_drop_it(signin: WebSignIn, store: Any) -> None:
    credentials = signin.credentials(signed_in(signin))
    quota = credentials.with_quota_project("my-project")
    assert isinstance(quota, StoredCredentials)
    assert quota.store is store and quota.user_id == credentials.user_id
    assert quota.quota_project_id == "my-project"
    restored = pickle.loads(pickle.dumps(credentials))
    assert restored.store is None and restored.user_id == credentials.user_id
    assert restored.refresh_token == credentials.refresh_token
    assert copy.copy(credentials).store is store
    deep = copy.deepcopy(credentials)
    assert deep.store is store and deep.token == credentials.token
    assert deep.expiry == credentials.expiry


def test_sign_out_revokes_the_refresh_token(
    signin: WebSignIn, endpoint: TokenEndpoint, store: SQLiteTokenStore
) -> None:
    user_id = signed_in(signin)
    assert signin.sign_out(user_id) is True
    assert endpoint.requests[-1] == {"token": ["1//refresh-token-of-alice"]}
    assert store.load(user_id) is None


def test_sign_out_deletes_the_row_even_when_revoking_fails(
    signin: WebSignIn, endpoint: TokenEndpoint, store: SQLiteTokenStore
) -> None:
    user_id = signed_in(signin)
    endpoint.mode = "html"
    with pytest.raises(Exception, match="HTTP 400") as failed:
        signin.sign_out(user_id)
    assert "Google Account" in str(failed.value)
    assert store.load(user_id) is None


def test_the_code_exchange_logs_no_secret_even_at_debug(
    signin: WebSignIn, endpoint: TokenEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    endpoint.access_token = "plain-access-token-value"
    endpoint.refresh_token = "plain-refresh-token-value"
    _, pending = signin.start()
    user = signin.finish(callback(code="plain-code-value", state=pending.state), pending)
    signin.credentials(user.id).refresh(google.auth.transport.requests.Request())
    assert "exchanged a sign-in's code" in caplog.text
    secrets = ("plain-code-value", pending.code_verifier, "plain-access-token-value")
    for secret in (*secrets, "plain-refresh-token-value", CLIENT_SECRET, "Basic "):
        assert secret not in caplog.text
