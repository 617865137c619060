"""Helpers shared by the benchmark scripts: medians, one printed line per figure, a document.

Every figure is printed on one line, both sides and their ratio (ours / theirs), so a run's
output can be pasted into bench/README.md as it is. Nothing here asserts: a missed target is
printed as ``MISSED``, never raised.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

DOCUMENT_PATH = Path(__file__).resolve().parent.parent / "discovery_cache" / "photospicker.v1.json"


T = TypeVar("T")


def document() -> dict[str, Any]:
    """The bundled discovery document, parsed: what both sides build their service from."""
    data: dict[str, Any] = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    return data


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def verdict(value: float, low: float | None, high: float | None) -> str:
    """``met`` or ``MISSED`` for a target range (either end may be open)."""
    if (low is not None and value < low) or (high is not None and value > high):
        return "MISSED"
    return "met"


def figure(
    name: str,
    ours: float,
    theirs: float,
    unit: str,
    *,
    ours_label: str = "ours",
    theirs_label: str = "theirs",
    target: str = "",
    met: str = "",
    precision: int = 3,
) -> None:
    """Print one figure: both sides, the ratio ours/theirs, and the target if there is one."""
    ratio = ours / theirs if theirs else float("inf")
    line = (
        f"{name}: {ours_label} {ours:.{precision}f} {unit} | "
        f"{theirs_label} {theirs:.{precision}f} {unit} | ratio {ratio:.3f}"
    )
    if target:
        line += f" | target {target}: {met or '?'}"
    print(line, flush=True)


def note(text: str) -> None:
    """A line of context (sizes, rounds) printed before the figures."""
    print(f"# {text}", flush=True)


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Collect before a timed block and keep the collector out of it."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def interleaved(
    rounds: int,
    ours: Callable[[], T],
    theirs: Callable[[], T],
) -> tuple[list[T], list[T]]:
    """Run both sides ``rounds`` times, alternating which goes first; collect what each returns.

    Each callable returns the figure of one round (say, seconds per call); alternating the order
    spreads warm-up, caches and machine noise evenly over both sides.
    """
    mine: list[T] = []
    other: list[T] = []
    for index in range(rounds):
        if index % 2 == 0:
            mine.append(ours())
            other.append(theirs())
        else:
            other.append(theirs())
            mine.append(ours())
    return mine, other


def timed(
    call: Callable[[], object], repeat: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Seconds per call of ``call`` run ``repeat`` times in a row, the collector held off.

    ``clock`` is wall time by default; ``time.thread_time`` counts only this thread's CPU,
    which other work on a shared machine does not inflate (for work that never waits).
    """
    with quiet_gc():
        start = clock()
        for _ in range(repeat):
            call()
        return (clock() - start) / repeat


def spread(values: Sequence[float], scale: float = 1.0, precision: int = 1) -> str:
    """``median (min-max)`` of ``values`` times ``scale``, as the results table quotes them."""
    low, mid, high = (v * scale for v in (min(values), median(values), max(values)))
    return f"{mid:.{precision}f} ({low:.{precision}f}-{high:.{precision}f})"


def compare(
    name: str,
    ours: Sequence[float],
    theirs: Sequence[float],
    unit: str,
    *,
    ours_label: str = "ours",
    theirs_label: str = "theirs",
    scale: float = 1.0,
    precision: int = 1,
    high: float | None = None,
    low: float | None = None,
    target: str = "",
) -> float:
    """Print one figure measured in rounds: each side's median (min-max) and the ratio.

    The ratio is taken round by round (ours / theirs of the same round, so both saw the same
    machine) and quoted as median (min-max); the verdict reads the median against ``high``
    (at most) and ``low`` (at least). Returns the median ratio.
    """
    ratios = [a / b if b else float("inf") for a, b in zip(ours, theirs, strict=True)]
    ratio = median(ratios)
    line = (
        f"{name}: {ours_label} {spread(ours, scale, precision)} {unit} | "
        f"{theirs_label} {spread(theirs, scale, precision)} {unit} | "
        f"ratio {spread(ratios, 1.0, 3)}"
    )
    if high is not None or low is not None:
        bound = target or (f"<= {high}" if high is not None else f">= {low}")
        line += f" | target {bound}: {verdict(ratio, low, high)}"
    print(line, flush=True)
    return ratio


def rotated(rounds: int, sides: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Run every side once per round, the order rotating each round; each returns its figure."""
    names = list(sides)
    out: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            out[name].append(sides[name]())
    return out
