"""Call overhead: PickerClient against plain googleapiclient, the idiomatic call and the floor.

Three sides make each call:

* ours: ``PickerClient`` (typed answers, retry policy, the session journal off: its cost is
  printed on a line of its own);
* idiomatic: plain googleapiclient as its documentation writes it,
  ``service.sessions().get(sessionId=sid).execute()``, which rebuilds the ``sessions``
  resource from the document on every call;
* floor: the same with the resource built once (``sessions = service.sessions()`` outside the
  loop), the least work googleapiclient can do for the call. Ours builds its resources once too,
  so ours against the floor is the facade's own cost.

Two transports: googleapiclient's own ``HttpMock`` (and ``HttpMockSequence`` for a listing of
several pages), answering bodies recorded from the emulator's backend, so the transport costs
next to nothing and the client's work shows in full; and the loopback emulator (real HTTP on
127.0.0.1, what a test suite sees).

Figures: sessions.get, sessions.delete, sessions.create, a page of 100 items with every item's
id read (``list_media_items``), and ``iter_media_items`` over five pages of 100 (ids read).
After a warm-up, the sides run in interleaved rounds (order rotating); each round times
``--calls`` calls in a row per side. Printed: median (min-max) microseconds per call of each
side (on HttpMock the calling thread's CPU time: nothing there waits, and other work on a
shared machine inflates wall time; over loopback wall time) and of the per-round ratio, with a
verdict for each target of the issue's table: against the floor at most 1.3 (a page of 100:
at most 2.0), and against the idiomatic call at most 1.0.

    .venv/bin/python bench/call_overhead.py --rounds 15 --calls 40
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common
import google.oauth2.credentials
from googleapiclient.discovery import build_from_document
from googleapiclient.http import HttpMock, HttpMockSequence

from picker_discovery import PickerClient
from picker_discovery.testing import Backend, Emulator, FakeHttp

TOKEN = "bench-token"
FLOOR_TARGET = 1.3
PAGE_TARGET = 2.0
IDIOMATIC_TARGET = 1.0
PAGES = 5
# Every round creates sessions; no per-user limit may get in the way.
SETTINGS: dict[str, Any] = {"max_live_sessions": 10**6, "library_size": 1000}

Call = Callable[[], float]


@dataclass
class Figure:
    """One call made three ways; ``before`` runs untimed before each round (fresh ids)."""

    name: str
    ours: Callable[[Any], object]
    idiomatic: Callable[[Any], object]
    floor: Callable[[Any], object]
    before: Callable[[int], list[Any]] = field(default=lambda calls: [None] * calls)
    target: float = FLOOR_TARGET


class Recorder:
    """A transport over the in-process fake that keeps the last answer, to replay it."""

    def __init__(self, backend: Backend) -> None:
        self.http = FakeHttp(backend, token=TOKEN)
        self.last: tuple[dict[str, str], bytes] = ({}, b"")

    def request(self, *args: Any, **kwargs: Any) -> Any:
        resp, content = self.http.request(*args, **kwargs)
        self.last = ({"status": str(resp.status)}, content)
        return resp, content


def recorded_answers() -> dict[str, tuple[dict[str, str], bytes]]:
    """What the emulator's backend answers each call, as (headers, body) for HttpMock."""
    backend = Backend(**SETTINGS)
    recorder = Recorder(backend)
    service = build_from_document(_common.document(), http=recorder)
    answers = {}
    created = service.sessions().create(body={}).execute()
    answers["create"] = recorder.last
    sid = created["id"]
    service.sessions().get(sessionId=sid).execute()
    answers["get"] = recorder.last
    backend.pick(sid, first=PAGES * 100)
    answers["get.picked"] = recorder.last
    page = service.mediaItems().list(sessionId=sid, pageSize=100).execute()
    answers["page.1"] = recorder.last
    for number in range(2, PAGES + 1):
        page = (
            service.mediaItems()
            .list(sessionId=sid, pageSize=100, pageToken=page["nextPageToken"])
            .execute()
        )
        answers[f"page.{number}"] = recorder.last
    service.sessions().delete(sessionId=sid).execute()
    answers["delete"] = recorder.last
    sid = service.sessions().create(body={}).execute()["id"]
    backend.pick(sid, first=100)
    service.mediaItems().list(sessionId=sid, pageSize=100).execute()
    answers["page"] = recorder.last  # one page of 100, the last
    return answers


