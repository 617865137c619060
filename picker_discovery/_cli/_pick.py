"""``pick``: the whole job for a person (a session, the wait, the download, the clean-up)."""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from picker_discovery import _checks
from picker_discovery._cli._api import api_client
from picker_discovery._cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    emit,
    json_line,
)
from picker_discovery._cli._screen import Screen, in_words
from picker_discovery._terminal import printable

MEDIA_HOSTS_ENV = "PICKER_DISCOVERY_MEDIA_HOSTS"


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


@contextlib.contextmanager
def _the_session(client: Any, args: argparse.Namespace) -> Iterator[Any]:
    """A new session, or with ``--session`` the one named (read first: it must exist);
    deleted however the block ends, as a new one is."""
    if not args.session:
        with client.picking_session(max_item_count=args.max_items) as session:
            yield session
        return
    if args.max_items is not None:
        raise CommandError(
            "--max-items is set when a session is created; a resumed --session keeps its own",
            EXIT_USAGE,
        )
    session = client.get_session(args.session)
    try:
        yield session
    finally:
        client.delete_session(session.id, missing_ok=True)


def _dry_run(args: argparse.Namespace, client: Any, folder: Any) -> int:
    """``--dry-run``: everything checked, nothing sent; what a real run would do."""
    plan = {
        "dry_run": True,
        "endpoint": getattr(args, "api_url", None),
        "session": args.session,
        "max_items": args.max_items,
        "timeout": args.timeout,
        "folder": str(folder),
        "size": args.size,
        "workers": args.workers,
        "sent": 0,
    }
    first = (
        f"would resume session {printable(args.session)}"
        if args.session
        else "would create a session"
        + (f" for at most {args.max_items} items" if args.max_items else "")
    )
    text = (
        f"dry run: {first} at {printable(plan['endpoint'])}, wait up to "
        f"{in_words(args.timeout)} for the pick, download it into {printable(folder)} "
        f"({args.workers} at a time) and delete the session. Arguments, token and folder "
        "are fine; nothing was sent to the API."
    )
    emit(args, plan, text)
    return EXIT_OK


def _open_browser(uri: str, screen: Screen) -> None:
    """``--open``: the link in the default browser (``$BROWSER``), or a note that none opened."""
    import webbrowser

    try:
        opened = webbrowser.open(uri, new=2)
    except webbrowser.Error:
        opened = False
    if not opened:
        screen.say("(no browser could be opened here: open the link above yourself)")


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
    if args.dry_run:
        return _dry_run(args, client, folder)
    screen = Screen(quiet=args.quiet, progress=args.progress)
    events = _Events(args.json)
    with _the_session(client, args) as session:
        uri = session.picker_uri or ""
        if args.autoclose and uri:
            uri = uri.rstrip("/") + "/autoclose"
        events.send(
            "created",
            session=session.id,
            pickerUri=uri,
            expireTime=session.expire_time.isoformat() if session.expire_time else None,
        )
        if not session.media_items_set:  # a resumed session may be picked already
            screen.link(uri, qr=args.qr)
            if args.open:
                _open_browser(uri, screen)
        polls = 0
        deadline = time.monotonic() + args.timeout

        def on_poll(state: Any) -> None:
            nonlocal polls
            polls += 1
            config = state.polling_config
            server_left = None
            if config is not None and config.timeout_in is not None:
                server_left = config.timeout_in.total_seconds()
            left = deadline - time.monotonic()
            if server_left is not None:
                left = min(left, server_left)
            times = "once" if polls == 1 else f"{polls} times"
            screen.status(f"waiting for your pick: {in_words(left)} left (checked {times})")
            events.send(
                "polled",
                session=session.id,
                polls=polls,
                mediaItemsSet=bool(state.media_items_set),
                timeoutIn=server_left,
            )

        picked = client.wait_for_selection(session, timeout=args.timeout, on_poll=on_poll)
        screen.say("picked; downloading" if picked.media_items_set else "")
        events.send("picked", session=session.id)
        bar, progress = screen.progress_bar()
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
    elif not args.quiet:
        emit(args, summary, "\n".join(lines))
    return EXIT_OK if result.ok else EXIT_FAILED
