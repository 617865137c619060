"""``pick``: the whole job for a person (a session, the wait, the download, the clean-up)."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from typing import Any

from picker_discovery import _checks
from picker_discovery._cli._api import api_client
from picker_discovery._cli._common import EXIT_FAILED, EXIT_OK, emit, json_line
from picker_discovery._terminal import printable

MEDIA_HOSTS_ENV = "PICKER_DISCOVERY_MEDIA_HOSTS"


def _qr_text(uri: str) -> str | None:
    """The URI as a QR code drawn with text, or None without the ``cli`` extra (segno)."""
    try:
        import segno
    except ImportError:
        return None
    import io

    out = io.StringIO()
    segno.make(uri, error="m").terminal(out=out, compact=True)
    return out.getvalue()


class _StatusLine:
    """One line on stderr rewritten in place on a terminal; plain lines elsewhere."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._width = 0

    def show(self, text: str) -> None:
        if self.tty:
            sys.stderr.write("\r" + text.ljust(self._width))
            self._width = len(text)
            sys.stderr.flush()

    def done(self, text: str) -> None:
        if self.tty:
            sys.stderr.write("\r" + " " * self._width + "\r")
        print(text, file=sys.stderr)


def _progress_bar(total_items: int | None) -> tuple[Any, Callable[[Any], None]]:
    """A tqdm bar of bytes across all items, and the Progress callback that feeds it."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None, lambda progress: None
    bar = tqdm(unit="B", unit_scale=True, unit_divisor=1024, desc="downloading", file=sys.stderr)
    seen: dict[str, int] = {}

    def update(progress: Any) -> None:
        step = progress.bytes_done - seen.get(progress.item_id, 0)
        seen[progress.item_id] = progress.bytes_done
        total = progress.items_total or total_items
        bar.set_description(f"{progress.items_done}/{total or '?'} items", refresh=False)
        bar.update(step)

    return bar, update


class _Events:
    """``pick --json``: one JSON object per line on stdout as things happen (the fields are
    listed in the README). Without ``--json``, nothing."""

    def __init__(self, on: bool) -> None:
        self.on = on
        self._lock = threading.Lock()
        self._done = 0

    def send(self, event: str, **fields: Any) -> None:
        if self.on:
            with self._lock:
                json_line({"event": event, **fields})

    def items(self, session_id: str, inner: Callable[[Any], None]) -> Callable[[Any], None]:
        """A Progress callback that also sends ``item`` when an item is finished."""

        def update(progress: Any) -> None:
            inner(progress)
            if progress.items_done > self._done:  # this report finished this item
                self._done = progress.items_done
                self.send(
                    "item",
                    session=session_id,
                    id=progress.item_id,
                    filename=progress.filename,
                    bytes=progress.bytes_done,
                    items_done=progress.items_done,
                    items_total=progress.items_total,
                )

        return update


def pick(args: argparse.Namespace) -> int:
    from picker_discovery._media.hosts import HostAllowlist
    from picker_discovery._media.items import Size

    # Every argument is checked before the session is made: the user's picking is the
    # expensive part, and an argument that cannot work must not waste it.
    size = None
    if args.size:
        size = Size(*_checks.parse_size(args.size), crop=args.crop)
    _checks.check_workers(args.workers, "--workers")
    _checks.check_timeout(args.timeout, "--timeout")
    media_hosts = [h for h in (args.media_host or []) if h]
    # Refuse a media host that would get the token in the clear.
    HostAllowlist(media_hosts, allow_insecure_http=args.allow_insecure_http)
    client = api_client(args)  # the token and the endpoint
    folder = _checks.check_folder(args.dest, "--dest")
    status = _StatusLine()
    events = _Events(args.json)
    with client.picking_session(max_item_count=args.max_items) as session:
        uri = session.picker_uri or ""
        if args.autoclose and uri:
            uri = uri.rstrip("/") + "/autoclose"
        events.send(
            "created",
            session=session.id,
            pickerUri=uri,
            expireTime=session.expire_time.isoformat() if session.expire_time else None,
        )
        print(f"Pick your photos here:\n  {printable(uri)}", file=sys.stderr)
        qr = _qr_text(uri) if not args.no_qr else None
        if qr:
            print(qr, file=sys.stderr)
        polls = 0

        def on_poll(state: Any) -> None:
            nonlocal polls
            polls += 1
            left = ""
            config = state.polling_config
            if config is not None and config.timeout_in is not None:
                left = f", {config.timeout_in.total_seconds():.0f} s left"
            status.show(f"waiting for your pick (checked {polls} times{left})...")
            events.send(
                "polled",
                session=session.id,
                polls=polls,
                mediaItemsSet=bool(state.media_items_set),
                timeoutIn=(
                    config.timeout_in.total_seconds()
                    if config is not None and config.timeout_in is not None
                    else None
                ),
            )

        picked = client.wait_for_selection(session, timeout=args.timeout, on_poll=on_poll)
        status.done("picked; downloading" if picked.media_items_set else "")
        events.send("picked", session=session.id)
        bar, progress = _progress_bar(None)
        progress = events.items(session.id, progress)
        try:
            result = client.download_session(
                session,
                folder,
                size=size,
                not_ready=args.not_ready,
                media_hosts=media_hosts,
                workers=args.workers,
                progress=progress,
            )
        finally:
            if bar is not None:
                bar.close()
    summary = {
        "session": session.id,
        "folder": str(folder),
        "downloaded": [
            {"id": d.item_id, "path": str(d.path), "bytes": d.size} for d in result.downloaded
        ],
        "skipped": [
            {"id": s.item_id, "reason": s.reason.value, "detail": s.detail} for s in result.skipped
        ],
        "failed": [
            {"id": f.item_id, "filename": f.filename, "reason": f.reason} for f in result.failed
        ],
    }
    lines = [f"downloaded {len(result.downloaded)} file(s) into {folder}"]
    lines += [f"  skipped {s.item_id}: {s.detail}" for s in result.skipped]
    lines += [f"  FAILED {f.filename or f.item_id}: {f.reason}" for f in result.failed]
    if result.listing_error is not None:
        lines.append(f"  listing the session failed: {result.listing_error}")
    lines.append(f"deleted session {session.id}")
    lines = [printable(line) for line in lines]
    if args.json:
        events.send(
            "summary",
            **summary,
            ok=result.ok,
            listing_error=None if result.listing_error is None else str(result.listing_error),
            deleted=True,
        )
    else:
        emit(args, summary, "\n".join(lines))
    return EXIT_OK if result.ok else EXIT_FAILED
