"""A crash never leaves a partial file under a final name, nor a placed name the manifest
does not record, now that the manifest and the folder are flushed in groups.

Two checks over real HTTP (the emulator's media origin), four workers at once:

* the order of what reaches the disk, logged while a download runs: when a part file is linked
  under its name, its bytes and its manifest line were already flushed (so a power cut at any
  moment leaves the name, if it survives, recorded and complete), and every name reported as
  downloaded was flushed into the folder before the run returned;
* crashes injected for real: a child process downloading the same items is killed at the k-th
  flush or link, for several k; what it left is never a partial or unrecorded file, and a
  rerun completes the folder with every item under its own name, none twice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from picker_discovery._media import folder as folder_module
from picker_discovery._media.pool import MANIFEST_NAME
from tests.emulated_media import TOKEN, MediaHost, emu, server
from tests.functional.test_media_download import make, photo, sha, visible

__all__ = ["emu", "server"]  # fixtures

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads file names of descriptors in /proc"
)

ITEMS = 12
SIZE = 150_000


def _path(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


class DiskLog:
    """Stands in for ``os`` in the folder module and keeps what each flush made durable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.lines: set[str] = set()  # manifest lines written (by file name)
        self.durable_lines: set[str] = set()
        self.durable_data: set[str] = set()
        self.links: set[str] = set()
        self.durable_names: set[str] = set()
        self.violations: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def write(self, fd: int, data: bytes) -> int:
        written = os.write(fd, data)
        if _path(fd).endswith(MANIFEST_NAME):
            with self._lock:
                self.lines.add(json.loads(data.strip())["name"])
        return written

    def fsync(self, fd: int) -> None:
        path = _path(fd)
        with self._lock:  # what this flush covers: what was written before it began
            lines, links = set(self.lines), set(self.links)
        os.fsync(fd)
        with self._lock:
            if path.endswith(MANIFEST_NAME):
                self.durable_lines |= lines
            elif os.path.isdir(path):
                self.durable_names |= links
            else:
                self.durable_data.add(os.path.basename(path))

    def link(self, source: str, target: str, **kwargs: Any) -> None:
        with self._lock:
            if source not in self.durable_data:
                self.violations.append(f"{target} linked before its bytes were flushed")
            if target not in self.durable_lines:
                self.violations.append(f"{target} linked before its manifest line was flushed")
        os.link(source, target, **kwargs)
        with self._lock:
            self.links.add(target)


def items(server: MediaHost) -> list[dict[str, Any]]:
    return [photo(server, f"p{n}", f"IMG_{n}.jpg", SIZE + n) for n in range(ITEMS)]


def test_bytes_and_manifest_line_are_flushed_before_a_name_and_the_name_before_the_end(
    server: MediaHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = DiskLog()
    monkeypatch.setattr(folder_module, "os", log)
    result = make(server, workers=4).download_items(items(server), tmp_path)
    assert len(result.downloaded) == ITEMS
    assert log.violations == []
    assert {done.path.name for done in result.downloaded} <= log.durable_names


CHILD = """
import json, os, sys
from google.auth.transport.requests import AuthorizedSession
from google.oauth2.credentials import Credentials
from picker_discovery._media import folder as folder_module
from picker_discovery._media.pool import Downloader

folder, origin, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
items = json.load(sys.stdin)
count = [0]

class Killing:
    def __getattr__(self, name):
        return getattr(os, name)

    def _step(self):
        count[0] += 1
        if count[0] == kill_at:
            os._exit(3)  # no cleanup, no flush of Python's buffers: as a crash

    def fsync(self, fd):
        self._step()
        os.fsync(fd)

    def link(self, *args, **kwargs):
        self._step()
        os.link(*args, **kwargs)

folder_module.os = Killing()

def session():
    made = AuthorizedSession(Credentials(token=TOKEN_HERE))
    made.trust_env = False
    return made

Downloader(session_factory=session, allowed_hosts=[origin], workers=4).download_items(
    items, folder
)
""".replace("TOKEN_HERE", repr(TOKEN))


def recorded(folder: Path) -> set[str]:
    manifest = folder / MANIFEST_NAME
    if not manifest.exists():
        return set()
    names = set()
    for line in manifest.read_text().splitlines():
        try:
            names.add(json.loads(line)["name"])
        except ValueError:
            continue  # a line a crash cut short
    return names


@pytest.mark.parametrize("kill_at", [1, 2, 5, 9, 14, 23, 31, 40])
def test_a_crash_at_any_flush_or_link_leaves_nothing_partial_and_a_rerun_completes(
    server: MediaHost, tmp_path: Path, kill_at: int
) -> None:
    listed = items(server)
    expected = {f"IMG_{n}.jpg": server.digest(f"p{n}") for n in range(ITEMS)}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), server.origin, str(kill_at)],
        input=json.dumps(listed),
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert child.returncode in (0, 3), child.stderr
    left = set(visible(tmp_path)) - {MANIFEST_NAME}
    assert left <= set(expected)
    for name in left:  # whatever is under a final name is whole and recorded
        assert sha(tmp_path / name) == expected[name], name
    assert left <= recorded(tmp_path)
    result = make(server, workers=4).download_items(listed, tmp_path)
    assert not result.failed
    assert set(visible(tmp_path)) - {MANIFEST_NAME} == set(expected)  # none twice: no "(2)"
    for name, digest in expected.items():
        assert sha(tmp_path / name) == digest, name
