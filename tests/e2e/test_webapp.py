"""The example web app's whole journey in headless Chromium, against a strict-mode emulator
whose access tokens live 5 seconds: sign in on the consent page, import, pick in the tab the
app opened (``/autoclose``), see the thumbnails on the app's page, find the files in the
user's storage, no session left open, and the token refreshed (and stored) on the way.

The ``browser`` fixture (tests/e2e/conftest.py) skips without Chromium on a developer's
machine and fails under CI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from picker_discovery.testing import Emulator
from picker_discovery.testing._media_app import media_payload
from tests.browser import wait_for
from tests.webapp_kit import ALICE, LiveApp, photos, store_of, strict_emulator

LIFETIME = 5  # seconds an access token lives: refreshes happen during the journey
PICKED = 3

# Whether every thumbnail of the gallery has loaded as an image, and how many there are.
THUMBNAILS = """
var images = Array.from(document.querySelectorAll('#gallery img.thumbnail'));
return images.map(function (i) { return i.complete && i.naturalWidth > 0; });
"""


@pytest.fixture
def emulator(no_proxy: None) -> Iterator[Emulator]:
    with strict_emulator(LIFETIME) as running:
        yield running


def sign_in(browser: Any, live: LiveApp, emulator: Emulator) -> None:
    """From the app's home page through the emulator's consent page (Alice, Allow) back."""
    from selenium.webdriver.common.by import By

    browser.get(live.url)
    browser.find_element(By.ID, "signin").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "allow"))
    assert browser.current_url.startswith(emulator.auth_uri)
    browser.find_element(By.CSS_SELECTOR, f'input[name=user][value="{ALICE}"]').click()
    browser.find_element(By.ID, "allow").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "import"))
    assert browser.current_url == live.url
    assert ALICE in browser.find_element(By.TAG_NAME, "header").text


@pytest.mark.timeout(180)
def test_the_whole_journey_in_a_browser(browser: Any, emulator: Emulator, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    with LiveApp(emulator, tmp_path) as live:
        store = store_of(live.app)
        sign_in(browser, live, emulator)
        signed_in = len(emulator.attempts("oauth.token"))  # the code exchange
        # The app keys the stored token by the account's OpenID subject.
        [user_id] = [u.sub for u in emulator.backend.oauth.test_users() if u.email == ALICE]
        first_row = store.load(user_id)
        first_written = store.updated_at(user_id)
        assert first_row is not None and first_written is not None

        app_tab = browser.current_window_handle
        browser.find_element(By.ID, "import").click()
        wait_for(browser, lambda d: len(d.window_handles) == 2)
        wait_for(browser, lambda d: "/imports/" in d.current_url)  # the app's tab follows
        [session] = emulator.backend.sessions(ALICE)
        browser.switch_to.window(next(h for h in browser.window_handles if h != app_tab))
        wait_for(browser, lambda d: d.find_elements(By.ID, "done"))
        assert browser.current_url == f"{emulator.url}pick/{session.id}/autoclose"
        picked = photos(emulator, ALICE, PICKED)
        for item in picked:
            browser.find_element(By.CSS_SELECTOR, f'input[name=item][value="{item.id}"]').click()
        browser.find_element(By.ID, "done").click()
        wait_for(browser, lambda d: len(d.window_handles) == 1)  # /autoclose closed the tab
        browser.switch_to.window(app_tab)

        # The app's page shows the thumbnails from its own storage once the import is done.
        wait_for(browser, lambda d: d.find_elements(By.ID, "gallery"), timeout=60)
        loaded = wait_for(
            browser,
            lambda d: (lambda s: s if len(s) == PICKED and all(s) else False)(
                d.execute_script(THUMBNAILS)
            ),
            timeout=30,
        )
        assert loaded == [True] * PICKED
        sources = [
            img.get_attribute("src")
            for img in browser.find_elements(By.CSS_SELECTOR, "#gallery img")
        ]
        assert all(str(src).startswith(live.url) for src in sources)

        # The files are in Alice's storage, byte for byte the emulator's originals.
        [record_file] = (Path(live.app.instance_path) / "storage").rglob("import.json")
        record = json.loads(record_file.read_text(encoding="utf-8"))
        assert record["state"] == "done"
        assert [entry["id"] for entry in record["items"]] == [item.id for item in picked]
        for entry, item in zip(record["items"], picked, strict=True):
            original = record_file.parent / entry["originals"]
            assert original.read_bytes() == b"".join(media_payload(item, "d")[1].chunks())
            assert (record_file.parent / entry["thumbnails"]).stat().st_size > 0

        # No session left open, and the short-lived token was refreshed and stored.
        assert emulator.backend.sessions() == []
        assert len(emulator.attempts("sessions.delete")) == 1
        assert len(emulator.attempts("oauth.token")) > signed_in
        row = store.load(user_id)
        assert row is not None and row["token"] != first_row["token"]
        assert row["refresh_token"] == first_row["refresh_token"]
        written = store.updated_at(user_id)
        assert written is not None and written > first_written


def test_a_quota_error_shows_on_the_page_and_the_opened_tab_closes(
    browser: Any, emulator: Emulator, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    with LiveApp(emulator, tmp_path) as live:
        sign_in(browser, live, emulator)
        emulator.set_faults("sessions.create", [429])
        browser.find_element(By.ID, "import").click()
        shown = wait_for(
            browser, lambda d: d.find_element(By.ID, "import-problem").is_displayed() and d
        )
        assert "Google Photos is busy" in shown.find_element(By.ID, "import-problem").text
        wait_for(browser, lambda d: len(d.window_handles) == 1)  # the blank tab is closed
        assert browser.find_element(By.ID, "import").is_enabled()  # ready to try again
        assert emulator.backend.sessions() == []
