"""A 200 MiB download streams to disk: memory measured in a fresh process, not guessed.

The emulator's media origin (in this process) generates the bytes in chunks; the downloader runs in a
subprocess that reports its tracemalloc peak and its peak RSS. A control run in the same kind
of subprocess reads the body whole (``requests``' ``.content``) to show the probe would catch
the mistake.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from picker_discovery.testing import Emulator
from tests.emulated_media import TOKEN, MediaHost, emu

__all__ = ["emu"]  # fixtures
SIZE = 200 * 1024 * 1024
MiB = 1024 * 1024

PROBE = r"""
import json, resource, sys, tracemalloc

import requests
from google.auth.transport.requests import AuthorizedSession
from google.oauth2.credentials import Credentials

from picker_discovery._media.pool import Downloader

mode, origin, url, folder, token = sys.argv[1:6]


def factory():
    session = AuthorizedSession(Credentials(token=token))
    session.trust_env = False
    return session


item = {
    "id": "big",
    "type": "PHOTO",
    "mediaFile": {"baseUrl": url, "mimeType": "image/jpeg", "filename": "big.jpg"},
}
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
if mode == "downloader":
    result = Downloader(session_factory=factory, allowed_hosts=[origin]).download_items(
        [item], folder
    )
    ok, size = result.ok, sum(d.size for d in result.downloaded)
else:  # the control: the mistake this test exists to catch
    with factory() as session:
        body = session.get(url + "=d", timeout=60).content
    ok, size = True, len(body)
    del body
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"ok": ok, "size": size, "peak": peak, "rss_growth_kib": rss_after - rss_before}))
"""


@pytest.fixture
def server(emu: Emulator) -> MediaHost:
    host = MediaHost(emu)
    host.add("big", SIZE, content_type="image/jpeg")
    return host


def probe(mode: str, server: MediaHost, folder: Path) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, mode, server.origin, server.url("big"), str(folder), TOKEN],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    report: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return report


def test_a_200_mib_file_streams_with_bounded_memory(server: MediaHost, tmp_path: Path) -> None:
    report = probe("downloader", server, tmp_path)
    target = tmp_path / "big.jpg"
    try:
        assert report["ok"] and report["size"] == SIZE == target.stat().st_size
        sha = hashlib.sha256()
        with open(target, "rb") as f:
            for chunk in iter(lambda: f.read(MiB), b""):
                sha.update(chunk)
        assert sha.hexdigest() == server.digest("big")
    finally:
        target.unlink(missing_ok=True)
    # Measured: a tracemalloc peak well under 1 MiB and a few MiB of RSS growth.
    assert report["peak"] < 32 * MiB, report
    assert report["rss_growth_kib"] * 1024 < 64 * MiB, report


def test_the_probe_catches_a_whole_body_read(server: MediaHost, tmp_path: Path) -> None:
    report = probe("whole", server, tmp_path)
    assert report["size"] == SIZE
    assert report["peak"] >= SIZE, report
