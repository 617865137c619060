"""Call overhead: PickerClient against plain googleapiclient doing the same get / list / delete.

Both sides talk to the same fake, first in-process (FakeHttp: no sockets, so our overhead shows
at its largest) and then over the loopback emulator (real HTTP on 127.0.0.1, what a test suite
or a user sees). The plain side is ``googleapiclient.discovery.build_from_document`` with the
same bundled document; ours is ``PickerClient`` with its default ``RetryPolicy`` (no faults are
scripted, so nothing is retried). Ours returns typed models, the plain side dicts: that parsing
is part of what is measured.

The two sides are interleaved, the order alternating each round; each round times ``--calls``
calls in a row per side. Printed: the median seconds per call of each side over ``--rounds``
rounds, and their ratio (target: at most 1.05).

    .venv/bin/python bench/call_overhead.py --rounds 40 --calls 50
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

TARGET = 1.05
TOKEN = "bench-token"
# Every round creates sessions for the delete figure; no per-user limit may get in the way.
SETTINGS: dict[str, Any] = {"max_live_sessions": 10**9}


class Sides:
    """Our client and the plain service, both talking to one backend as one user."""

    def __init__(self, client: PickerClient, plain: Any, backend: Backend, items: int) -> None:
        self.client = client
        self.plain = plain
        self.backend = backend
        session = plain.sessions().create(body={}).execute()
        backend.pick(session["id"], first=items)
        self.sid: str = session["id"]

    def fresh_sessions(self, count: int) -> list[str]:
        return [self.plain.sessions().create(body={}).execute()["id"] for _ in range(count)]


def in_process(items: int) -> Sides:
    backend = Backend(**SETTINGS)
    client = PickerClient(http=FakeHttp(backend, token=TOKEN))
    plain = build_from_document(_common.document(), http=FakeHttp(backend, token=TOKEN))
    return Sides(client, plain, backend, items)


def loopback(emulator: Emulator, items: int) -> Sides:
    credentials = google.oauth2.credentials.Credentials(token=TOKEN)
    options = {"api_endpoint": emulator.url}
    client = PickerClient(credentials=credentials, client_options=options)
    plain = build_from_document(_common.document(), credentials=credentials, client_options=options)
    return Sides(client, plain, emulator.backend, items)


def per_call(calls: int, call: Callable[[], object]) -> Callable[[], float]:
    return lambda: _common.timed(call, calls)


def deleting(calls: int, sides: Sides, delete: Callable[[str], object]) -> Callable[[], float]:
    """One round of ``calls`` deletes, each of a session made for it before the clock starts."""

    def round_() -> float:
        ids = iter(sides.fresh_sessions(calls))
        return _common.timed(lambda: delete(next(ids)), calls)

    return round_


def measure(label: str, sides: Sides, rounds: int, calls: int) -> None:
    client, plain, sid = sides.client, sides.plain, sides.sid
    figures: list[tuple[str, Callable[[], float], Callable[[], float]]] = [
        (
            "sessions.get",
            per_call(calls, lambda: client.get_session(sid)),
            per_call(calls, lambda: plain.sessions().get(sessionId=sid).execute()),
        ),
        (
            "mediaItems.list",
            per_call(calls, lambda: client.list_media_items(sid)),
            per_call(calls, lambda: plain.mediaItems().list(sessionId=sid, pageSize=100).execute()),
        ),
        (
            "sessions.delete",
            deleting(calls, sides, client.delete_session),
            deleting(calls, sides, lambda s: plain.sessions().delete(sessionId=s).execute()),
        ),
    ]
    for name, ours, theirs in figures:
        ours(), theirs()  # warm up: connections, caches, first-use imports
        mine, other = _common.interleaved(rounds, ours, theirs)
        ratio = _common.median(mine) / _common.median(other)
        _common.figure(
            f"{label} {name} per call",
            _common.median(mine) * 1e6,
            _common.median(other) * 1e6,
            "us",
            ours_label="PickerClient",
            theirs_label="googleapiclient",
            target=f"<= {TARGET}",
            met=_common.verdict(ratio, None, TARGET),
            precision=1,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="rounds per figure (default 40)")
    parser.add_argument("--calls", type=int, default=50, help="calls per side per round")
    parser.add_argument("--items", type=int, default=100, help="items picked (one page <= 100)")
    args = parser.parse_args()
    _common.note(
        f"call overhead: {args.rounds} rounds x {args.calls} calls per side, "
        f"{args.items} items listed per mediaItems.list; medians of seconds per call"
    )
    measure("in-process", in_process(args.items), args.rounds, args.calls)
    with Emulator(**SETTINGS) as emulator:
        measure("loopback", loopback(emulator, args.items), args.rounds, args.calls)


if __name__ == "__main__":
    main()
