"""Helpers for the download benchmarks: an emulator in its own process, picked items, curl.

The emulator serves from a child process so that its threads never share a GIL with the
Python client being measured (curl, on the other side, is a process of its own too).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal

import _common
import google.oauth2.credentials
import requests
from googleapiclient.discovery import build_from_document

from picker_discovery._media.pool import Downloader
from picker_discovery.testing import Emulator, MediaItem

MiB = 1024 * 1024
TOKEN = "bench-token"
Kind = Literal["photo", "video"]


def library(count: int, size: int, kind: Kind) -> list[MediaItem]:
    """``count`` items of exactly ``size`` bytes: JPEG photos, or READY MP4 videos."""
    video = kind == "video"
    return [
        MediaItem(
            id=f"AFbench{kind}{index:06d}",
            type="VIDEO" if video else "PHOTO",
            mime_type="video/mp4" if video else "image/jpeg",
            filename=f"bench_{index:06d}.{'mp4' if video else 'jpg'}",
            create_time=datetime(2026, 1, 1, tzinfo=timezone.utc),
            width=1920,
            height=1080,
            size=size,
        )
        for index in range(count)
    ]


def _serve(conn: Connection, count: int, size: int, kind: Kind) -> None:
    with Emulator() as emulator:
        emulator.seed_library(TOKEN, items=library(count, size, kind))
        conn.send(emulator.url)
        conn.recv()  # until the parent says stop


@contextmanager
def emulator_process(count: int, size: int, kind: Kind = "photo") -> Iterator[str]:
    """An emulator in a child process whose user ``TOKEN`` has the given library; yields its
    API URL."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(child, count, size, kind), daemon=True)
    process.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the emulator process did not start within 60 s")
        yield str(parent.recv())
    finally:
        parent.send("stop")
        process.join(30)
        if process.is_alive():
            process.terminate()
            process.join()


