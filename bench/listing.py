"""Listing: requests and time to list 2,000 picked items, PickerClient against a default client.

The fake's library has ``--items`` items (2,000 by default), the session's maxItemCount is
2,000 and the user picks them all. Ours is ``PickerClient.list_media_items`` (pageSize 100:
20 requests); theirs is the common plain googleapiclient loop, ``mediaItems().list`` with
pageSize unset and ``list_next`` (the service's default page of 50: 40 requests). Requests are
counted by the fake; times are medians of ``--rounds`` interleaved rounds, in-process
(FakeHttp) and over the loopback emulator.

Ours also parses every item into typed models while the plain loop keeps dicts, so a third line
times the plain loop with pageSize 100 as well: it separates what the page size saves from what
our parsing costs. A last run adds ``--latency`` (20 ms) to every list request on loopback,
closer to a real network, where the requests saved matter more.

    .venv/bin/python bench/listing.py --rounds 10 --items 2000
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import _common
import google.oauth2.credentials
from googleapiclient.discovery import build_from_document

from picker_discovery import PickerClient
from picker_discovery.testing import Backend, Emulator, FakeHttp

TOKEN = "bench-token"


def plain_list(service: Any, sid: str, page_size: int | None) -> int:
    """The usual googleapiclient paging loop; returns how many items came."""
    params: dict[str, Any] = {"sessionId": sid}
    if page_size is not None:
        params["pageSize"] = page_size
    request = service.mediaItems().list(**params)
    count = 0
    while request is not None:
        page = request.execute()
        count += len(page.get("mediaItems", []))
        request = service.mediaItems().list_next(request, page)
    return count


def measure(
    label: str,
    backend: Backend,
    client: PickerClient,
    plain: Any,
    rounds: int,
    latency: float = 0.0,
) -> None:
    session = plain.sessions().create(body={"pickingConfig": {"maxItemCount": "2000"}}).execute()
    sid = session["id"]
    picked = len(backend.pick(sid))

    def counted(call: Callable[[], int]) -> tuple[int, int]:
        backend.clear_attempts()
        items = call()
        return items, len(backend.attempts("mediaItems.list"))

    def slowed(call: Callable[[], int]) -> Callable[[], int]:
        """``call`` with every list request answered ``latency`` seconds late."""
        if not latency:
            return call

        def run() -> int:
            backend.set_faults("mediaItems.list", [{"latency": latency}] * (picked + 1))
            try:
                return call()
            finally:
                backend.clear_faults()

        return run

    sides: dict[str, Callable[[], int]] = {
        "ours": slowed(lambda: len(client.list_media_items(sid))),
        "plain": slowed(lambda: plain_list(plain, sid, None)),
        "plain100": slowed(lambda: plain_list(plain, sid, 100)),
    }
    requests = {}
    for name, call in sides.items():
        items, requests[name] = counted(call)  # also the warm-up
        if items != picked:
            raise SystemExit(f"{label} {name}: listed {items} of {picked} items")
    _common.note(f"{label}: {picked} items picked")
    _common.figure(
        f"{label} requests to list {picked} items",
        requests["ours"],
        requests["plain"],
        "requests",
        ours_label="PickerClient (pageSize 100)",
        theirs_label="googleapiclient (pageSize unset)",
        precision=0,
    )
    times: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(_common.timed(sides[name], 1))
    ms = {name: _common.median(values) * 1000 for name, values in times.items()}
    _common.figure(
        f"{label} time to list {picked} items",
        ms["ours"],
        ms["plain"],
        "ms",
        ours_label="PickerClient (pageSize 100)",
        theirs_label="googleapiclient (pageSize unset)",
        precision=1,
    )
    _common.figure(
        f"{label} time to list {picked} items, page size alone",
        ms["plain100"],
        ms["plain"],
        "ms",
        ours_label="googleapiclient (pageSize 100)",
        theirs_label="googleapiclient (pageSize unset)",
        precision=1,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds (default 10)")
    parser.add_argument("--items", type=int, default=2000, help="library size (>= 2000)")
    parser.add_argument(
        "--latency",
        type=float,
        default=0.02,
        help="seconds added to each list request in a third, loopback run (0: skip it)",
    )
    args = parser.parse_args()
    settings = {"library_size": args.items}
    _common.note(f"listing: medians of {args.rounds} interleaved rounds")
    backend = Backend(**settings)
    client = PickerClient(http=FakeHttp(backend, token=TOKEN))
    plain = build_from_document(_common.document(), http=FakeHttp(backend, token=TOKEN))
    measure("in-process", backend, client, plain, args.rounds)
    with Emulator(**settings) as emulator:
        credentials = google.oauth2.credentials.Credentials(token=TOKEN)
        options = {"api_endpoint": emulator.url}
        client = PickerClient(credentials=credentials, client_options=options)
        plain = build_from_document(
            _common.document(), credentials=credentials, client_options=options
        )
        measure("loopback", emulator.backend, client, plain, args.rounds)
        if args.latency:
            label = f"loopback +{args.latency * 1000:g} ms/request"
            measure(label, emulator.backend, client, plain, args.rounds, args.latency)


if __name__ == "__main__":
    main()
