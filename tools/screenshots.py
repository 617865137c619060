"""Screenshots for the README: the notebook displays and the emulator's picking page.

    make screenshots        # writes docs/notebook-session.png, docs/notebook-items.png and
                            # docs/picking-page.png

Runs the emulator on loopback, renders what a notebook would show (a session's and a thumbnail
grid's ``_repr_html_``) in a page, and photographs it with headless Chromium through Selenium
(Debian's ``chromium`` and ``chromedriver``). Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import google.oauth2.credentials

from picker_discovery import PickerClient
from picker_discovery._clock import FakeClock
from picker_discovery.notebook import DEFAULT_ALLOWED_HOSTS, ItemGrid, SessionView, ThumbnailFetcher
from picker_discovery.testing import Emulator

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
TOKEN = "screenshot-user"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
  body {{ margin: 0; background: #fff; }}
  #shot {{ display: inline-block; padding: 16px 20px; }}
  .prompt {{ font: 13px monospace; color: #d84315; margin-bottom: 6px; }}
</style></head>
<body><div id="shot"><div class="prompt">{prompt}</div>{body}</div></body></html>
"""


@contextmanager
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="picker-screenshots-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.set_window_size(1100, 1000)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def shoot_fragment(driver: Any, html: str, prompt: str, target: Path, work: Path) -> None:
    """Render an HTML fragment in a page and save a PNG of just that fragment."""
    from selenium.webdriver.common.by import By

    page = work / (target.stem + ".html")
    page.write_text(PAGE.format(title=target.stem, prompt=prompt, body=html), encoding="utf-8")
    driver.get(page.as_uri())
    driver.execute_script("return document.fonts.ready")
    driver.find_element(By.ID, "shot").screenshot(str(target))


def wait_for_images(driver: Any, count: int) -> None:
    """Wait until the first ``count`` images of the page have loaded (or give up after 20 s)."""
    from selenium.webdriver.support.ui import WebDriverWait

    script = (
        "return Array.from(document.images).slice(0, arguments[0])"
        ".every(function (i) { return i.complete && i.naturalWidth > 0; })"
    )
    WebDriverWait(driver, 20).until(lambda d: d.execute_script(script, count))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where the PNGs go")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    clock = FakeClock()  # frozen: "in 7 days", "for up to 30 min", the same on every run
    credentials = google.oauth2.credentials.Credentials(token=TOKEN)
    with (
        Emulator(clock=clock, poll_interval="5s", polling_timeout="1800s") as emulator,
        browser() as driver,
        tempfile.TemporaryDirectory(prefix="picker-pages-") as work_dir,
    ):
        work = Path(work_dir)
        client = PickerClient(
            credentials=credentials, client_options={"api_endpoint": emulator.url}
        )
        with client.picking_session(max_item_count=12) as session:
            view = SessionView(
                client.get_session(session), note="polled 3 times, 15 s so far", now=clock.now()
            )
            shoot_fragment(
                driver, view._repr_html_(), "Out[2]:", out / "notebook-session.png", work
            )
            print("wrote", out / "notebook-session.png")

            # Two rows of the page: the long names further down need fonts a server lacks.
            driver.set_window_size(1100, 700)
            driver.get(session.picker_uri or "")
            wait_for_images(driver, 12)
            from selenium.webdriver.common.by import By

            for box in driver.find_elements(By.CSS_SELECTOR, "input[name=item]")[:3:2]:
                box.click()  # the user has ticked two
            driver.save_screenshot(str(out / "picking-page.png"))
            print("wrote", out / "picking-page.png")

            # Awkward names first (../, quotes, unicode), then a few videos.
            library = emulator.library(TOKEN)
            videos = [item.id for item in library if item.is_video][:3]
            photos = [item.id for item in library if not item.is_video][:9]
            emulator.pick(session.id or "", photos + videos)
            items = client.list_media_items(session)
            allowed = [*DEFAULT_ALLOWED_HOSTS, emulator.media_url]
            grid = ItemGrid(items, ThumbnailFetcher(credentials, allowed_hosts=allowed)).load()
            shoot_fragment(driver, grid._repr_html_(), "Out[5]:", out / "notebook-items.png", work)
            print("wrote", out / "notebook-items.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
