"""Measure the whole Picker flow in-process and over the loopback emulator, side by side.

Runs create -> pick -> get -> list every page -> delete ``--rounds`` times on each transport and
prints the time per flow and the ratio. A measurement, not a test: nothing is asserted.

    .venv/bin/python bench/emulator_flow.py --rounds 50
"""

from __future__ import annotations

import argparse
import time
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


if __name__ == "__main__":
    main()
