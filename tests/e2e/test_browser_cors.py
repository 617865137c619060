"""A browser calls the emulator from another origin: ``fetch`` with a bearer token passes the
CORS preflight, and the picking page refuses to be framed by another origin's page.

The other origin is a tiny page served on another loopback port. The ``browser`` fixture
(tests/e2e/conftest.py) skips without Chromium on a developer's machine and fails under CI.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from picker_discovery.testing import Emulator
from tests.browser import wait_for

TOKEN = "cors-user"

FETCH = """
var done = arguments[arguments.length - 1];
fetch(arguments[0] + 'v1/sessions', {
  method: 'POST',
  headers: {'Authorization': 'Bearer ' + arguments[1], 'Content-Type': 'application/json'},
  body: '{}'
}).then(function (r) { return r.json(); })
  .then(function (j) { done({ok: true, body: j}); })
  .catch(function (e) { done({ok: false, error: String(e)}); });
"""


class OtherOrigin:
    """Serves ``pages[path]`` as HTML on its own loopback port: another origin."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {"/": "<!DOCTYPE html><title>other origin</title>"}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                data = pages.get(self.path, "").encode()
                self.send_response(200 if self.path in pages else 404)
                self.send_header("Content-Type", "text/html; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def other() -> Iterator[OtherOrigin]:
    site = OtherOrigin()
    yield site
    site.close()


def test_fetch_from_another_origin_creates_a_session(browser: Any, other: OtherOrigin) -> None:
    with Emulator() as emu:
        browser.get(other.url)
        browser.set_script_timeout(20)
        answer = browser.execute_async_script(FETCH, emu.url, TOKEN)
        assert answer["ok"], answer
        assert [s.id for s in emu.backend.sessions(TOKEN)] == [answer["body"]["id"]]
        [preflight] = emu.attempts("preflight")
        assert preflight.http_method == "OPTIONS"
        assert preflight.headers["origin"] == other.url.rstrip("/")
        asked = preflight.headers["access-control-request-headers"].split(",")
        assert "authorization" in asked and "content-type" in asked
        [created] = emu.attempts("sessions.create")
        assert created.authorized and created.headers["origin"] == other.url.rstrip("/")


def test_an_origin_not_allowed_cannot_read_the_answer(browser: Any, other: OtherOrigin) -> None:
    with Emulator(cors_origins=["http://app.test:5000"]) as emu:
        browser.get(other.url)
        browser.set_script_timeout(20)
        answer = browser.execute_async_script(FETCH, emu.url, TOKEN)
        assert not answer["ok"] and "Failed to fetch" in answer["error"]
        assert emu.backend.sessions(TOKEN) == []  # the preflight failed: nothing was sent
        assert emu.attempts("sessions.create") == []


def test_another_origin_cannot_frame_the_picking_page(browser: Any, other: OtherOrigin) -> None:
    from selenium.webdriver.common.by import By

    with Emulator() as emu, emu.build(TOKEN) as service:
        session = service.sessions().create(body={}).execute()
        other.pages["/frames"] = (
            "<!DOCTYPE html><title>frames</title>"
            f'<iframe id=control src="{emu.url}_control/sessions"></iframe>'
            f'<iframe id=picker src="{session["pickerUri"]}"></iframe>'
        )
        browser.get(other.url + "frames")
        # A page of the emulator without the framing headers renders in a frame...
        browser.switch_to.frame(browser.find_element(By.ID, "control"))
        wait_for(browser, lambda d: session["id"] in d.find_element(By.TAG_NAME, "body").text)
        browser.switch_to.default_content()
        # ... the picking page does not: the frame holds the browser's error page.
        browser.switch_to.frame(browser.find_element(By.ID, "picker"))
        wait_for(browser, lambda d: d.execute_script("return document.readyState") == "complete")
        assert browser.find_elements(By.ID, "done") == []
        assert browser.find_elements(By.CSS_SELECTOR, "input[name=item]") == []
        assert not browser.execute_script("return location.href").startswith(emu.url)
        browser.switch_to.default_content()
        # Opened on its own (not framed), the same page works.
        browser.get(session["pickerUri"])
        assert browser.find_elements(By.ID, "done")