def plain_ids(media: Callable[[], Any], sid: str) -> list[str]:
    """The usual paging loop of plain googleapiclient, reading every item's id."""
    ids: list[str] = []
    request = media().list(sessionId=sid, pageSize=100)
    while request is not None:
        page = request.execute()
        ids.extend(item["id"] for item in page.get("mediaItems", ()))
        request = media().list_next(request, page)
    return ids


def figures(
    client: PickerClient,
    plain: Any,
    sid: str,
    fresh: Callable[[int], list[Any]],
    refill: Callable[[], None] = lambda: None,
    page_sid: str | None = None,
) -> list[Figure]:
    """The five figures for one transport: ``sid`` is listed in pages, ``page_sid`` (default
    ``sid``) in one page of 100; ``refill`` re-arms a sequence mock before each listing."""
    one_page = page_sid or sid
    sessions, media = plain.sessions(), plain.mediaItems()

    def floor_page(_: Any) -> list[str]:
        page = media.list(sessionId=one_page, pageSize=100).execute()
        return [item["id"] for item in page["mediaItems"]]

    def idiomatic_page(_: Any) -> list[str]:
        page = plain.mediaItems().list(sessionId=one_page, pageSize=100).execute()
        return [item["id"] for item in page["mediaItems"]]

    def ours_iter(_: Any) -> list[str | None]:
        refill()
        return [item.id for item in client.iter_media_items(sid)]

    def plain_iter(build_each_time: bool) -> Callable[[Any], list[str]]:
        def run(_: Any) -> list[str]:
            refill()
            return plain_ids(plain.mediaItems if build_each_time else lambda: media, sid)

        return run

    return [
        Figure(
            "sessions.get",
            lambda _: client.get_session(sid).id,
            lambda _: plain.sessions().get(sessionId=sid).execute()["id"],
            lambda _: sessions.get(sessionId=sid).execute()["id"],
        ),
        Figure(
            "sessions.delete",
            client.delete_session,
            lambda s: plain.sessions().delete(sessionId=s).execute(),
            lambda s: sessions.delete(sessionId=s).execute(),
            before=fresh,
        ),
        Figure(
            "sessions.create",
            lambda _: client.create_session().id,
            lambda _: plain.sessions().create(body={}).execute()["id"],
            lambda _: sessions.create(body={}).execute()["id"],
        ),
        Figure(
            "a page of 100 items, every id read",
            lambda _: [item.id for item in client.list_media_items(one_page)],
            idiomatic_page,
            floor_page,
            target=PAGE_TARGET,
        ),
        Figure(
            f"iter_media_items, {PAGES} pages of 100, every id read",
            ours_iter,
            plain_iter(True),
            plain_iter(False),
        ),
    ]


def timing(
    call: Callable[[Any], object],
    before: Callable[[int], list[Any]],
    calls: int,
    clock: Callable[[], float],
) -> Call:
    """One round: ``calls`` calls in a row, their arguments made before the clock starts."""

    def round_() -> float:
        arguments = iter(before(calls))
        return _common.timed(lambda: call(next(arguments)), calls, clock)

    return round_


def measure(
    label: str,
    figures_: list[Figure],
    rounds: int,
    calls: int,
    clock: Callable[[], float] = time.perf_counter,
) -> None:
    unit = "us CPU" if clock is time.thread_time else "us"
    for fig in figures_:
        sides = {
            "ours": timing(fig.ours, fig.before, calls, clock),
            "idiomatic": timing(fig.idiomatic, fig.before, calls, clock),
            "floor": timing(fig.floor, fig.before, calls, clock),
        }
        for side in sides.values():
            side()  # warm-up: connections, caches, first-use imports
        times = _common.rotated(rounds, sides)
        for theirs, limit in (("floor", fig.target), ("idiomatic", IDIOMATIC_TARGET)):
            _common.compare(
                f"{label} {fig.name}, per call, vs the {theirs}",
                times["ours"],
                times[theirs],
                unit,
                ours_label="PickerClient",
                theirs_label=f"googleapiclient ({theirs})",
                scale=1e6,
                high=limit,
            )


