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

from picker_discovery import SCOPE, PickerError
from picker_discovery.errors import (
    AccessNotGranted,
    BadArgument,
    CredentialsFileError,
    MissingExtra,
    SignInRequired,
)
from picker_discovery.testing import Emulator, Fault
from picker_discovery.web import (
    PendingSignIn,
    SQLiteTokenStore,
    StoredCredentials,
    WebSignIn,
)

REDIRECT = "http://127.0.0.1:5000/oauth2callback"
CLIENT_SECRET = "GOCSPX-client-secret-value"
ALICE = "alice@example.com"


@pytest.fixture
def endpoint(no_proxy: None) -> Iterator[Emulator]:
    """The emulator, for its OAuth endpoints (its API is not used here)."""
    with Emulator() as served:
        yield served


def web_config(endpoint: Emulator, **changes: Any) -> dict[str, Any]:
    config = endpoint.register_client(
        "client-1.apps.googleusercontent.com", CLIENT_SECRET, redirect_uris=[REDIRECT]
    )
    config["web"].update(changes)
    return config


@pytest.fixture
def store(tmp_path: Path) -> SQLiteTokenStore:
    return SQLiteTokenStore(tmp_path / "tokens.sqlite3")


@pytest.fixture
def signin(endpoint: Emulator, store: SQLiteTokenStore) -> WebSignIn:
    return WebSignIn(web_config(endpoint), redirect_uri=REDIRECT, store=store)


def query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def callback(**params: str) -> str:
    return f"{REDIRECT}?{urllib.parse.urlencode(params)}"


def exchanges(endpoint: Emulator) -> int:
    """How many requests reached the token endpoint."""
    return len(endpoint.attempts("oauth.token"))


def consented(endpoint: Emulator, signin: WebSignIn, **consent: Any) -> tuple[str, PendingSignIn]:
    """The URL the browser comes back to after the consent page, and the pending sign-in."""
    url, pending = signin.start()
    return endpoint.authorize(url, user=ALICE, **consent), pending


def token_answer(**answer: Any) -> Fault:
    """A scripted token endpoint answer (200 unless ``status`` is given)."""
    status = answer.pop("status", None)
    return Fault(status=status, body=json.dumps(answer), content_type="application/json")


# -- start ---------------------------------------------------------------------------------


def test_start_asks_for_offline_access_with_pkce_s256_and_a_random_state(
    signin: WebSignIn, endpoint: Emulator
) -> None:
    url, pending = signin.start(login_hint=ALICE)
    asked = query(url)
    assert url.startswith(f"{endpoint.auth_uri}?")
    assert asked["response_type"] == "code"
    assert asked["client_id"] == "client-1.apps.googleusercontent.com"
    assert asked["redirect_uri"] == REDIRECT
    assert asked["scope"].split() == [SCOPE, "openid", "email"]
    assert asked["state"] == pending.state
    assert asked["code_challenge_method"] == "S256"
    digest = hashlib.sha256(pending.code_verifier.encode()).digest()
    assert asked["code_challenge"] == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert (asked["access_type"], asked["prompt"], asked["include_granted_scopes"]) == (
        "offline",
        "consent",
        "true",
    )
    assert asked["login_hint"] == ALICE
    assert pending.code_verifier not in url
    assert exchanges(endpoint) == 0
    _, other = signin.start()
    assert other.state != pending.state and other.code_verifier != pending.code_verifier


def test_the_picker_scope_is_always_asked_for(endpoint: Emulator, store: Any) -> None:
    signin = WebSignIn(web_config(endpoint), redirect_uri=REDIRECT, store=store, extra_scopes=())
    assert query(signin.start()[0])["scope"].split() == [SCOPE]
    assert signin.scopes == (SCOPE,)


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
    endpoint: Emulator,
    store: SQLiteTokenStore,
    answer: dict[str, str],
    message: str,
) -> None:
    _, pending = signin.start()
    params = {k: (pending.state if v == "<pending>" else v) for k, v in answer.items()}
    with pytest.raises(SignInRequired, match=message) as refused:
        signin.finish(callback(**params), pending)
    assert "again" in str(refused.value)
    assert exchanges(endpoint) == 0
    assert not store.path.exists() or store.load("anyone") is None


