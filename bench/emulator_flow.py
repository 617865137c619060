"""Measure the whole Picker flow in-process and over the loopback emulator, side by side.

Runs create -> pick -> get -> list every page -> delete ``--rounds`` times on each transport and
prints the time per flow and the ratio, then streams the library's largest video (=dv) from
the emulator's media origin and prints the throughput. A measurement, not a test: nothing is
asserted.

    .venv/bin/python bench/emulator_flow.py --rounds 50
"""

from __future__ import annotations

import argparse
import http.client
import time
import urllib.parse
from typing import Any

import picker_discovery
from picker_discovery.testing import Backend, Emulator, FakeHttp


def flow(service: Any, backend: Backend) -> int:
    session = service.sessions().create(body={}).execute()
    backend.pick(session["id"])
    service.sessions().get(sessionId=session["id"]).execute()
    count = 0
    request = service.mediaItems().list(sessionId=session["id"], pageSize=100)
    while request is not None:
        page = request.execute()
        count += len(page.get("mediaItems", []))
        request = service.mediaItems().list_next(request, page)
    service.sessions().delete(sessionId=session["id"]).execute()
    return count


def timed(rounds: int, service: Any, backend: Backend) -> float:
    flow(service, backend)  # warm up
    start = time.perf_counter()
    for _ in range(rounds):
        flow(service, backend)
    return (time.perf_counter() - start) / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    backend = Backend()
    in_process = timed(args.rounds, picker_discovery.build(http=FakeHttp(backend)), backend)
    with Emulator() as emulator:
        loopback = timed(args.rounds, emulator.build("emulator-token"), emulator.backend)
    print(f"flows of 120 items, {args.rounds} rounds each")
    print(f"in-process transport: {in_process * 1000:8.2f} ms per flow")
    print(f"loopback emulator:    {loopback * 1000:8.2f} ms per flow")
    print(f"loopback / in-process: {loopback / in_process:.2f}x")
    with Emulator() as emulator:
        size, seconds = stream_largest_video(emulator)
    print(f"streamed a {size / 2**20:.0f} MiB video at {size / 2**20 / seconds:.0f} MiB/s")


def stream_largest_video(emulator: Emulator) -> tuple[int, float]:
    service = emulator.build("emulator-token")
    session = service.sessions().create(body={}).execute()
    emulator.pick(session["id"])
    items = service.mediaItems().list(sessionId=session["id"], pageSize=100).execute()
    largest = max(
        emulator.library("emulator-token"), key=lambda item: item.size if item.is_video else 0
    )
    base = next(i for i in items["mediaItems"] if i["id"] == largest.id)["mediaFile"]["baseUrl"]
    url = urllib.parse.urlsplit(base + "=dv")
    conn = http.client.HTTPConnection(url.hostname or "", url.port)
    start = time.perf_counter()
    conn.request("GET", url.path, headers={"Authorization": "Bearer emulator-token"})
    answer = conn.getresponse()
    received = 0
    while chunk := answer.read(1 << 20):
        received += len(chunk)
    seconds = time.perf_counter() - start
    conn.close()
    return received, seconds


if __name__ == "__main__":
    main()
