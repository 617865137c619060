"""The downloader reads the environment once per origin, not on every request: proxies and
NO_PROXY still count, and a ~/.netrc entry for the media host never replaces the token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests.sessions
from google.oauth2.credentials import Credentials

from picker_discovery._media.pool import Downloader
from tests.emulated_media import TOKEN, MediaHost, emu, server
from tests.functional.test_media_download import photo, sha, visible

__all__ = ["emu", "server"]  # fixtures

ITEMS = 12


def downloader(server: MediaHost, workers: int = 3) -> Downloader:
    return Downloader(Credentials(token=TOKEN), allowed_hosts=[server.origin], workers=workers)


def listed(server: MediaHost) -> list[dict[str, Any]]:
    return [photo(server, f"p{n}", f"IMG_{n}.jpg", 2000 + n) for n in range(ITEMS)]


def test_the_environment_is_read_once_per_origin_and_worker(
    server: MediaHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    real = requests.sessions.get_environ_proxies

    def counting(url: str, no_proxy: Any = None) -> Any:
        reads.append(url)
        return real(url, no_proxy=no_proxy)

    monkeypatch.setattr(requests.sessions, "get_environ_proxies", counting)
    result = downloader(server, workers=3).download_items(listed(server), tmp_path)
    assert len(result.downloaded) == ITEMS
    assert 1 <= len(reads) <= 3  # one per worker at most, not one per request (12)


def test_no_proxy_is_still_honoured(
    server: MediaHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens: would fail
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    result = downloader(server).download_items(listed(server)[:2], tmp_path)
    assert len(result.downloaded) == 2


def test_a_proxy_from_the_environment_is_used(
    server: MediaHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    made = downloader(server)
    made.retry = made.retry.__class__.none()
    result = made.download_items(listed(server)[:1], tmp_path)
    assert len(result.failed) == 1 and not result.downloaded


def test_a_netrc_entry_for_the_media_host_does_not_replace_the_token(
    server: MediaHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    folder = tmp_path / "photos"
    items = listed(server)[:2]
    result = downloader(server).download_items(items, folder)
    assert len(result.downloaded) == 2 and not result.failed
    assert visible(folder)[:2] == ["IMG_0.jpg", "IMG_1.jpg"]
    assert sha(folder / "IMG_0.jpg") == server.digest("p0")