def test_a_real_answer_for_another_sign_in_is_refused(
    signin: WebSignIn, endpoint: Emulator
) -> None:
    answer, _ = consented(endpoint, signin)
    _, mine = signin.start()  # the browser's own, newer sign-in
    with pytest.raises(SignInRequired, match="state"):
        signin.finish(answer, mine)
    assert exchanges(endpoint) == 0


def test_a_repeated_parameter_is_refused(signin: WebSignIn, endpoint: Emulator) -> None:
    _, pending = signin.start()
    url = callback(state=pending.state, code="4/0one") + "&code=4/0two"
    with pytest.raises(SignInRequired, match="twice"):
        signin.finish(url, pending)
    assert exchanges(endpoint) == 0


def test_a_declined_consent_is_access_not_granted(signin: WebSignIn, endpoint: Emulator) -> None:
    answer, pending = consented(endpoint, signin, allow=False)
    assert query(answer)["error"] == "access_denied"
    with pytest.raises(AccessNotGranted, match="declined") as declined:
        signin.finish(answer, pending)
    assert isinstance(declined.value, PermissionError)
    assert exchanges(endpoint) == 0


def test_finish_wants_the_pending_sign_in(signin: WebSignIn) -> None:
    with pytest.raises(TypeError, match="PendingSignIn"):
        signin.finish(callback(code="4/0x", state="s" * 20), {"state": "s" * 20})  # type: ignore[arg-type]


# -- finish: the exchange ------------------------------------------------------------------


def test_finish_exchanges_the_code_and_stores_the_token_under_the_users_id(
    signin: WebSignIn, endpoint: Emulator, store: SQLiteTokenStore
) -> None:
    answer, pending = consented(endpoint, signin)
    user = signin.finish(answer, pending)  # the emulator checks the PKCE verifier
    assert exchanges(endpoint) == 1
    assert user.email == ALICE and user.id and user.id != ALICE
    assert SCOPE in user.scopes
    stored = store.load(user.id)
    assert stored is not None
    assert stored["token"] == user.credentials.token
    assert stored["refresh_token"] == user.credentials.refresh_token
    assert stored["refresh_token"]
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ  # only around the loopback exchange


def test_a_grant_without_the_picker_scope_is_access_not_granted(
    signin: WebSignIn, endpoint: Emulator, store: SQLiteTokenStore
) -> None:
    answer, pending = consented(endpoint, signin, scopes=[])  # the picker box unticked
    with pytest.raises(AccessNotGranted, match="photospicker"):
        signin.finish(answer, pending)
    assert store.load("anyone") is None


def test_scopes_granted_before_come_along_and_are_fine(
    endpoint: Emulator, store: SQLiteTokenStore
) -> None:
    drive = "https://www.googleapis.com/auth/drive.file"
    config = endpoint.register_client(redirect_uris=[REDIRECT])
    wider = WebSignIn(
        config, redirect_uri=REDIRECT, store=store, extra_scopes=("openid", "email", drive)
    )
    assert drive in signin_scopes(endpoint, wider)
    # Asking for less later: include_granted_scopes=true brings the earlier grant along, which
    # oauthlib takes for a changed scope; the sign-in goes through all the same.
    narrower = WebSignIn(config, redirect_uri=REDIRECT, store=store)
    assert drive in signin_scopes(endpoint, narrower)


def signin_scopes(endpoint: Emulator, signin: WebSignIn) -> tuple[str, ...]:
    scopes: tuple[str, ...] = signin.finish(*consented(endpoint, signin)).scopes
    return scopes


def test_a_refused_code_asks_to_start_again_and_hides_the_secrets(
    signin: WebSignIn, endpoint: Emulator
) -> None:
    answer, pending = consented(endpoint, signin)
    signin.finish(answer, pending)
    with pytest.raises(SignInRequired, match="used already") as refused:
        signin.finish(answer, pending)  # a code works once
    code = query(answer)["code"]
    text = repr(refused.value) + repr(refused.value.__cause__)
    assert pending.code_verifier not in text and code not in text and CLIENT_SECRET not in text


