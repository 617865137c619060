"""Downloads: 200 items of 1 MiB from the emulator, our Downloader against serial loops and curl.

The emulator runs in a child process with a library of ``--items`` JPEG photos of ``--size``
bytes each; a session picks them all and is listed once. Then, ``--rounds`` times, the sides
interleaved (order rotating), each into a fresh temporary folder:

* with ``--latency`` (20 ms) added to every media request by the emulator: ours (the concurrent
  ``picker_discovery._media.pool.Downloader`` with its default settings) against two serial
  loops that read each body whole and write it, one on ``requests`` (a kept-alive
  ``Session``) and one on ``httplib2`` (what googleapiclient users have at hand), and against
  ``curl --parallel`` with as many transfers at once as our workers;
* with no added latency: throughput and CPU of ours against ``curl --parallel`` at the same
  parallelism (the limit on this machine), and of the serial loops against a serial ``curl``.

CPU is this process's user + system time for ours (the emulator is another process) and the
curl child's for curl. Ours flushes each file, the manifest and the folder to disk before it
reports a file done (a crash never leaves a partial file under its name); curl flushes nothing,
and its files are removed before the kernel writes them out, so their disk writes cost it
nothing. For context only (the target stays against plain curl), a last row sets ours against
curl followed by an fsync of each file and of the folder from this process.

Printed: median (min-max) of seconds, MiB/s or CPU ms per MiB, the per-round ratio, and a
verdict for each target: with latency at least 6x faster than both serial loops and at least
90 % of curl's speed; without latency at least 70 % of curl's throughput; CPU per MiB at most
2x curl's.

    .venv/bin/python bench/downloads.py --rounds 5 --items 200 --size 1048576
"""

from __future__ import annotations

import argparse
import inspect
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import _common
import _media

from picker_discovery._media.pool import Downloader

WORKERS: int = inspect.signature(Downloader).parameters["workers"].default
BUFFER: int = inspect.signature(Downloader).parameters["chunk_size"].default


def cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run(side: Callable[[Path], int]) -> tuple[float, int, float]:
    """Seconds, bytes and CPU seconds (this process and waited-for children) of one run of
    ``side`` into a fresh folder (removed afterwards)."""
    folder = Path(tempfile.mkdtemp(prefix="picker-bench-"))
    try:
        with _common.quiet_gc():
            cpu_start = cpu(resource.RUSAGE_SELF) + cpu(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            written = side(folder)
            took = time.perf_counter() - start
            used = cpu(resource.RUSAGE_SELF) + cpu(resource.RUSAGE_CHILDREN) - cpu_start
            return took, written, used
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure(
    api_url: str,
    sides: dict[str, Callable[[Path], int]],
    rounds: int,
    latency: float,
    expected: int,
    count: int,
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Seconds and CPU seconds per side over interleaved rounds, after one warm-up run of
    each side; every run checked for all its bytes."""
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    cpus: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for index in range(-1, rounds):
        shift = max(index, 0) % len(names)
        for name in names[shift:] + names[:shift]:
            _media.media_latency(api_url, latency, 2 * count)
            took, written, used = run(sides[name])
            if written != expected:
                raise SystemExit(f"{name} wrote {written} bytes, not {expected}")
            if index >= 0:  # round -1 is the warm-up
                seconds[name].append(took)
                cpus[name].append(used)
    _media.media_latency(api_url, 0, 0)
    return seconds, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each side (default 5)")
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
            f"downloads: {args.items} items x {args.size} bytes ({mib:.0f} MiB), a warm-up and "
            f"{args.rounds} interleaved rounds, median (min-max); emulator in a child process; "
            f"ours: Downloader with its defaults ({WORKERS} workers, {BUFFER // 1024} KiB "
            "buffers)"
        )
        sides: dict[str, Callable[[Path], int]] = {
            "ours": lambda folder: _media.our_download(items, folder, WORKERS),
            "requests": lambda folder: _media.whole_body_loop(items, folder),
            "httplib2": lambda folder: _media.httplib2_loop(items, folder),
            "curl-parallel": lambda folder: _media.curl(items, folder, parallel=WORKERS),
            "curl": lambda folder: _media.curl(items, folder),
            "curl-parallel-fsync": lambda folder: _media.curl(
                items, folder, parallel=WORKERS, fsync=True
            ),
        }
        slow, _ = measure(api_url, sides, args.rounds, args.latency, total, args.items)
        fast, fast_cpu = measure(api_url, sides, args.rounds, 0.0, total, args.items)
    size = f"{args.items} x {args.size // 1024} KiB"
    label = f"+{args.latency * 1000:g} ms/request"
    ours = f"Downloader ({WORKERS} workers)"
    for loop in ("requests", "httplib2"):
        _common.compare(
            f"{size}, {label}, time",
            slow["ours"],
            slow[loop],
            "s",
            ours_label=ours,
            theirs_label=f"serial whole-body loop on {loop}",
            precision=3,
            high=1 / 6,
            target="<= 1/6 (6x faster)",
        )
    _common.compare(
        f"{size}, {label}, time",
        slow["ours"],
        slow["curl-parallel"],
        "s",
        ours_label=ours,
        theirs_label=f"curl --parallel-max {WORKERS}",
        precision=3,
        high=1 / 0.9,
        target="<= 1.11 (90 % of curl's speed)",
    )
    _common.compare(
        f"{size}, {label}, time (context)",
        slow["curl"],
        slow["curl-parallel"],
        "s",
        ours_label="curl (serial)",
        theirs_label=f"curl --parallel-max {WORKERS}",
        precision=3,
    )

    def throughput(name: str) -> list[float]:
        return [mib / seconds for seconds in fast[name]]

    _common.compare(
        f"{size}, no added latency, throughput",
        throughput("ours"),
        throughput("curl-parallel"),
        "MiB/s",
        ours_label=ours,
        theirs_label=f"curl --parallel-max {WORKERS}",
        precision=0,
        low=0.7,
    )
    for loop in ("requests", "httplib2"):
        _common.compare(
            f"{size}, no added latency, throughput (context)",
            throughput(loop),
            throughput("curl"),
            "MiB/s",
            ours_label=f"serial loop on {loop}",
            theirs_label="curl (serial)",
            precision=0,
        )
    _common.compare(
        f"{size}, no added latency, CPU per MiB",
        [seconds / mib for seconds in fast_cpu["ours"]],
        [seconds / mib for seconds in fast_cpu["curl-parallel"]],
        "ms",
        ours_label=ours,
        theirs_label=f"curl --parallel-max {WORKERS}",
        scale=1000,
        precision=2,
        high=2.0,
    )
    _common.compare(
        f"{size}, no added latency, CPU per MiB (context: the durability ours keeps)",
        [seconds / mib for seconds in fast_cpu["ours"]],
        [seconds / mib for seconds in fast_cpu["curl-parallel-fsync"]],
        "ms",
        ours_label=ours,
        theirs_label=f"curl --parallel-max {WORKERS}, then each file and the folder fsynced",
        scale=1000,
        precision=2,
    )


if __name__ == "__main__":
    main()