def mock_client(answers: dict[str, tuple[dict[str, str], bytes]], key: str) -> tuple[Any, Any]:
    """A PickerClient and a plain service, each on an HttpMock answering ``answers[key]``."""
    headers, body = answers[key]
    ours, theirs = HttpMock(headers=headers), HttpMock(headers=headers)
    ours.data = theirs.data = body
    client = PickerClient(http=ours, journal=False)
    return client, build_from_document(_common.document(), http=theirs)


def on_httpmock(rounds: int, calls: int) -> None:
    answers = recorded_answers()
    sid = "bench-session"
    figures_: list[Figure] = []
    for index, key in enumerate(("get", "delete", "create", "page")):
        client, plain = mock_client(answers, key)
        figures_.append(figures(client, plain, sid, lambda n: [sid] * n)[index])
    pages = [answers[f"page.{n}"] for n in range(1, PAGES + 1)]
    ours_seq, plain_seq = HttpMockSequence([]), HttpMockSequence([])

    def refill() -> None:
        ours_seq._iterable = list(pages)
        plain_seq._iterable = list(pages)
        ours_seq.request_sequence.clear()
        plain_seq.request_sequence.clear()

    client = PickerClient(http=ours_seq, journal=False)
    plain = build_from_document(_common.document(), http=plain_seq)
    figures_.append(figures(client, plain, sid, lambda n: [sid] * n, refill)[4])
    # Nothing here waits: this thread's CPU time is the call's cost, and other work on a shared
    # machine does not inflate it as it does wall time.
    measure("HttpMock", figures_, rounds, calls, time.thread_time)


def on_loopback(rounds: int, calls: int) -> None:
    with Emulator(**SETTINGS) as emulator:
        credentials = google.oauth2.credentials.Credentials(token=TOKEN)
        options = {"api_endpoint": emulator.url}
        client = PickerClient(credentials=credentials, client_options=options, journal=False)
        plain = build_from_document(
            _common.document(), credentials=credentials, client_options=options
        )
        sid = plain.sessions().create(body={}).execute()["id"]
        emulator.backend.pick(sid, first=PAGES * 100)
        page_sid = plain.sessions().create(body={}).execute()["id"]
        emulator.backend.pick(page_sid, first=100)
        maker = plain.sessions()

        def fresh(count: int) -> list[str]:
            return [maker.create(body={}).execute()["id"] for _ in range(count)]

        measure("loopback", figures(client, plain, sid, fresh, page_sid=page_sid), rounds, calls)


def journal_cost(rounds: int, calls: int) -> None:
    """What the session journal (on by default) adds to a create and its delete."""
    answers = recorded_answers()
    with tempfile.TemporaryDirectory(prefix="picker-bench-journal-") as folder:
        journal = Path(folder) / "sessions.jsonl"
        with_journal = _client_pair(answers, journal)
        without = _client_pair(answers, False)

        def both(pair: tuple[PickerClient, PickerClient]) -> Call:
            creator, deleter = pair
            return lambda: _common.timed(
                lambda: deleter.delete_session(creator.create_session()), calls
            )

        times = _common.rotated(rounds, {"on": both(with_journal), "off": both(without)})
    _common.compare(
        "HttpMock create + delete, the session journal on (default) vs off",
        times["on"],
        times["off"],
        "us",
        ours_label="journal on",
        theirs_label="journal off",
        scale=1e6,
    )


def _client_pair(
    answers: dict[str, tuple[dict[str, str], bytes]], journal: Path | bool
) -> tuple[PickerClient, PickerClient]:
    create, delete = HttpMock(headers=answers["create"][0]), HttpMock(headers={"status": "200"})
    create.data, delete.data = answers["create"][1], answers["delete"][1]
    return (
        PickerClient(http=create, journal=journal),
        PickerClient(http=delete, journal=journal),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds per figure (default 15)")
    parser.add_argument("--calls", type=int, default=40, help="calls per side per round")
    args = parser.parse_args()
    _common.note(
        f"call overhead: {args.rounds} interleaved rounds x {args.calls} calls per side after a "
        "warm-up; median (min-max) of microseconds per call and of the per-round ratio; "
        "floor = the resource built once, idiomatic = service.sessions() on every call"
    )
    on_httpmock(args.rounds, args.calls)
    on_loopback(args.rounds, args.calls)
    journal_cost(args.rounds, max(1, args.calls // 4))


if __name__ == "__main__":
    main()
