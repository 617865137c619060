"""Headless Chromium for the browser tests, driven by Selenium.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them when missing).
Without them a developer's run skips the browser tests, saying so; under CI (``CI`` set) that
is a failure instead, so a missing browser can never pass unnoticed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

__all__ = ["CHROMEDRIVER", "CHROMIUM", "chromium", "wait_for"]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (a Selenium driver) with a throw-away profile."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        message = f"no browser for the browser tests: {', '.join(missing)} not found"
        if os.environ.get("CI"):
            pytest.fail(message + " (install Debian's chromium and chromium-driver)")
        pytest.skip(message + "; apt-get install chromium chromium-driver to run them")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="picker-browser-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver: Any, condition: Any, timeout: float = 20) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)