def test_a_client_the_token_endpoint_refuses_is_a_clear_error(
    endpoint: Emulator, store: SQLiteTokenStore
) -> None:
    config = web_config(endpoint, client_secret="GOCSPX-not-the-right-secret")
    signin = WebSignIn(config, redirect_uri=REDIRECT, store=store)
    answer, pending = consented(endpoint, signin)
    with pytest.raises(PickerError, match="invalid_client") as refused:
        signin.finish(answer, pending)
    assert "Google Cloud console" in str(refused.value)
    assert "GOCSPX-not-the-right-secret" not in repr(refused.value.__cause__)


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
    endpoint: Emulator, store: SQLiteTokenStore, redirect: str
) -> None:
    config = web_config(endpoint, redirect_uris=[redirect])
    with pytest.raises(BadArgument, match="redirect_uri"):
        WebSignIn(config, redirect_uri=redirect, store=store)


@pytest.mark.parametrize(
    "redirect", ["https://app.example/oauth2callback", "http://localhost:8000/cb", REDIRECT]
)
def test_https_and_loopback_redirect_uris_are_fine(
    endpoint: Emulator, store: SQLiteTokenStore, redirect: str
) -> None:
    WebSignIn(web_config(endpoint, redirect_uris=[redirect]), redirect_uri=redirect, store=store)


def test_a_redirect_uri_the_client_does_not_list_is_refused(
    endpoint: Emulator, store: SQLiteTokenStore
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
    endpoint: Emulator, store: SQLiteTokenStore, field: str, url: str
) -> None:
    with pytest.raises(BadArgument, match=field):
        WebSignIn(web_config(endpoint, **{field: url}), redirect_uri=REDIRECT, store=store)
    assert exchanges(endpoint) == 0


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("userinfo_uri", "https://evil.example/userinfo"),
        ("userinfo_uri", "http://openidconnect.googleapis.com/v1/userinfo"),
        ("revoke_uri", "https://evil.example/revoke"),
    ],
)
def test_a_userinfo_or_revoke_uri_off_google_is_refused(
    endpoint: Emulator, store: SQLiteTokenStore, field: str, url: str
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
    with pytest.raises(BadArgument, match="userinfo_uri"):  # no guessing off Google
        WebSignIn(
            {"web": proxied},
            redirect_uri="https://app.example/cb",
            store=store,
            allowed_hosts=("oauth.corp.example",),
        )
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
    endpoint: Emulator, store: SQLiteTokenStore, tmp_path: Path
) -> None:
    path = tmp_path / "client_secret.json"
    path.write_text(json.dumps(web_config(endpoint)))
    signin = WebSignIn.from_client_secrets_file(path, redirect_uri=REDIRECT, store=store)
    assert query(signin.start()[0])["client_id"] == "client-1.apps.googleusercontent.com"


