"""``items download``: a session's picked items into a folder, or one item to a file or stdout."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from picker_discovery import _checks
from picker_discovery._cli._api import api_client
from picker_discovery._cli._common import (
    EXIT_FAILED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    emit,
)
from picker_discovery._cli._screen import Screen
from picker_discovery._terminal import printable


def items_download(args: argparse.Namespace) -> int:
    from picker_discovery._media.hosts import HostAllowlist
    from picker_discovery._media.items import Size

    size = Size(*_checks.parse_size(args.size), crop=args.crop) if args.size else None
    if args.output is not None and not args.item:
        raise CommandError(
            "-o/--output writes one item: add --item ITEM_ID (list them with 'picker-discovery "
            "items list SESSION_ID'), or drop -o to download them all into --dest",
            EXIT_USAGE,
        )
    if args.output == "-" and _is_tty(sys.stdout):
        raise CommandError(
            "-o - would write the photo's bytes onto your terminal: redirect it "
            "(-o - > photo.jpg), pipe it, or give -o FILE",
            EXIT_USAGE,
        )
    target = None if args.output in (None, "-") else Path(args.output)
    if target is not None and (target.exists() or target.is_symlink()):
        raise CommandError(
            f"-o {printable(target)} exists and is left alone: remove it or choose another name",
            EXIT_USAGE,
        )
    media_hosts = [h for h in (args.media_host or []) if h]
    HostAllowlist(media_hosts, allow_insecure_http=args.allow_insecure_http)
    client = api_client(args)
    if not args.item:
        return _download_all(args, client, size, media_hosts)
    item = next((i for i in client.iter_media_items(args.session_id) if i.id == args.item), None)
    if item is None:
        raise CommandError(
            f"session {args.session_id!r} has no picked item {args.item!r}: list its items "
            f"with 'picker-discovery items list {args.session_id}'",
            EXIT_NOT_FOUND,
        )
    options: dict[str, Any] = {"session": args.session_id, "size": size, "media_hosts": media_hosts}
    if args.output is None:
        folder = _checks.check_folder(args.dest, "--dest")
        outcome = _downloaded(client.download(item, folder, **options))
        emit(args, _outcome_data(outcome), f"downloaded {printable(outcome.path)}")
        return EXIT_OK
    # To a file or stdout: through a private folder beside the target, so that no half
    # file ever bears the name asked for, and nothing else is touched.
    parent = None if target is None else target.parent
    if parent is not None:
        _checks.check_folder(parent, "-o")
    with tempfile.TemporaryDirectory(dir=parent, prefix=".picker-download-") as private:
        outcome = _downloaded(client.download(item, private, **options))
        if target is None:
            with open(outcome.path, "rb") as source:
                shutil.copyfileobj(source, sys.stdout.buffer, 1 << 16)
            sys.stdout.flush()
            return EXIT_OK
        try:
            os.link(outcome.path, target)  # never replaces a file that appeared meanwhile
        except FileExistsError:
            raise CommandError(
                f"-o {printable(target)} appeared while downloading and is left alone",
                EXIT_FAILED,
            ) from None
        except OSError:  # no hard links here: an exclusive copy
            with open(outcome.path, "rb") as source, open(target, "xb") as sink:
                shutil.copyfileobj(source, sink, 1 << 16)
    emit(args, {**_outcome_data(outcome), "path": str(target)}, f"wrote {printable(target)}")
    return EXIT_OK


def _download_all(args: argparse.Namespace, client: Any, size: Any, media_hosts: list[str]) -> int:
    folder = _checks.check_folder(args.dest, "--dest")
    screen = Screen(quiet=args.quiet or args.json)
    bar, progress = screen.progress_bar()
    try:
        result = client.download_session(
            args.session_id,
            folder,
            size=size,
            media_hosts=media_hosts,
            workers=args.workers,
            progress=progress,
        )
    finally:
        if bar is not None:
            bar.close()
    data = {
        "session": args.session_id,
        "folder": str(folder),
        "downloaded": [
            {"id": d.item_id, "path": str(d.path), "bytes": d.size} for d in result.downloaded
        ],
        "skipped": [{"id": s.item_id, "reason": s.reason.value} for s in result.skipped],
        "failed": [{"id": f.item_id, "reason": f.reason} for f in result.failed],
        "ok": result.ok,
    }
    lines = [f"downloaded {len(result.downloaded)} file(s) into {folder}"]
    lines += [f"  skipped {s.item_id}: {s.detail}" for s in result.skipped]
    lines += [f"  FAILED {f.filename or f.item_id}: {f.reason}" for f in result.failed]
    emit(args, data, "\n".join(printable(line) for line in lines))
    return EXIT_OK if result.ok else EXIT_FAILED


def _downloaded(outcome: Any) -> Any:
    """The outcome, if it is a file; else the reason, as an error."""
    if getattr(outcome, "path", None) is None:
        raise CommandError(f"item {outcome.item_id!r} was not downloaded: {outcome.detail}")
    return outcome


def _outcome_data(outcome: Any) -> dict[str, Any]:
    return {
        "id": outcome.item_id,
        "path": str(getattr(outcome, "path", "")),
        "bytes": getattr(outcome, "size", None),
    }


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