def control(api_url: str, action: str, body: Any = None, method: str = "POST") -> Any:
    data = json.dumps(body or {}).encode() if method == "POST" else None
    request = urllib.request.Request(
        f"{api_url}_control/{action}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"{}")


def media_latency(api_url: str, seconds: float, requests_: int) -> None:
    """Answer the next ``requests_`` media requests ``seconds`` late (0 clears the faults)."""
    if seconds:
        control(
            api_url, "faults", {"method": "media", "faults": [{"latency": seconds}] * requests_}
        )
    else:
        control(api_url, "faults", method="DELETE")


def service(api_url: str) -> Any:
    credentials = google.oauth2.credentials.Credentials(token=TOKEN)
    return build_from_document(
        _common.document(), credentials=credentials, client_options={"api_endpoint": api_url}
    )


def picked_session(api_url: str) -> tuple[str, list[dict[str, Any]]]:
    """A new session in which the user picked the whole library: its id and listed items."""
    plain = service(api_url)
    sid = plain.sessions().create(body={}).execute()["id"]
    control(api_url, "pick", {"session_id": sid, "all": True})
    items: list[dict[str, Any]] = []
    request = plain.mediaItems().list(sessionId=sid, pageSize=100)
    while request is not None:
        page = request.execute()
        items.extend(page.get("mediaItems", []))
        request = plain.mediaItems().list_next(request, page)
    return sid, items


def suffix(item: dict[str, Any]) -> str:
    return "=dv" if item.get("type") == "VIDEO" else "=d"


def whole_body_loop(items: Sequence[dict[str, Any]], folder: Path) -> int:
    """The common peer pattern: one item after another, each body read whole, then written.

    Uses one ``requests.Session`` (kept-alive connection), the strongest form of the pattern.
    Returns the bytes written.
    """
    written = 0
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        for item in items:
            answer = session.get(item["mediaFile"]["baseUrl"] + suffix(item), timeout=60)
            answer.raise_for_status()
            body = answer.content
            (folder / f"{item['id']}.bin").write_bytes(body)
            written += len(body)
    return written


def httplib2_loop(items: Sequence[dict[str, Any]], folder: Path) -> int:
    """The same serial pattern on ``httplib2`` (what googleapiclient users have at hand): one
    ``Http`` (kept-alive connection), each body read whole, then written. Returns the bytes
    written."""
    import httplib2

    http = httplib2.Http(timeout=60)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    written = 0
    for item in items:
        answer, body = http.request(item["mediaFile"]["baseUrl"] + suffix(item), headers=headers)
        if answer.status != 200:
            raise RuntimeError(f"HTTP {answer.status} for {item['id']}")
        (folder / f"{item['id']}.bin").write_bytes(body)
        written += len(body)
    return written


def media_origin(items: Sequence[dict[str, Any]]) -> str:
    """``http://127.0.0.1:PORT``, where the items' baseUrls live (for the allowlist)."""
    parts = urllib.parse.urlsplit(items[0]["mediaFile"]["baseUrl"])
    return f"{parts.scheme}://{parts.netloc}"


def downloader(items: Sequence[dict[str, Any]], workers: int = 4) -> Downloader:
    """Our Downloader as a user would make it: credentials, the emulator's media origin allowed."""
    credentials = google.oauth2.credentials.Credentials(token=TOKEN)
    return Downloader(credentials, allowed_hosts=[media_origin(items)], workers=workers)


def our_download(items: Sequence[dict[str, Any]], folder: Path, workers: int = 4) -> int:
    """Download the listed items with our Downloader; returns the bytes written."""
    result = downloader(items, workers).download_items(list(items), folder)
    result.raise_for_failures()
    if len(result.downloaded) != len(items):
        raise RuntimeError(f"downloaded {len(result.downloaded)} of {len(items)} items")
    return sum(done.size for done in result.downloaded)


def our_async_download(api_url: str, items: Sequence[dict[str, Any]], folder: Path) -> int:
    """Download the listed items with ``AsyncPickerClient.download`` (httpx on the event
    loop); returns the bytes written."""
    import asyncio

    from picker_discovery import AsyncPickerClient
    from picker_discovery.models import PickedMediaItem

    async def run() -> int:
        credentials = google.oauth2.credentials.Credentials(token=TOKEN)
        async with AsyncPickerClient(
            credentials=credentials, client_options={"api_endpoint": api_url}, journal=False
        ) as client:
            written = 0
            for item in items:
                done = await client.download(
                    PickedMediaItem.from_dict(item), folder, media_hosts=[media_origin(items)]
                )
                written += getattr(done, "size", 0)
            return written

    return asyncio.run(run())


def curl(
    items: Sequence[dict[str, Any]], folder: Path, parallel: int = 0, fsync: bool = False
) -> int:
    """Fetch every item with one curl process (``parallel`` transfers at once if > 0); with
    ``fsync``, then flush each file to disk from this process (what a download that survives
    a crash pays on top: curl itself never flushes, and the benchmark removes its files before
    the kernel would have written them).

    URLs, outputs and the Authorization header go in a config file on stdin, not on the
    command line where other users' ``ps`` would see the token. Returns the bytes written.
    """
    lines = [f'header = "Authorization: Bearer {TOKEN}"']
    for item in items:
        lines.append(f'url = "{item["mediaFile"]["baseUrl"]}{suffix(item)}"')
        lines.append(f'output = "{folder / (item["id"] + ".curl")}"')
    command = ["curl", "--silent", "--no-progress-meter", "--show-error", "--fail", "--config", "-"]
    if parallel:
        command += ["--parallel", "--parallel-max", str(parallel)]
    subprocess.run(command, input="\n".join(lines), text=True, check=True)
    if fsync:
        for item in items:
            fd = os.open(folder / (item["id"] + ".curl"), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return sum((folder / (item["id"] + ".curl")).stat().st_size for item in items)