def test_without_the_web_extra_the_error_gives_the_pip_command(
    store: SQLiteTokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "google_auth_oauthlib.flow", None)
    google = {
        "client_id": "c",
        "client_secret": "s",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    with pytest.raises(MissingExtra, match=r"pip install 'picker-discovery\[web\]'"):
        WebSignIn({"web": google}, redirect_uri="https://app.example/cb", store=store)


# -- credentials ------------------------------------------------------------------------------


def signed_in(endpoint: Emulator, signin: WebSignIn) -> str:
    return signin.finish(*consented(endpoint, signin)).id


def refresh(credentials: Any) -> None:
    credentials.refresh(google.auth.transport.requests.Request())


def test_no_row_means_sign_in_required(signin: WebSignIn) -> None:
    with pytest.raises(SignInRequired, match="nobody is signed in"):
        signin.credentials("nobody")


def test_a_refresh_writes_the_new_token_back(
    signin: WebSignIn, endpoint: Emulator, store: SQLiteTokenStore
) -> None:
    user_id = signed_in(endpoint, signin)
    credentials = signin.credentials(user_id)
    assert isinstance(credentials, StoredCredentials) and credentials.valid
    first = store.load(user_id)
    before = store.updated_at(user_id)
    refresh(credentials)
    assert exchanges(endpoint) == 2
    stored = store.load(user_id)
    assert first is not None and stored is not None
    assert stored["token"] == credentials.token != first["token"]
    assert stored["refresh_token"] == first["refresh_token"]
    after = store.updated_at(user_id)
    assert before is not None and after is not None and after > before
    assert signin.credentials(user_id).token == credentials.token


def test_a_revoked_refresh_token_deletes_the_row(
    signin: WebSignIn, endpoint: Emulator, store: SQLiteTokenStore
) -> None:
    user_id = signed_in(endpoint, signin)
    credentials = signin.credentials(user_id)
    endpoint.set_faults(
        "oauth.token",
        [
            token_answer(
                status=400,
                error="invalid_grant",
                error_description="Token has been expired or revoked.",
            )
        ],
    )
    with pytest.raises(SignInRequired, match="revoked or has expired") as refused:
        refresh(credentials)
    assert store.load(user_id) is None
    assert credentials.refresh_token not in repr(refused.value.__cause__)
    with pytest.raises(SignInRequired):
        signin.credentials(user_id)


def test_another_refusal_stays_a_refresh_error_without_secrets(
    signin: WebSignIn, endpoint: Emulator, store: SQLiteTokenStore
) -> None:
    user_id = signed_in(endpoint, signin)
    credentials = signin.credentials(user_id)
    assert credentials.refresh_token is not None
    # A hostile answer repeating the request's refresh token and the client secret.
    echo = f"bad request: refresh_token={credentials.refresh_token} secret={CLIENT_SECRET}"
    endpoint.set_faults(
        "oauth.token", [token_answer(status=400, error="invalid_request", error_description=echo)]
    )
    with pytest.raises(google.auth.exceptions.RefreshError) as refused:
        refresh(credentials)
    assert not isinstance(refused.value, SignInRequired)
    assert credentials.refresh_token not in repr(refused.value.args)
    assert CLIENT_SECRET not in repr(refused.value.args)
    assert store.load(user_id) is not None  # kept: the refresh token was not refused


def test_a_token_of_another_client_is_not_used(
    signin: WebSignIn, endpoint: Emulator, store: SQLiteTokenStore
) -> None:
    user_id = signed_in(endpoint, signin)
    other = endpoint.register_client(redirect_uris=[REDIRECT])
    with pytest.raises(SignInRequired, match="another OAuth client"):
        WebSignIn(other, redirect_uri=REDIRECT, store=store).credentials(user_id)
    assert store.load(user_id) is None


def test_a_signed_out_user_is_not_brought_back_by_a_refresh(
    signin: WebSignIn, endpoint: Emulator, store: SQLiteTokenStore
) -> None:
    user_id = signed_in(endpoint, signin)
    credentials = signin.credentials(user_id)
    assert signin.sign_out(user_id, revoke=False) is True
    assert signin.sign_out(user_id, revoke=False) is False
    with pytest.raises(SignInRequired):
        refresh(credentials)
    assert exchanges(endpoint) == 1
    assert store.load(user_id) is None


def test_copies_keep_the_store_and_pickles_drop_it(
    signin: WebSignIn, endpoint: Emulator, store: Any
) -> None:
    credentials = signin.credentials(signed_in(endpoint, signin))
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


def test_sign_out_revokes_the_grant(
    signin: WebSignIn, endpoint: Emulator, store: SQLiteTokenStore
) -> None:
    user_id = signed_in(endpoint, signin)
    credentials = signin.credentials(user_id)
    assert signin.sign_out(user_id) is True
    assert len(endpoint.attempts("oauth.revoke")) == 1
    assert store.load(user_id) is None
    store.save(user_id, credentials.authorized_user_info())  # as if it had been kept
    with pytest.raises(SignInRequired, match="revoked"):
        refresh(signin.credentials(user_id))


def test_sign_out_deletes_the_row_even_when_revoking_fails(
    signin: WebSignIn, endpoint: Emulator, store: SQLiteTokenStore
) -> None:
    user_id = signed_in(endpoint, signin)
    endpoint.set_faults("oauth.revoke", [Fault(status=503, html=True)])
    with pytest.raises(PickerError, match="HTTP 503") as failed:
        signin.sign_out(user_id)
    assert "Google Account" in str(failed.value)
    assert store.load(user_id) is None


def test_the_code_exchange_logs_no_secret_even_at_debug(
    signin: WebSignIn, endpoint: Emulator, store: SQLiteTokenStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    answer, pending = consented(endpoint, signin)
    user = signin.finish(answer, pending)
    first = store.load(user.id)
    refresh(signin.credentials(user.id))
    second = store.load(user.id)
    assert first is not None and second is not None
    assert "exchanged a sign-in's code" in caplog.text
    secrets = (query(answer)["code"], pending.code_verifier, CLIENT_SECRET, "Basic ")
    for secret in (*secrets, first["token"], first["refresh_token"], second["token"]):
        assert secret not in caplog.text
