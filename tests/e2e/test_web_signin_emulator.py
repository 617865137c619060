"""Web sign-in end to end against the emulator's OAuth server (strict tokens): the consent,
the code exchange, userinfo, a transparent refresh through the client, revocation, sign-out."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import picker_discovery
from picker_discovery import SCOPE, PickerClient
from picker_discovery.errors import AccessNotGranted, SignInRequired
from picker_discovery.testing import Emulator
from picker_discovery.web import PendingSignIn, SQLiteTokenStore, WebSignIn

REDIRECT = "http://127.0.0.1:8765/oauth2callback"
ALICE = "alice@example.com"
BOB = "bob@example.com"
LIFETIME = 600  # seconds; longer than google-auth's refresh margin, so no early refresh


@pytest.fixture
def emulator(no_proxy: None) -> Iterator[Emulator]:
    with Emulator(poll_interval="0.2s") as running:
        running.backend.configure(auth="strict", access_token_lifetime=f"{LIFETIME}s")
        yield running


@pytest.fixture
def store(tmp_path: Path) -> SQLiteTokenStore:
    return SQLiteTokenStore(tmp_path / "tokens.sqlite3")


@pytest.fixture
def signin(emulator: Emulator, store: SQLiteTokenStore) -> WebSignIn:
    client = emulator.register_client(redirect_uris=[REDIRECT])
    return WebSignIn(client, redirect_uri=REDIRECT, store=store)


def sign_in(emulator: Emulator, signin: WebSignIn, user: str = ALICE, **consent: Any) -> Any:
    url, pending = signin.start(login_hint=user)
    # The pending sign-in crosses a request boundary as a dict (a cookie, a server session).
    pending = PendingSignIn.from_dict(pending.to_dict())
    return signin.finish(emulator.authorize(url, user=user, **consent), pending)


def client_for(emulator: Emulator, credentials: Any) -> PickerClient:
    return PickerClient(credentials=credentials, client_options={"api_endpoint": emulator.url})


def token_grants(emulator: Emulator) -> int:
    return len(emulator.attempts("oauth.token"))


def test_the_endpoints_beside_the_emulators_token_uri_are_its_own(emulator: Emulator) -> None:
    # WebSignIn finds the userinfo and revocation endpoints beside a loopback token_uri.
    origin = emulator.token_uri.rsplit("/", 1)[0]
    assert emulator.userinfo_uri == f"{origin}/oauth2/v3/userinfo"
    assert emulator.revoke_uri == f"{origin}/revoke"


def test_the_web_server_flow_signs_in_and_stores_one_row_per_user(
    emulator: Emulator, signin: WebSignIn, store: SQLiteTokenStore
) -> None:
    alice = sign_in(emulator, signin)
    assert alice.email == ALICE
    assert SCOPE in alice.scopes and "openid" in alice.scopes
    row = store.load(alice.id)
    assert row is not None and row["refresh_token"] and row["token"] == alice.credentials.token
    assert row["token_uri"] == emulator.token_uri
    bob = sign_in(emulator, signin, BOB)
    assert bob.id != alice.id and bob.email == BOB
    again = sign_in(emulator, signin)  # the same person again: the same row, replaced
    assert again.id == alice.id
    stored = store.load(alice.id)
    assert stored is not None and stored["token"] == again.credentials.token
    # The token is Alice's on the API: her session, in her library's name.
    client = client_for(emulator, signin.credentials(alice.id))
    session = client.create_session()
    assert [s.id for s in emulator.backend.sessions(ALICE)] == [session.id]
    client.delete_session(session)


def test_a_declined_consent_and_an_unticked_picker_scope_are_access_not_granted(
    emulator: Emulator, signin: WebSignIn, store: SQLiteTokenStore
) -> None:
    with pytest.raises(AccessNotGranted, match="declined"):
        sign_in(emulator, signin, allow=False)
    with pytest.raises(AccessNotGranted, match="did not grant"):
        sign_in(emulator, signin, scopes=["openid", "email"])
    assert token_grants(emulator) == 1  # the unticked one exchanged its code; nothing stored
    assert not store.path.exists() or store.load("anyone") is None


def test_a_code_is_refused_with_another_verifier_or_a_second_time(
    emulator: Emulator, signin: WebSignIn
) -> None:
    url, pending = signin.start()
    answer = emulator.authorize(url, user=ALICE)
    forged = PendingSignIn(state=pending.state, code_verifier="x" * 64)
    with pytest.raises(SignInRequired, match="PKCE verifier"):
        signin.finish(answer, forged)
    url, pending = signin.start()
    answer = emulator.authorize(url, user=ALICE)
    signin.finish(answer, pending)
    with pytest.raises(SignInRequired, match="used already"):
        signin.finish(answer, pending)


def test_an_expired_access_token_is_refreshed_through_the_client_and_stored(
    emulator: Emulator, signin: WebSignIn, store: SQLiteTokenStore
) -> None:
    user = sign_in(emulator, signin)
    client = client_for(emulator, signin.credentials(user.id))
    session = client.create_session()
    first = store.load(user.id)
    written = store.updated_at(user.id)
    grants = token_grants(emulator)
    emulator.advance(LIFETIME + 1)  # the emulator's clock: the access token is expired now
    assert client.get_session(session).id == session.id  # a 401, a refresh, the retry
    assert token_grants(emulator) == grants + 1
    row = store.load(user.id)
    assert first is not None and row is not None
    assert row["token"] != first["token"] and row["refresh_token"] == first["refresh_token"]
    later = store.updated_at(user.id)
    assert written is not None and later is not None and later > written
    client.delete_session(session)


def test_the_plain_service_refreshes_too(
    emulator: Emulator, signin: WebSignIn, store: SQLiteTokenStore
) -> None:
    user = sign_in(emulator, signin)
    service = picker_discovery.build(
        credentials=signin.credentials(user.id), client_options={"api_endpoint": emulator.url}
    )
    emulator.advance(LIFETIME + 1)
    created = service.sessions().create(body={}).execute()
    row = store.load(user.id)
    assert row is not None and row["token"] != user.credentials.token
    service.sessions().delete(sessionId=created["id"]).execute()


def test_a_revoked_grant_asks_to_sign_in_again_and_removes_the_row(
    emulator: Emulator, signin: WebSignIn, store: SQLiteTokenStore
) -> None:
    user = sign_in(emulator, signin)
    client = client_for(emulator, signin.credentials(user.id))
    row = store.load(user.id)
    assert row is not None
    # The person removes the app's access in their Google Account.
    assert (
        requests.post(emulator.revoke_uri, data={"token": row["refresh_token"]}).status_code == 200
    )
    with pytest.raises(SignInRequired, match="revoked or has expired") as refused:
        client.create_session()
    assert row["refresh_token"] not in repr(refused.value.__cause__)
    assert store.load(user.id) is None
    with pytest.raises(SignInRequired):
        signin.credentials(user.id)
    assert emulator.backend.sessions(ALICE) == []


def test_sign_out_revokes_the_grant_and_deletes_the_row(
    emulator: Emulator, signin: WebSignIn, store: SQLiteTokenStore
) -> None:
    user = sign_in(emulator, signin)
    row = store.load(user.id)
    assert row is not None
    assert signin.sign_out(user.id) is True
    assert store.load(user.id) is None
    gone = requests.post(emulator.revoke_uri, data={"token": row["refresh_token"]})
    assert (gone.status_code, gone.json()["error"]) == (400, "invalid_token")
    # The access tokens of the revoked grant stop working too.
    answer = requests.post(
        f"{emulator.url}v1/sessions", json={}, headers={"Authorization": f"Bearer {row['token']}"}
    )
    assert (answer.status_code, answer.json()["error"]["status"]) == (401, "UNAUTHENTICATED")
    assert signin.sign_out(user.id) is False


def test_the_code_and_tokens_never_reach_the_logs(
    emulator: Emulator, signin: WebSignIn, store: SQLiteTokenStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    url, pending = signin.start()
    answer = emulator.authorize(url, user=ALICE)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(answer).query)["code"][0]
    user = signin.finish(answer, pending)
    client = client_for(emulator, signin.credentials(user.id))
    emulator.advance(LIFETIME + 1)
    client.delete_session(client.create_session())
    row = store.load(user.id)
    assert row is not None
    logged = caplog.text
    for secret in (code, pending.code_verifier, row["token"], row["refresh_token"]):
        assert secret not in logged


def test_a_lifetime_shorter_than_google_auths_margin_refreshes_before_each_call(
    emulator: Emulator, signin: WebSignIn, store: SQLiteTokenStore
) -> None:
    # google-auth renews a token that expires within a few minutes before using it: with a
    # 30-second lifetime every call starts with a refresh, and each is stored.
    emulator.backend.configure(access_token_lifetime="30s")
    user = sign_in(emulator, signin)
    client = client_for(emulator, signin.credentials(user.id))
    grants = token_grants(emulator)
    seen = set()
    for _ in range(3):
        session = client.create_session()
        row = store.load(user.id)
        assert row is not None
        seen.add(row["token"])
        client.delete_session(session)
    assert token_grants(emulator) >= grants + 3
    assert len(seen) >= 3 and user.credentials.token not in seen
