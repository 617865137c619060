"""What ``pick`` shows a person on a terminal: the QR code, the link, a status line, a
progress bar, and durations in words. None of it when stderr is not a terminal, unless asked.

On an 80x24 terminal the link stays on screen: it is printed after the QR code, the status
line below it is rewritten in place and never wider than the terminal, and a QR code that
would push the link off the top is not drawn (a note says how to get it).
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from picker_discovery._terminal import printable

__all__ = ["Screen", "in_words"]


def in_words(seconds: float) -> str:
    """A duration as people say it: ``14 minutes 32 seconds``, ``2 hours 5 minutes``."""
    seconds = max(0, round(seconds))
    if seconds < 1:
        return "less than a second"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(hours, "hour"), (minutes, "minute"), (secs, "second")]
    said = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " ".join(said[:2])  # "1 hour 2 minutes": seconds no longer matter


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def qr_lines(uri: str) -> list[str] | None:
    """The URI as a QR code drawn with half blocks, or None without segno (the cli extra).

    Error correction L and a two-module border keep it small: a Google pickerUri needs 21
    lines, so it fits an 80x24 terminal with the link and the status line below it."""
    try:
        import segno
    except ImportError:
        return None
    out = io.StringIO()
    segno.make(uri, error="l").terminal(out=out, compact=True, border=2)
    return out.getvalue().splitlines()


class Screen:
    """stderr, for a person. ``tty``: it is a terminal; ``fancy``: draw the QR code, the
    status line and the progress bar (a terminal, or asked for with ``--progress``)."""

    def __init__(
        self, *, quiet: bool = False, progress: bool = False, stream: TextIO | None = None
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = _is_tty(self.stream)
        self.quiet = quiet
        self.fancy = not quiet and (self.tty or progress)
        self._width = 0

    def size(self) -> os.terminal_size:
        try:
            return os.get_terminal_size(self.stream.fileno())
        except (AttributeError, ValueError, OSError):
            return shutil.get_terminal_size()

    def say(self, text: str) -> None:
        """A line for the person (not with ``--quiet``)."""
        if not self.quiet:
            self.clear()
            print(text, file=self.stream, flush=True)

    def link(self, uri: str, *, qr: bool | None) -> None:
        """The QR code (``qr``: True draw it, False never, None on a terminal where it fits),
        then the link, last, so that it stays in view."""
        shown = printable(uri)
        if self.quiet:
            print(shown, file=self.stream, flush=True)
            return
        print("Pick your photos: scan the code or open the link", file=self.stream)
        drawing = None
        if qr is True or (qr is None and self.fancy):
            drawing = qr_lines(uri)
            if drawing is None:
                print("(for a QR code: pip install 'picker-discovery[cli]')", file=self.stream)
        if drawing is not None and qr is None and self.tty:
            columns, lines = self.size()
            link_lines = -(-len(shown) // max(columns, 1))
            wide = max(len(line) for line in drawing)
            high = len(drawing) + link_lines + 1  # the link and the status line below it
            if high > lines or wide > columns:
                print(
                    f"(no room for the QR code: it needs {wide}x{high} characters, this "
                    f"terminal has {columns}x{lines}; enlarge it, or open the link)",
                    file=self.stream,
                )
                drawing = None
        if drawing is not None:
            print("\n".join(drawing), file=self.stream)
        print(shown, file=self.stream, flush=True)

    def status(self, text: str) -> None:
        """Rewrite the status line in place (only when fancy), never wider than the terminal."""
        if not self.fancy:
            return
        if self.tty:
            text = text[: max(self.size().columns - 1, 10)]
            self.stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
            self.stream.flush()

    def progress_bar(self) -> tuple[Any, Callable[[Any], None]]:
        """A tqdm bar of the bytes downloaded, with items done and the time left in words,
        and the Progress callback that feeds it; (None, a no-op) when not fancy."""
        if not self.fancy:
            return None, lambda progress: None
        try:
            from tqdm import tqdm
        except ImportError:
            return None, lambda progress: None
        self.clear()
        bar = tqdm(
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc="downloading",
            file=self.stream,
            bar_format="{desc}: {n_fmt}B at {rate_fmt}{postfix}",
            dynamic_ncols=True,
        )
        seen: dict[str, int] = {}
        started = time.monotonic()

        def update(progress: Any) -> None:
            step = progress.bytes_done - seen.get(progress.item_id, 0)
            seen[progress.item_id] = progress.bytes_done
            total = progress.items_total
            done = progress.items_done
            bar.set_description(f"{done}/{total or '?'} items", refresh=False)
            if total and 0 < done < total:
                left = (time.monotonic() - started) / done * (total - done)
                bar.set_postfix_str(f"about {in_words(left)} left", refresh=False)
            elif total and done >= total:
                bar.set_postfix_str("done", refresh=False)
            bar.update(step)

        return bar, update
