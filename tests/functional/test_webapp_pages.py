"""The example web app's pages with Flask's test client, against a strict-mode emulator over
real HTTP: each problem ends with a page that says what happened and what to do, files go to
their owner only, forms need their CSRF token, sign-out revokes, and no session is left open
at the emulator, whatever happened."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from picker_discovery.testing import Emulator, Fault
from picker_discovery.testing._media_app import media_payload
from tests.webapp_kit import (
    ALICE,
    BOB,
    csrf,
    photos,
    sign_in,
    store_of,
    strict_emulator,
    wait_state,
    webapp,
)

JSON = {"Accept": "application/json"}


@pytest.fixture
def emulator(no_proxy: None) -> Iterator[Emulator]:
    with strict_emulator() as running:
        yield running


@pytest.fixture
def app(emulator: Emulator, tmp_path: Path) -> Iterator[Flask]:
    built = webapp(emulator, tmp_path)
    yield built
    built.extensions["picker_webapp"].importer.shutdown(timeout=30)


@pytest.fixture
def alice(app: Flask, emulator: Emulator) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, emulator, ALICE).status_code == 302
    return client


def start_import(client: FlaskClient) -> Any:
    return client.post("/imports", data={"csrf_token": csrf(client)}, headers=JSON)


def status(client: FlaskClient, import_id: str) -> dict[str, Any]:
    answer = client.get(f"/imports/{import_id}", headers=JSON)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.get_json()
    return body


def import_picked(client: FlaskClient, emulator: Emulator, count: int = 2) -> dict[str, Any]:
    """An import of ``count`` of Alice's photos, picked as her Done would, finished."""
    started = start_import(client)
    assert started.status_code == 201, started.text
    [session] = emulator.backend.sessions(ALICE)
    emulator.pick(session.id, [item.id for item in photos(emulator, ALICE, count)])
    done = wait_state(lambda: status(client, started.get_json()["id"]))
    assert done["state"] == "done", done
    return done


def no_session_left(emulator: Emulator) -> bool:
    return emulator.backend.sessions() == []


def test_an_import_copies_the_picked_originals_and_thumbnails_then_deletes_the_session(
    alice: FlaskClient, emulator: Emulator, app: Flask
) -> None:
    started = start_import(alice)
    assert started.status_code == 201
    answer = started.get_json()
    [session] = emulator.backend.sessions(ALICE)
    assert answer["autocloseUri"] == f"{emulator.url}pick/{session.id}/autoclose"
    assert answer["state"] == "waiting"
    picked = photos(emulator, ALICE, 3)
    emulator.pick(session.id, [item.id for item in picked])
    done = wait_state(lambda: status(alice, answer["id"]))
    assert (done["state"], done["count"], done["autocloseUri"]) == ("done", 3, None)
    assert no_session_left(emulator)
    page = alice.get(answer["url"])
    assert page.status_code == 200 and page.text.count('class="thumbnail"') == 3
    for index, item in enumerate(picked):
        original = alice.get(f"{answer['url']}/items/{index}/original")
        assert original.status_code == 200
        assert original.data == b"".join(media_payload(item, "d")[1].chunks())
        thumbnail = alice.get(f"{answer['url']}/items/{index}/thumbnail")
        assert thumbnail.status_code == 200 and str(thumbnail.mimetype).startswith("image/")
    record = json.loads(
        next((Path(app.instance_path) / "storage").rglob("import.json")).read_text()
    )
    assert [i["id"] for i in record["items"]] == [item.id for item in picked]


def test_a_declined_consent_says_so_and_offers_to_sign_in_again(
    app: Flask, emulator: Emulator
) -> None:
    client = app.test_client()
    page = sign_in(client, emulator, ALICE, allow=False)
    assert page.status_code == 403
    assert "You did not allow access to your photos" in page.text
    assert "choose Allow" in page.text and 'href="/signin"' in page.text
    assert 'id="signin"' in client.get("/").text  # still signed out


def test_a_callback_this_browser_did_not_start_is_refused(app: Flask, emulator: Emulator) -> None:
    client = app.test_client()
    start = client.get("/signin")
    answer = emulator.authorize(start.headers["Location"], user=ALICE)
    parts = urllib.parse.urlsplit(answer)
    other = app.test_client()  # another browser brings the answer
    page = other.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 401 and "Please sign in again" in page.text


def test_a_tab_closed_without_picking_ends_in_a_page_that_says_nothing_was_picked(
    alice: FlaskClient, emulator: Emulator
) -> None:
    emulator.backend.configure(polling_timeout="1s")  # the session's timeoutIn
    started = start_import(alice).get_json()
    ended = wait_state(lambda: status(alice, started["id"]))
    assert ended["state"] == "failed" and ended["problem"]["kind"] == "nothing-picked"
    page = alice.get(started["url"])
    assert "No photos were picked" in page.text and "Start a new import" in page.text
    assert no_session_left(emulator)


def test_an_expired_session_ends_in_a_page_that_says_so(
    alice: FlaskClient, emulator: Emulator
) -> None:
    started = start_import(alice).get_json()
    [session] = emulator.backend.sessions(ALICE)
    emulator.expire_session(session.id)
    ended = wait_state(lambda: status(alice, started["id"]))
    assert ended["problem"]["kind"] == "expired", ended
    assert "The picking session expired" in alice.get(started["url"]).text
    assert no_session_left(emulator)  # an expired session is deleted all the same


