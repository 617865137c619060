"""Downloads: 200 items of 1 MiB from the emulator, our Downloader against the common patterns.

The emulator runs in a child process with a library of ``--items`` JPEG photos of ``--size``
bytes each; a session picks them all and is listed once. Then, ``--rounds`` times, the sides
interleaved, each into a fresh temporary folder:

* with ``--latency`` (20 ms) added to every media request by the emulator: ours (the
  concurrent ``picker_discovery._media.pool.Downloader``, streaming to disk) against a sequential
  loop that reads each body whole with ``requests`` and writes it (the common peer pattern);
* with no added latency: throughput of ours against ``curl --parallel`` with as many
  transfers at once as our workers (the limit on this machine), and of the sequential loop
  against a sequential ``curl`` of the same files.

Printed: medians of seconds, or of MiB/s, and the ratios.

    .venv/bin/python bench/downloads.py --rounds 3 --items 200 --size 1048576
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import _common
import _media

WORKERS = 4  # the Downloader's default concurrency


def run(side: Callable[[Path], int]) -> tuple[float, int]:
    """Seconds and bytes of one run of ``side`` into a fresh folder (removed afterwards)."""
    folder = Path(tempfile.mkdtemp(prefix="picker-bench-"))
    try:
        with _common.quiet_gc():
            start = time.perf_counter()
            written = side(folder)
            return time.perf_counter() - start, written
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure(
    api_url: str,
    sides: dict[str, Callable[[Path], int]],
    rounds: int,
    latency: float,
    expected: int,
    count: int,
) -> dict[str, float]:
    """Median seconds per side over interleaved rounds, every run checked for all its bytes."""
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            _media.media_latency(api_url, latency, 2 * count)
            took, written = run(sides[name])
            if written != expected:
                raise SystemExit(f"{name} wrote {written} bytes, not {expected}")
            seconds[name].append(took)
    _media.media_latency(api_url, 0, 0)
    return {name: _common.median(values) for name, values in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each side (default 3)")
    parser.add_argument("--items", type=int, default=200, help="items to download")
    parser.add_argument("--size", type=int, default=_media.MiB, help="bytes per item")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per media request")
    args = parser.parse_args()
    total = args.items * args.size
    mib = total / _media.MiB
    with _media.emulator_process(args.items, args.size) as api_url:
        _, items = _media.picked_session(api_url)
        if len(items) != args.items:
            raise SystemExit(f"listed {len(items)} items, not {args.items}")
        _common.note(
            f"downloads: {args.items} items x {args.size} bytes ({mib:.0f} MiB), "
            f"{args.rounds} interleaved rounds, medians; emulator in a child process"
        )
        loop: Callable[[Path], int] = lambda folder: _media.whole_body_loop(items, folder)  # noqa: E731
        mine: Callable[[Path], int] = lambda folder: _media.our_download(items, folder, WORKERS)  # noqa: E731
        slow = {"loop": loop, "ours": mine}
        fast: dict[str, Callable[[Path], int]] = {
            "loop": loop,
            "ours": mine,
            "curl": lambda folder: _media.curl(items, folder),
            "curl-parallel": lambda folder: _media.curl(items, folder, parallel=WORKERS),
        }
        with_latency = measure(api_url, slow, args.rounds, args.latency, total, args.items)
        without = measure(api_url, fast, args.rounds, 0.0, total, args.items)
    label = f"+{args.latency * 1000:g} ms/request"
    _common.figure(
        f"{args.items} x {args.size // 1024} KiB, {label}, time",
        with_latency["ours"],
        with_latency["loop"],
        "s",
        ours_label=f"Downloader ({WORKERS} workers)",
        theirs_label="sequential whole-body loop",
    )
    _common.figure(
        f"{args.items} x {args.size // 1024} KiB, no added latency, throughput",
        mib / without["ours"],
        mib / without["curl-parallel"],
        "MiB/s",
        ours_label=f"Downloader ({WORKERS} workers)",
        theirs_label=f"curl --parallel-max {WORKERS}",
        precision=0,
    )
    _common.figure(
        f"{args.items} x {args.size // 1024} KiB, no added latency, throughput",
        mib / without["loop"],
        mib / without["curl"],
        "MiB/s",
        ours_label="sequential whole-body loop",
        theirs_label="curl (sequential)",
        precision=0,
    )


if __name__ == "__main__":
    main()
