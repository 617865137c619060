"""The picking page in a real browser: headless Chromium driven by Selenium.

The ``browser`` fixture (tests/e2e/conftest.py, tests/browser.py) skips without Chromium on a
developer's machine and fails under CI.
"""

from __future__ import annotations

from typing import Any

from picker_discovery.testing import Emulator
from tests.browser import wait_for

TOKEN = "browser-user"

# Whether each of the first eight thumbnails has finished loading as an image.
FIRST_EIGHT = (
    "return Array.from(document.images).slice(0, 8)"
    ".map(function (i) { return i.complete && i.naturalWidth > 0; })"
)


def _all_loaded(states: Any) -> Any:
    """``states`` once all eight thumbnails have loaded (for ``wait_for``), else False."""
    return states if states == [True] * 8 else False


def test_pick_two_in_the_browser(browser: Any) -> None:
    from selenium.webdriver.common.by import By

    with Emulator() as emulator, emulator.build(TOKEN) as service:
        session = service.sessions().create(body={"pickingConfig": {"maxItemCount": "2"}}).execute()
        browser.get(session["pickerUri"])
        boxes = browser.find_elements(By.CSS_SELECTOR, "input[name=item]")
        assert len(boxes) == len(emulator.backend.library(TOKEN))
        done = browser.find_element(By.ID, "done")
        assert done.get_attribute("disabled") is not None  # nothing picked yet
        # every thumbnail loads as a real image: they load lazily, so wait for them (bounded)
        loaded = wait_for(browser, lambda d: _all_loaded(d.execute_script(FIRST_EIGHT)))
        assert loaded == [True] * 8
        boxes[4].click()
        boxes[2].click()
        assert boxes[0].get_attribute("disabled") is not None  # the page holds the limit
        assert browser.find_element(By.ID, "count").text == "2 of at most 2 selected"
        done.click()
        wait_for(browser, lambda d: d.title == "Done")
        assert "You picked 2 items" in browser.find_element(By.TAG_NAME, "body").text
        got = service.sessions().get(sessionId=session["id"]).execute()
        assert got["mediaItemsSet"] is True
        page = service.mediaItems().list(sessionId=session["id"]).execute()
        library = emulator.backend.library(TOKEN)
        assert [i["id"] for i in page["mediaItems"]] == [library[2].id, library[4].id]
        browser.get(session["pickerUri"])
        assert "410" in browser.title  # the pickerUri stops working after Done


def test_autoclose_closes_the_tab(browser: Any) -> None:
    from selenium.webdriver.common.by import By

    with Emulator() as emulator, emulator.build(TOKEN) as service:
        session = service.sessions().create(body={}).execute()
        browser.get(f"{emulator.url}_control/sessions")  # any page of the origin, as the app's
        opener = browser.current_window_handle
        browser.execute_script(
            "window.open(arguments[0], 'picker');", session["pickerUri"] + "/autoclose"
        )
        wait_for(browser, lambda d: len(d.window_handles) == 2)
        picker = next(h for h in browser.window_handles if h != opener)
        browser.switch_to.window(picker)
        wait_for(browser, lambda d: d.find_elements(By.ID, "done"))
        browser.find_elements(By.CSS_SELECTOR, "input[name=item]")[0].click()
        browser.find_element(By.ID, "done").click()
        wait_for(browser, lambda d: len(d.window_handles) == 1)  # window.close() ran
        browser.switch_to.window(opener)
        got = service.sessions().get(sessionId=session["id"]).execute()
        assert got["mediaItemsSet"] is True


def test_a_person_picks_in_the_browser_while_the_client_waits_then_downloads(
    browser: Any, tmp_path: Any
) -> None:
    """The whole job with a real browser: the client's wait ends when Done is pressed."""
    import threading

    from google.oauth2.credentials import Credentials
    from selenium.webdriver.common.by import By

    from picker_discovery import PickerClient

    with Emulator(poll_interval="0.2s") as emulator:
        client = PickerClient(
            credentials=Credentials(token=TOKEN), client_options={"api_endpoint": emulator.url}
        )
        with client.picking_session(max_item_count=3) as session:
            waited: list[Any] = []
            waiter = threading.Thread(
                target=lambda: waited.append(client.wait_for_selection(session, timeout=60))
            )
            waiter.start()
            assert session.picker_uri is not None
            browser.get(session.picker_uri)
            boxes = browser.find_elements(By.CSS_SELECTOR, "input[name=item]")
            for box in boxes[:3]:
                box.click()
            browser.find_element(By.ID, "done").click()
            wait_for(browser, lambda d: d.title == "Done")
            waiter.join(timeout=30)
            assert not waiter.is_alive() and waited[0].media_items_set
            result = client.download_session(
                session, tmp_path, media_hosts=[emulator.media_url.rstrip("/")]
            )
        assert result.ok and len(result.downloaded) + len(result.skipped) == 3
        assert all(d.path.exists() for d in result.downloaded)
        assert emulator.backend.sessions(TOKEN) == []