def test_a_quota_error_says_to_wait_and_try_again(alice: FlaskClient, emulator: Emulator) -> None:
    emulator.set_faults("sessions.create", [429])
    page = alice.post("/imports", data={"csrf_token": csrf(alice)})
    assert page.status_code == 429
    assert "Google Photos is busy" in page.text and "Wait a minute" in page.text
    assert no_session_left(emulator)
    emulator.set_faults("sessions.create", [429])  # the page's script gets it as JSON
    answer = start_import(alice)
    assert (answer.status_code, answer.get_json()["problem"]["kind"]) == (429, "quota")


def test_a_revoked_grant_asks_to_sign_in_again(
    alice: FlaskClient, emulator: Emulator, app: Flask
) -> None:
    store = store_of(app)
    user_id = _user_id(alice)
    row = store.load(user_id)
    assert row is not None
    # The person removes the app's access in their Google Account.
    gone = requests.post(emulator.revoke_uri, data={"token": row["refresh_token"]}, timeout=10)
    assert gone.status_code == 200
    page = alice.post("/imports", data={"csrf_token": csrf(alice)})
    assert page.status_code == 401
    assert "Please sign in again" in page.text and 'href="/signin"' in page.text
    assert store.load(user_id) is None
    assert 'id="signin"' in alice.get("/").text
    assert no_session_left(emulator)


def test_another_user_gets_404_for_an_import_and_its_files(
    alice: FlaskClient, emulator: Emulator, app: Flask
) -> None:
    done = import_picked(alice, emulator)
    own = f"/imports/{done['id']}"
    assert alice.get(f"{own}/items/0/thumbnail").status_code == 200
    bob = app.test_client()
    assert sign_in(bob, emulator, BOB).status_code == 302
    for path in (own, f"{own}/items/0/thumbnail", f"{own}/items/0/original"):
        answer = bob.get(path)
        assert answer.status_code == 404 and "Not found" in answer.text
    assert bob.get(own, headers=JSON).status_code == 404
    stranger = app.test_client()  # signed in as nobody
    assert stranger.get(f"{own}/items/0/original").status_code == 404
    assert alice.get(f"{own}/items/9/original").status_code == 404
    assert alice.get(f"{own}/items/0/other").status_code == 404
    assert alice.get("/imports/..%2f..%2ftokens.sqlite3").status_code == 404


def test_forms_without_the_csrf_token_are_refused(
    alice: FlaskClient, emulator: Emulator, app: Flask
) -> None:
    for data in ({}, {"csrf_token": "forged"}):
        page = alice.post("/imports", data=data)
        assert page.status_code == 400 and "The form was out of date" in page.text
        assert alice.post("/signout", data=data).status_code == 400
    assert emulator.backend.sessions() == []
    assert emulator.attempts("sessions.create") == []
    assert store_of(app).load(_user_id(alice)) is not None  # not signed out either


def test_sign_out_revokes_the_grant_and_deletes_the_stored_token(
    alice: FlaskClient, emulator: Emulator, app: Flask
) -> None:
    store = store_of(app)
    user_id = _user_id(alice)
    row = store.load(user_id)
    assert row is not None
    answer = alice.post("/signout", data={"csrf_token": csrf(alice)})
    assert answer.status_code == 302
    assert store.load(user_id) is None
    again = requests.post(emulator.revoke_uri, data={"token": row["refresh_token"]}, timeout=10)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_token")
    home = alice.get("/")
    assert "access to your Google Photos was revoked" in home.text and 'id="signin"' in home.text


def test_sign_out_stops_a_running_import_and_deletes_its_session(
    alice: FlaskClient, emulator: Emulator
) -> None:
    started = start_import(alice).get_json()
    assert started["state"] == "waiting" and len(emulator.backend.sessions(ALICE)) == 1
    alice.post("/signout", data={"csrf_token": csrf(alice)})
    assert no_session_left(emulator)
    assert len(emulator.attempts("sessions.delete")) == 1
    assert sign_in(alice, emulator, ALICE).status_code == 302  # her record says why it ended
    assert "The import was stopped" in alice.get(started["url"]).text


def test_a_failed_download_says_which_file_and_still_deletes_the_session(
    alice: FlaskClient, emulator: Emulator
) -> None:
    started = start_import(alice).get_json()
    [session] = emulator.backend.sessions(ALICE)
    [item] = photos(emulator, ALICE, 1)
    emulator.set_faults("media", [Fault(status=404)] * 3)
    emulator.pick(session.id, [item.id])
    ended = wait_state(lambda: status(alice, started["id"]))
    assert ended["problem"]["kind"] == "error"
    assert item.filename in ended["problem"]["what"]
    page = alice.get(started["url"])
    assert "Something went wrong" in page.text and "Some photos could not be copied" in page.text
    assert no_session_left(emulator)


def test_another_api_error_has_a_page_too(alice: FlaskClient, emulator: Emulator) -> None:
    emulator.set_faults("sessions.create", [500])
    page = alice.post("/imports", data={"csrf_token": csrf(alice)})
    assert page.status_code == 500 and "Something went wrong" in page.text
    assert "sessions.create" in page.text or "INTERNAL" in page.text


def _user_id(client: FlaskClient) -> str:
    with client.session_transaction() as session:
        user_id = session["user_id"]
    assert isinstance(user_id, str)
    return user_id
