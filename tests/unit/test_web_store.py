"""The SQLite token store: one private file, one row per user, safe across threads."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest

from picker_discovery.errors import (
    AccessNotGranted,
    BadArgument,
    CredentialsFileError,
    SignInRequired,
)
from picker_discovery.web import SQLiteTokenStore, TokenStore, WebSignIn

INFO = {
    "token": "ya29.access-token-one",
    "refresh_token": "1//refresh-token-one",
    "client_id": "client-1",
    "client_secret": "secret-1",
    "token_uri": "https://oauth2.googleapis.com/token",
    "scopes": ["https://www.googleapis.com/auth/photospicker.mediaitems.readonly"],
}


def rows(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT user_id, info FROM picker_tokens").fetchall()


@pytest.fixture
def store(tmp_path: Path) -> SQLiteTokenStore:
    return SQLiteTokenStore(tmp_path / "private" / "tokens.sqlite3")


def test_a_token_comes_back_as_it_was_saved(store: SQLiteTokenStore) -> None:
    assert store.load("alice") is None
    store.save("alice", INFO)
    assert store.load("alice") == INFO
    assert store.load("bob") is None
    assert isinstance(store, TokenStore)


def test_each_user_has_one_row_that_a_save_replaces(store: SQLiteTokenStore) -> None:
    store.save("alice", INFO)
    first = store.updated_at("alice")
    time.sleep(0.01)
    store.save("alice", {**INFO, "token": "ya29.access-token-two"})
    store.save("bob", INFO)
    assert sorted(user for user, _ in rows(store.path)) == ["alice", "bob"]
    loaded = store.load("alice")
    assert loaded is not None and loaded["token"] == "ya29.access-token-two"
    second = store.updated_at("alice")
    assert first is not None and second is not None and second > first


def test_delete_forgets_one_user_and_says_whether_there_was_a_row(
    store: SQLiteTokenStore,
) -> None:
    store.save("alice", INFO)
    store.save("bob", INFO)
    assert store.delete("alice") is True
    assert store.delete("alice") is False
    assert store.load("alice") is None
    assert store.load("bob") == INFO


def test_a_store_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "tokens.sqlite3"
    with SQLiteTokenStore(path) as first:
        first.save("alice", INFO)
    assert SQLiteTokenStore(path).load("alice") == INFO


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_file_is_the_owners_alone_and_made_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "tokens.sqlite3"
    store = SQLiteTokenStore(path)
    assert not path.exists()  # nothing is created until a token is stored or asked for
    old = os.umask(0o022)
    try:
        store.save("alice", INFO)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_file_others_may_read_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "tokens.sqlite3"
    SQLiteTokenStore(path).save("alice", INFO)
    path.chmod(0o644)
    with pytest.raises(AccessNotGranted, match="chmod 600") as refused:
        SQLiteTokenStore(path).load("alice")
    assert isinstance(refused.value, PermissionError)
    path.chmod(0o600)
    assert SQLiteTokenStore(path).load("alice") == INFO


def test_concurrent_threads_each_keep_their_own_row(store: SQLiteTokenStore) -> None:
    failures: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(40):
                store.save(f"user-{n}", {**INFO, "token": f"ya29.token-{n}-{i}"})
                store.save("shared", {**INFO, "token": f"ya29.shared-{n}-{i}"})
                loaded = store.load(f"user-{n}")
                assert loaded is not None and loaded["token"] == f"ya29.token-{n}-{i}"
                assert store.load("shared") is not None
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(rows(store.path)) == 9
    for n in range(8):
        assert store.load(f"user-{n}") == {**INFO, "token": f"ya29.token-{n}-39"}


def test_two_stores_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    path = tmp_path / "tokens.sqlite3"
    first, second = SQLiteTokenStore(path), SQLiteTokenStore(path)
    first.save("alice", INFO)
    assert second.load("alice") == INFO
    assert second.delete("alice") is True
    assert first.load("alice") is None


@pytest.mark.parametrize("stored", ["{not json", "[1, 2]", '"text"'])
def test_a_corrupt_row_is_a_clear_error(store: SQLiteTokenStore, stored: str) -> None:
    store.save("alice", INFO)
    with sqlite3.connect(store.path) as connection:
        connection.execute("UPDATE picker_tokens SET info = ? WHERE user_id = 'alice'", (stored,))
    with pytest.raises(CredentialsFileError) as bad:
        store.load("alice")
    message = str(bad.value)
    assert "'alice'" in message and str(store.path) in message and "sign in again" in message
    assert bad.value.__cause__ is None  # the decoder's error (holding the text) is not chained


def test_a_corrupt_row_asks_the_user_to_sign_in_again_and_is_removed(
    store: SQLiteTokenStore,
) -> None:
    store.save("alice", INFO)
    with sqlite3.connect(store.path) as connection:
        connection.execute("UPDATE picker_tokens SET info = '{oops' WHERE user_id = 'alice'")
    signin = WebSignIn(
        {
            "web": {
                "client_id": "client-1",
                "client_secret": "secret-1",
                "auth_uri": "https://accounts.google.com/o/oauth2/v2/auth",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        },
        redirect_uri="https://app.example/oauth2callback",
        store=store,
    )
    with pytest.raises(SignInRequired, match="could not be read"):
        signin.credentials("alice")
    assert rows(store.path) == []


def test_a_file_that_is_no_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "tokens.sqlite3"
    path.write_bytes(b"this is not an SQLite database, just text " * 100)
    path.chmod(0o600)
    with pytest.raises(CredentialsFileError, match=r"tokens\.sqlite3"):
        SQLiteTokenStore(path).load("alice")


@pytest.mark.parametrize("user_id", ["", "x" * 1025, "a\x00b"])
def test_an_unusable_user_id_is_refused(store: SQLiteTokenStore, user_id: str) -> None:
    with pytest.raises(BadArgument):
        store.save(user_id, INFO)


def test_a_token_must_be_a_json_ready_dict(store: SQLiteTokenStore) -> None:
    with pytest.raises(TypeError):
        store.save("alice", ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(BadArgument, match="JSON"):
        store.save("alice", {"when": object()})
    assert store.load("alice") is None
